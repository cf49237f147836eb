// /v3/apps: space developers (and admins) create, rename and delete; every space role and the org
// manager see (packages.md §8; AppsV3Controller). Deleting an app deletes its packages and their bits.
import { Hono } from "hono";
import { assertCanWrite, readableSpaceGuids, spaceAccess } from "../../auth/permissions";
import { identityOf, read, write } from "../../auth/context";
import { apps } from "../../db/schema";
import type { AppEnv } from "../../env";
import { parseJson } from "../../http/body";
import { notFound, unprocessable } from "../../http/errors";
import { absoluteUrl, v3Page } from "../../http/pagination";
import { parseListParams } from "../../http/query";
import { accepted, json } from "../../http/respond";
import { startJob } from "../../jobs/jobs";
import { loadMetadata, loadOneMetadata } from "../../metadata";
import { presentApp } from "./present";
import { appCreateSchema, appListSpec, appUpdateSchema } from "./schema";
import { createApp, deleteApp, findApp, listApps, resolveLifecycle, updateApp } from "./store";

export const appRoutes = new Hono<AppEnv>()
  .get("/", read, async (c) => {
    const db = c.get("db");
    const params = parseListParams(new URL(c.req.url), appListSpec);
    const { total, rows } = await listApps(db, params, readableSpaceGuids(identityOf(c), apps.spaceGuid));
    const metadata = await loadMetadata(db, "app", rows.map((a) => a.guid));
    return json(c, v3Page(c, "/v3/apps", params, total, rows.map((a) => presentApp(a, metadata.get(a.guid)!))));
  })
  .get("/:guid", read, async (c) => {
    const db = c.get("db");
    const app = await findApp(db, c.req.param("guid"));
    if (!app || !(await spaceAccess(db, identityOf(c), app.spaceGuid)).canRead) throw notFound("App");
    return json(c, presentApp(app, await loadOneMetadata(db, "app", app.guid)));
  })
  .post("/", write, async (c) => {
    const db = c.get("db");
    const who = identityOf(c);
    const input = await parseJson(c, appCreateSchema);
    const access = await spaceAccess(db, who, input.relationships.space);
    if (!access.canRead) throw unprocessable("Invalid space. Ensure that the space exists and you have access to it.");
    assertCanWrite(access);
    const lifecycle = await resolveLifecycle(db, input.lifecycle);
    const app = await createApp(db, who, input, lifecycle, access.organizationGuid);
    return json(c, presentApp(app, await loadOneMetadata(db, "app", app.guid)), 201);
  })
  .patch("/:guid", write, async (c) => {
    const db = c.get("db");
    const who = identityOf(c);
    const input = await parseJson(c, appUpdateSchema);
    const app = await findApp(db, c.req.param("guid"));
    const access = app ? await spaceAccess(db, who, app.spaceGuid) : undefined;
    if (!app || !access?.canRead) throw notFound("App");
    assertCanWrite(access);
    const updated = await updateApp(db, who, app, input, access.organizationGuid);
    if (!updated) throw notFound("App");
    return json(c, presentApp(updated, await loadOneMetadata(db, "app", updated.guid)));
  })
  .delete("/:guid", write, async (c) => {
    const db = c.get("db");
    const who = identityOf(c);
    const app = await findApp(db, c.req.param("guid"));
    const access = app ? await spaceAccess(db, who, app.spaceGuid) : undefined;
    if (!app || !access?.canRead) throw notFound("App");
    assertCanWrite(access);
    const bucket = c.env.BITS;
    const job = await startJob(c, { operation: "app.delete", resourceType: "app", resourceGuid: app.guid }, async () => {
      await deleteApp(db, bucket, who, app, access.organizationGuid);
    });
    return accepted(c, absoluteUrl(c, `/v3/jobs/${job.guid}`));
  });
