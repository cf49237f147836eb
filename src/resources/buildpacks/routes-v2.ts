// /v2/buildpacks (the reference's app/controllers/runtime/buildpacks_controller.rb and
// buildpack_bits_controller.rb): the seed's API, as the v6 CLI and old pipelines call it. v2 rules: nulls
// are absent, unknown keys ignored, 403 is CF-InsufficientScope (10007) for a token without the scope and
// CF-NotAuthorized (10003) for a non-admin with it; a missing buildpack is 404 CF-NotFound "Unknown
// request".
import type { Context } from "hono";
import { identityOf, read, write } from "../../auth/context";
import { isAdmin } from "../../auth/permissions";
import type { AppEnv } from "../../env";
import { routeTable } from "../../http/routes";
import { readBodyText } from "../../http/body";
import { ApiError } from "../../http/errors";
import { v2Page } from "../../http/pagination";
import { json, noContent } from "../../http/respond";
import { presignedRedirect } from "../../bits/presign";
import { bitsResponse, deleteBits } from "../../bits/store";
import { startJob } from "../../jobs/jobs";
import { presentV2Job } from "../../jobs/present";
import { metadataDeleteStatements } from "../../metadata";
import type { Buildpack } from "../../db/schema";
import { presentV2 } from "./present";
import { DEFAULT_LIFECYCLE, parseV2Body, parseV2ListQuery, v2AttributeProblems, type V2Attributes } from "./schema";
import {
  BuildpackWriteError, createBuildpack, deleteBuildpack, findBuildpack, listBuildpacksV2, stackExists, updateBuildpack,
} from "./store";
import { findOr404 as findRecordOr404, requireAdminWrite } from "../platform";
import { applyUploadedBits, receiveUpload } from "./upload";

const unknownRequest = () => new ApiError("NotFound");
const invalid = (problems: string[]) => new ApiError("BuildpackInvalid", problems);

const findOr404 = (c: Context<AppEnv>): Promise<Buildpack> => findRecordOr404(c, findBuildpack, unknownRequest);

/** The v2 words for a failed write of `attrs` to a buildpack whose stack and lifecycle end up as given. */
function v2WriteError(err: unknown, name: string, stack: string | null, lifecycle: string): unknown {
  if (!(err instanceof BuildpackWriteError)) return err;
  switch (err.reason) {
    // A NULL stack is the model's uniqueness validation (400); a named one the index (422).
    case "name-taken": return stack === null ? invalid(["stack unique"]) : new ApiError("BuildpackNameStackLifecycleTaken", name, stack, lifecycle);
    case "stack-missing": return invalid(["stack buildpack_stack_does_not_exist"]);
    case "stack-changed": return invalid(["stack buildpack_cant_change_stacks"]);
    case "not-found": return unknownRequest();
    case "locked": return new ApiError("BuildpackLocked");
    case "bits-changed": return err;
  }
}

/** The model validations of a create or update, with the stack looked up when one is being set. */
async function checkAttributes(c: Context<AppEnv>, attrs: V2Attributes, settingStack: boolean): Promise<void> {
  const problems = v2AttributeProblems(attrs);
  if (settingStack && attrs.stack !== undefined && !(await stackExists(c.get("db"), attrs.stack))) {
    problems.push("stack buildpack_stack_does_not_exist");
  }
  if (problems.length > 0) throw invalid(problems);
}

const auditData = (attrs: V2Attributes) => ({ request: { ...attrs } });

async function buildpacksV2Index(c: Context<AppEnv>) {
  const query = parseV2ListQuery(new URL(c.req.url));
  const { total, rows } = await listBuildpacksV2(c.get("db"), query);
  return json(c, v2Page("/v2/buildpacks", query.page, query.perPage, total, query.linkParams, rows.map(presentV2)));
}

async function buildpacksV2Show(c: Context<AppEnv, "/:guid">) {
  const query = new URL(c.req.url).searchParams.get("inline-relations-depth");
  if (query !== null && !(/^\d+$/.test(query) && Number(query) <= 3)) {
    throw new ApiError("BadQueryParameter", "inline_relations_depth must be <= 3");
  }
  return json(c, presentV2(await findOr404(c)));
}

async function buildpacksV2Create(c: Context<AppEnv>) {
  const attrs = parseV2Body(await readBodyText(c.req.raw), "create");
  requireAdminWrite(c);
  await checkAttributes(c, attrs, true);
  const input = {
    name: attrs.name!,
    stack: attrs.stack ?? null,
    lifecycle: attrs.lifecycle ?? DEFAULT_LIFECYCLE,
    // v2's default position is 0: the top.
    position: attrs.position ?? 0,
    enabled: attrs.enabled ?? true,
    locked: attrs.locked ?? false,
  };
  let bp: Buildpack;
  try {
    bp = await createBuildpack(c.get("db"), input, () => [], { actor: identityOf(c), type: "audit.buildpack.create", data: auditData(attrs) });
  } catch (err) {
    throw v2WriteError(err, input.name, input.stack, input.lifecycle);
  }
  return json(c, presentV2(bp), 201, { Location: `/v2/buildpacks/${bp.guid}` });
}

async function buildpacksV2Update(c: Context<AppEnv, "/:guid">) {
  const attrs = parseV2Body(await readBodyText(c.req.raw), "update");
  const current = await findOr404(c);
  requireAdminWrite(c);
  await checkAttributes(c, attrs, current.stack === null);
  let bp: Buildpack;
  try {
    bp = await updateBuildpack(c.get("db"), current, {
      ...(attrs.name !== undefined ? { name: attrs.name } : {}),
      ...(attrs.stack !== undefined ? { stack: attrs.stack } : {}),
      ...(attrs.position !== undefined ? { position: attrs.position } : {}),
      ...(attrs.enabled !== undefined ? { enabled: attrs.enabled } : {}),
      ...(attrs.locked !== undefined ? { locked: attrs.locked } : {}),
    }, [], { actor: identityOf(c), type: "audit.buildpack.update", data: auditData(attrs) });
  } catch (err) {
    throw v2WriteError(err, attrs.name ?? current.name, current.stack ?? attrs.stack ?? null, current.lifecycle);
  }
  // The reference answers an update with 201.
  return json(c, presentV2(bp), 201);
}

async function buildpacksV2Destroy(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const current = await findOr404(c);
  requireAdminWrite(c);
  const actor = identityOf(c);
  const remove = async () => {
    let key: string | null;
    try {
      key = await deleteBuildpack(db, current, metadataDeleteStatements(db, "buildpack", current.guid), { actor, type: "audit.buildpack.delete" });
    } catch (err) {
      throw v2WriteError(err, current.name, current.stack, current.lifecycle);
    }
    if (key !== null) await deleteBits(c.env.BITS, key);
  };
  if (c.req.query("async") === "true") {
    const job = await startJob(c, { operation: "buildpack.delete", resourceType: "buildpack", resourceGuid: current.guid }, remove);
    const body = presentV2Job(job);
    // Just created, not yet picked up: the reference calls that "queued".
    return json(c, { ...body, entity: { ...body.entity, status: "queued" } }, 202);
  }
  await remove();
  return noContent();
}

async function buildpacksV2Upload(c: Context<AppEnv, "/:guid/bits">) {
  const db = c.get("db");
  const current = await findOr404(c);
  // Uploading is admin-only at the token level in the reference: 10007 for everyone else.
  if (!isAdmin(identityOf(c))) throw new ApiError("InsufficientScope");
  if (current.locked) throw new ApiError("BuildpackLocked");
  const uploadInvalid = (detail: string) => new ApiError("BuildpackBitsUploadInvalid", detail);
  const checkName = (filename: string) => {
    if (filename === "") throw uploadInvalid("a filename must be specified");
    // File.extname, case-sensitive: "a.tar.zip" passes, "A.ZIP" and ".zip" do not.
    const stem = filename.slice(0, -".zip".length);
    if (!filename.endsWith(".zip") || /^\.*$/.test(stem)) throw uploadInvalid("only zip files allowed");
  };
  const form = await receiveUpload(c.req.raw, c.env.BITS, current.guid, {
    field: "buildpack",
    nameField: "buildpack_name",
    checkName,
    tooLarge: () => uploadInvalid("the buildpack is too large"),
  });
  if (form.file === null) {
    const named = form.fields.get("buildpack_name");
    if (named === undefined || named === "") throw uploadInvalid("a filename must be specified");
    checkName(named);
    throw uploadInvalid("a file must be provided");
  }
  let result;
  try {
    result = await applyUploadedBits(db, c.env.BITS, current, form.file, {
      actor: identityOf(c),
      type: "audit.buildpack.upload",
      data: { filename: form.file.filename, sha256: form.file.stored.sha256 },
    });
  } catch (err) {
    throw v2WriteError(err, current.name, current.stack, current.lifecycle);
  }
  if (!result.changed) return noContent();
  return json(c, presentV2(result.buildpack), 201);
}

async function buildpacksV2Download(c: Context<AppEnv, "/:guid/download">) {
  // The reference serves this to stagers with Basic credentials; here, to admins.
  if (!isAdmin(identityOf(c))) throw new ApiError("NotAuthorized");
  const bp = await findOr404(c);
  if (bp.bitsKey === null) throw unknownRequest();
  const filename = bp.filename ?? `${bp.name}.zip`;
  const redirect = await presignedRedirect(c.env, c.req.raw, bp.bitsKey, filename);
  if (redirect !== null) return redirect;
  const res = await bitsResponse(c.env.BITS, bp.bitsKey, c.req.raw, { filename });
  if (!res) throw unknownRequest();
  return res;
}

export const buildpackV2Routes = routeTable([
  ["GET", "/", read, buildpacksV2Index],
  ["GET", "/:guid", read, buildpacksV2Show],
  ["POST", "/", write, buildpacksV2Create],
  ["PUT", "/:guid", write, buildpacksV2Update],
  ["DELETE", "/:guid", write, buildpacksV2Destroy],
  ["PUT", "/:guid/bits", write, buildpacksV2Upload],
  ["GET", "/:guid/download", read, buildpacksV2Download],
]);
