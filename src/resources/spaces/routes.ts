// /v3/spaces: admins and the organization's managers create and delete; space and org managers
// rename; everyone sees the spaces they have a role in (lib/cloud_controller/permissions.rb;
// SpacesV3Controller).
import type { Context } from "hono";
import { identityOf, read, write } from "../../auth/context";
import {
  assertCanDeleteSpace, assertCanManageOrg, assertCanManageSpace, orgAccess, readableOr404, readableSpaces, spaceAccess,
} from "../../auth/permissions";
import type { Identity } from "../../auth/token";
import { deleteBitsKeys } from "../../bits/store";
import type { Db } from "../../db/client";
import { spaces } from "../../db/schema";
import type { AppEnv } from "../../env";
import { routeTable } from "../../http/routes";
import { parseJson } from "../../http/body";
import { notFound } from "../../http/errors";
import { v3Page } from "../../http/pagination";
import { parseListParams } from "../../http/query";
import { json } from "../../http/respond";
import { acceptedJob, startJob } from "../../jobs/jobs";
import { loadOneMetadata, presentMetadata } from "../../metadata";
import { metadataReads } from "../../metadata/store";
import { runReads } from "../../db/reads";
import { presentSpace } from "./present";
import { spaceCreateSchema, spaceListSpec, spaceUpdateSchema } from "./schema";
import { createSpace, deleteSpace, findSpace, invalidOrganization, spaceList, spaceLookup, updateSpace } from "./store";

/** A space `who` can see, with what `who` may do in it; 404 otherwise. */
async function visibleSpace(db: Db, who: Identity, guid: string) {
  const access = await spaceAccess(db, who, guid);
  const space = readableOr404(access.canRead ? await findSpace(db, guid) : undefined, access, "Space");
  return { access, space };
}

async function spacesIndex(c: Context<AppEnv>) {
  const db = c.get("db");
  const params = parseListParams(new URL(c.req.url), spaceListSpec);
  // One round trip: the count, and the page with its metadata.
  const [{ total, rows }] = await runReads(db, spaceList(db, params, readableSpaces(identityOf(c), spaces.guid, spaces.organizationGuid)));
  return json(c, v3Page(c, "/v3/spaces", params, total, rows.map(({ row, metadata }) => presentSpace(row, metadata))));
}

async function spacesShow(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const guid = c.req.param("guid");
  // One round trip: the space, only if `who` may read it, and its metadata.
  const visible = readableSpaces(identityOf(c), spaces.guid, spaces.organizationGuid);
  const [space, metadata] = await runReads(db, spaceLookup(db, guid, visible), metadataReads(db, "space", [guid]));
  if (!space) throw notFound("Space");
  return json(c, presentSpace(space, presentMetadata(metadata, guid)));
}

async function spacesCreate(c: Context<AppEnv>) {
  const db = c.get("db");
  const who = identityOf(c);
  const input = await parseJson(c, spaceCreateSchema);
  const access = await orgAccess(db, who, input.relationships.organization);
  if (!access.canRead) throw invalidOrganization();
  assertCanManageOrg(access);
  const space = await createSpace(db, who, input);
  return json(c, presentSpace(space, await loadOneMetadata(db, "space", space.guid)), 201);
}

async function spacesUpdate(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const who = identityOf(c);
  const { access, space } = await visibleSpace(db, who, c.req.param("guid"));
  assertCanManageSpace(access);
  const input = await parseJson(c, spaceUpdateSchema);
  const updated = await updateSpace(db, who, space, input);
  if (!updated) throw notFound("Space");
  return json(c, presentSpace(updated, await loadOneMetadata(db, "space", updated.guid)));
}

async function spacesDestroy(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const who = identityOf(c);
  const { access, space } = await visibleSpace(db, who, c.req.param("guid"));
  assertCanDeleteSpace(access);
  const bucket = c.env.BITS;
  const job = await startJob(c, { operation: "space.delete", resourceType: "space", resourceGuid: space.guid }, async () => {
    await deleteBitsKeys(bucket, await deleteSpace(db, who, space));
  });
  return acceptedJob(c, job);
}

export const spaceRoutes = routeTable([
  ["GET", "/", read, spacesIndex],
  ["GET", "/:guid", read, spacesShow],
  ["POST", "/", write, spacesCreate],
  ["PATCH", "/:guid", write, spacesUpdate],
  ["DELETE", "/:guid", write, spacesDestroy],
]);
