// /v3/apps: space developers (and admins) create, rename and delete; every space role and the org
// manager see (lib/cloud_controller/permissions.rb; AppsV3Controller). Deleting an app deletes its
// packages and their bits.
import type { Context } from "hono";
import { assertCanWrite, readableOr404, readableSpaceGuids, spaceAccess, spaceAccessReads } from "../../auth/permissions";
import { identityOf, read, write } from "../../auth/context";
import { apps } from "../../db/schema";
import type { AppEnv } from "../../env";
import { routeTable } from "../../http/routes";
import { parseJson } from "../../http/body";
import { notFound, unprocessable } from "../../http/errors";
import { v3Page } from "../../http/pagination";
import { parseListParams } from "../../http/query";
import { json } from "../../http/respond";
import { acceptedJob, startJob } from "../../jobs/jobs";
import { loadOneMetadata, presentMetadata } from "../../metadata";
import { metadataReads } from "../../metadata/store";
import { runReads } from "../../db/reads";
import { presentApp } from "./present";
import { appCreateSchema, appListSpec, appUpdateSchema } from "./schema";
import { appList, appLookup, createApp, deleteApp, resolveLifecycle, spaceOfApp, updateApp } from "./store";

async function appsIndex(c: Context<AppEnv>) {
  const db = c.get("db");
  const params = parseListParams(new URL(c.req.url), appListSpec);
  // One round trip: the count, and the page with its metadata.
  const [{ total, rows }] = await runReads(db, appList(db, params, readableSpaceGuids(identityOf(c), apps.spaceGuid)));
  return json(c, v3Page(c, "/v3/apps", params, total, rows.map(({ row, metadata }) => presentApp(row, metadata))));
}

async function appsShow(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const guid = c.req.param("guid");
  // One round trip: the app, only if `who` may read its space, and its metadata.
  const [app, metadata] = await runReads(db, appLookup(db, guid, readableSpaceGuids(identityOf(c), apps.spaceGuid)), metadataReads(db, "app", [guid]));
  if (!app) throw notFound("App");
  return json(c, presentApp(app, presentMetadata(metadata, guid)));
}

async function appsCreate(c: Context<AppEnv>) {
  const db = c.get("db");
  const who = identityOf(c);
  const input = await parseJson(c, appCreateSchema);
  const access = await spaceAccess(db, who, input.relationships.space);
  if (!access.canRead) throw unprocessable("Invalid space. Ensure that the space exists and you have access to it.");
  assertCanWrite(access);
  const lifecycle = await resolveLifecycle(db, input.lifecycle);
  const app = await createApp(db, who, input, lifecycle, access.organizationGuid);
  return json(c, presentApp(app, await loadOneMetadata(db, "app", app.guid)), 201);
}

async function appsUpdate(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const who = identityOf(c);
  const input = await parseJson(c, appUpdateSchema);
  const guid = c.req.param("guid");
  const [found, access] = await runReads(db, appLookup(db, guid), spaceAccessReads(db, who, spaceOfApp(guid)));
  const app = readableOr404(found, access, "App");
  assertCanWrite(access);
  const updated = await updateApp(db, who, app, input, access.organizationGuid);
  if (!updated) throw notFound("App");
  return json(c, presentApp(updated, await loadOneMetadata(db, "app", updated.guid)));
}

async function appsDestroy(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const who = identityOf(c);
  const guid = c.req.param("guid");
  const [found, access] = await runReads(db, appLookup(db, guid), spaceAccessReads(db, who, spaceOfApp(guid)));
  const app = readableOr404(found, access, "App");
  assertCanWrite(access);
  const bucket = c.env.BITS;
  const job = await startJob(c, { operation: "app.delete", resourceType: "app", resourceGuid: app.guid }, async () => {
    await deleteApp(db, bucket, who, app, access.organizationGuid);
  });
  return acceptedJob(c, job);
}

export const appRoutes = routeTable([
  ["GET", "/", read, appsIndex],
  ["GET", "/:guid", read, appsShow],
  ["POST", "/", write, appsCreate],
  ["PATCH", "/:guid", write, appsUpdate],
  ["DELETE", "/:guid", write, appsDestroy],
]);
