// /v3/buildpacks (the reference's app/controllers/v3/buildpacks_controller.rb): what today's cf CLI uses.
// Everyone with read scope reads; only admins write (403 CF-NotAuthorized). Deletes and uploads answer
// 202 with a job.
import type { Context } from "hono";
import { identityOf, read, write } from "../../auth/context";
import type { AppEnv } from "../../env";
import { routeTable } from "../../http/routes";
import { deleteBits } from "../../bits/store";
import type { Buildpack } from "../../db/schema";
import { parseJson } from "../../http/body";
import { notFound, unprocessable } from "../../http/errors";
import { v3Page } from "../../http/pagination";
import { parseListParams } from "../../http/query";
import { json } from "../../http/respond";
import { acceptedJob, jobUrl, startJob } from "../../jobs/jobs";
import {
  loadOneMetadata, metadataCreateStatements, metadataDeleteStatements, prepareMetadataPatch, presentMetadata,
} from "../../metadata";
import { metadataReads } from "../../metadata/store";
import { findOr404 as findRecordOr404, requireAdminWrite } from "../platform";
import { runReads } from "../../db/reads";
import { presentV3 } from "./present";
import { DEFAULT_LIFECYCLE, v3CreateSchema, v3ListSpec, v3UpdateSchema } from "./schema";
import { BuildpackWriteError, buildpackList, buildpackLookup, createBuildpack, deleteBuildpack, findBuildpack, updateBuildpack } from "./store";
import { applyUploadedBits, receiveUpload, sniffStored } from "./upload";

const findOr404 = (c: Context<AppEnv>): Promise<Buildpack> => findRecordOr404(c, findBuildpack, () => notFound("Buildpack"));

/** The v3 words for a failed write; `name`, `stack`, `lifecycle` are the values the record would have had. */
function v3WriteError(err: unknown, name: string, stack: string | null, lifecycle: string): unknown {
  if (!(err instanceof BuildpackWriteError)) return err;
  switch (err.reason) {
    case "name-taken":
      return unprocessable(stack === null
        ? `Buildpack with name '${name}' and an unassigned stack already exists`
        : `Buildpack with name '${name}', stack '${stack}' and lifecycle '${lifecycle}' already exists`);
    case "stack-missing": return unprocessable(`Stack '${stack ?? ""}' does not exist`);
    case "stack-changed": return unprocessable("Buildpack stack cannot be changed");
    case "not-found": return notFound("Buildpack");
    case "locked": return unprocessable("Buildpack is locked");
    case "bits-changed": return err;
  }
}

async function present(c: Context<AppEnv>, bp: Buildpack) {
  return presentV3(bp, await loadOneMetadata(c.get("db"), "buildpack", bp.guid));
}

const uploadInvalid = (detail: string) => unprocessable(`Uploaded buildpack file is invalid: ${detail}`);

async function buildpacksIndex(c: Context<AppEnv>) {
  const db = c.get("db");
  const params = parseListParams(new URL(c.req.url), v3ListSpec);
  // One round trip: the count, and the page with its metadata.
  const [{ total, rows }] = await runReads(db, buildpackList(db, params));
  const resources = rows.map(({ row, metadata }) => presentV3(row, metadata));
  return json(c, v3Page(c, "/v3/buildpacks", params, total, resources));
}

async function buildpacksShow(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const guid = c.req.param("guid");
  // One round trip: the buildpack and its metadata.
  const [bp, metadata] = await runReads(db, buildpackLookup(db, guid), metadataReads(db, "buildpack", [guid]));
  if (!bp) throw notFound("Buildpack");
  return json(c, presentV3(bp, presentMetadata(metadata, guid)));
}

async function buildpacksCreate(c: Context<AppEnv>) {
  // The reference checks the role before the body.
  requireAdminWrite(c);
  const input = await parseJson(c, v3CreateSchema);
  const db = c.get("db");
  const values = {
    name: input.name,
    stack: input.stack ?? null,
    lifecycle: input.lifecycle ?? DEFAULT_LIFECYCLE,
    position: input.position ?? 1,
    enabled: input.enabled ?? true,
    locked: input.locked ?? false,
  };
  let bp: Buildpack;
  try {
    bp = await createBuildpack(db, values, (guid) => metadataCreateStatements(db, "buildpack", guid, input.metadata), {
      actor: identityOf(c),
      type: "audit.buildpack.create",
      data: { request: { ...values, ...(input.metadata ? { metadata: input.metadata } : {}) } },
    });
  } catch (err) {
    throw v3WriteError(err, values.name, values.stack, values.lifecycle);
  }
  return json(c, await present(c, bp), 201);
}

async function buildpacksUpdate(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const current = await findOr404(c);
  requireAdminWrite(c);
  const input = await parseJson(c, v3UpdateSchema);
  // A set stack never changes, not even to null.
  if (input.stack === null && current.stack !== null) throw unprocessable("Buildpack stack cannot be changed");
  const patch = await prepareMetadataPatch(db, "buildpack", current.guid, input.metadata);
  const changes = {
    ...(input.position != null ? { position: input.position } : {}),
    ...(input.stack != null ? { stack: input.stack } : {}),
    ...(input.enabled != null ? { enabled: input.enabled } : {}),
    ...(input.locked != null ? { locked: input.locked } : {}),
    ...(input.name !== undefined ? { name: input.name } : {}),
  };
  let bp: Buildpack;
  try {
    bp = await updateBuildpack(db, current, changes, patch.statements, {
      actor: identityOf(c),
      type: "audit.buildpack.update",
      data: { request: { ...changes, ...(input.metadata ? { metadata: input.metadata } : {}) } },
    }).catch(patch.rethrow);
  } catch (err) {
    throw v3WriteError(err, changes.name ?? current.name, current.stack ?? changes.stack ?? null, current.lifecycle);
  }
  return json(c, await present(c, bp));
}

async function buildpacksDestroy(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const current = await findOr404(c);
  requireAdminWrite(c);
  const actor = identityOf(c);
  const bucket = c.env.BITS;
  const job = await startJob(c, { operation: "buildpack.delete", resourceType: "buildpack", resourceGuid: current.guid }, async () => {
    let key: string | null;
    try {
      key = await deleteBuildpack(db, current, metadataDeleteStatements(db, "buildpack", current.guid), { actor, type: "audit.buildpack.delete" });
    } catch (err) {
      // Deleted meanwhile by someone else: the job's goal is met.
      if (err instanceof BuildpackWriteError && err.reason === "not-found") return;
      throw err;
    }
    if (key !== null) await deleteBits(bucket, key);
  });
  return acceptedJob(c, job);
}

async function buildpacksUpload(c: Context<AppEnv, "/:guid/upload">) {
  const db = c.get("db");
  const current = await findOr404(c);
  requireAdminWrite(c);
  const bucket = c.env.BITS;
  const form = await receiveUpload(c.req.raw, bucket, current.guid, {
    field: "bits",
    tooLarge: () => uploadInvalid("the buildpack is too large"),
  });
  const file = form.file;
  if (file === null) throw uploadInvalid("A buildpack zip file must be uploaded as 'bits'");
  try {
    const kind = await sniffStored(bucket, file.stored);
    if (kind === "empty") throw uploadInvalid(`${file.filename} cannot be empty`);
    if (current.lifecycle === "cnb") {
      if (kind !== "gzip" && kind !== "tar") {
        throw uploadInvalid(`${file.filename} is not a gzip archive or cnb file. Buildpacks of lifecycle "cnb" must be valid gzip archives or cnb files.`);
      }
    } else if (kind !== "zip") {
      throw uploadInvalid(`${file.filename} is not a zip file. Buildpacks of lifecycle "buildpack" must be valid zip files.`);
    }
    if (current.locked) throw unprocessable("Buildpack is locked");
  } catch (err) {
    await deleteBits(bucket, file.stored.key).catch(() => undefined);
    throw err;
  }
  const actor = identityOf(c);
  const job = await startJob(c, { operation: "buildpack.upload", resourceType: "buildpack", resourceGuid: current.guid }, async () => {
    try {
      await applyUploadedBits(db, bucket, current, file, {
        actor,
        type: "audit.buildpack.upload",
        data: { filename: file.filename, sha256: file.stored.sha256 },
      });
    } catch (err) {
      throw v3WriteError(err, current.name, current.stack, current.lifecycle);
    }
  });
  // The body is the buildpack as it was before the upload, as the reference answers.
  return json(c, await present(c, current), 202, { Location: jobUrl(c, job) });
}

export const buildpackV3Routes = routeTable([
  ["GET", "/", read, buildpacksIndex],
  ["GET", "/:guid", read, buildpacksShow],
  ["POST", "/", write, buildpacksCreate],
  ["PATCH", "/:guid", write, buildpacksUpdate],
  ["DELETE", "/:guid", write, buildpacksDestroy],
  ["POST", "/:guid/upload", write, buildpacksUpload],
]);
