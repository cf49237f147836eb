// /v3/organizations: admins create, delete and suspend; org managers rename and label their own;
// everyone sees the organizations they have a role in (lib/cloud_controller/permissions.rb;
// OrganizationsV3Controller).
import type { Context } from "hono";
import { identityOf, read, write } from "../../auth/context";
import {
  assertCanManageOrg, canCreateOrganizations, canDeleteOrganizations, canSuspendOrganizations, orgAccess, readableOr404, readableOrganizations,
} from "../../auth/permissions";
import type { Identity } from "../../auth/token";
import { deleteBitsKeys } from "../../bits/store";
import type { Db } from "../../db/client";
import { organizations } from "../../db/schema";
import type { AppEnv } from "../../env";
import { routeTable } from "../../http/routes";
import { parseJson } from "../../http/body";
import { ApiError, notFound } from "../../http/errors";
import { v3Page } from "../../http/pagination";
import { parseListParams } from "../../http/query";
import { json } from "../../http/respond";
import { acceptedJob, startJob } from "../../jobs/jobs";
import { loadOneMetadata, presentMetadata } from "../../metadata";
import { metadataReads } from "../../metadata/store";
import { runReads } from "../../db/reads";
import { presentOrganization } from "./present";
import { orgCreateSchema, orgListSpec, orgUpdateSchema } from "./schema";
import { createOrg, deleteOrg, findOrg, orgList, orgLookup, updateOrg } from "./store";

/** An organization `who` can see, with what `who` may do in it; 404 otherwise. */
async function visibleOrg(db: Db, who: Identity, guid: string) {
  const access = await orgAccess(db, who, guid);
  const org = readableOr404(access.canRead ? await findOrg(db, guid) : undefined, access, "Organization");
  return { access, org };
}

async function organizationsIndex(c: Context<AppEnv>) {
  const db = c.get("db");
  const params = parseListParams(new URL(c.req.url), orgListSpec);
  // One round trip: the count, and the page with its metadata.
  const [{ total, rows }] = await runReads(db, orgList(db, params, readableOrganizations(identityOf(c), organizations.guid)));
  return json(c, v3Page(c, "/v3/organizations", params, total, rows.map(({ row, metadata }) => presentOrganization(row, metadata))));
}

async function organizationsShow(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const guid = c.req.param("guid");
  // One round trip: the organization, only if `who` may read it, and its metadata.
  const visible = readableOrganizations(identityOf(c), organizations.guid);
  const [org, metadata] = await runReads(db, orgLookup(db, guid, visible), metadataReads(db, "organization", [guid]));
  if (!org) throw notFound("Organization");
  return json(c, presentOrganization(org, presentMetadata(metadata, guid)));
}

async function organizationsCreate(c: Context<AppEnv>) {
  const who = identityOf(c);
  if (!canCreateOrganizations(who)) throw new ApiError("NotAuthorized");
  const input = await parseJson(c, orgCreateSchema);
  const db = c.get("db");
  const org = await createOrg(db, who, input);
  return json(c, presentOrganization(org, await loadOneMetadata(db, "organization", org.guid)), 201);
}

async function organizationsUpdate(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const who = identityOf(c);
  const { access, org } = await visibleOrg(db, who, c.req.param("guid"));
  assertCanManageOrg(access);
  const input = await parseJson(c, orgUpdateSchema);
  // Only admins suspend (the reference: "unauthorized! if suspended_by_non_admin?").
  if (input.suspended === true && !canSuspendOrganizations(who)) throw new ApiError("NotAuthorized");
  const updated = await updateOrg(db, who, org, input);
  if (!updated) throw notFound("Organization");
  return json(c, presentOrganization(updated, await loadOneMetadata(db, "organization", updated.guid)));
}

async function organizationsDestroy(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const who = identityOf(c);
  const { access, org } = await visibleOrg(db, who, c.req.param("guid"));
  if (!canDeleteOrganizations(who)) throw new ApiError("NotAuthorized");
  const bucket = c.env.BITS;
  const job = await startJob(c, { operation: "organization.delete", resourceType: "organization", resourceGuid: org.guid }, async () => {
    await deleteBitsKeys(bucket, await deleteOrg(db, who, org));
  });
  return acceptedJob(c, job);
}

export const organizationRoutes = routeTable([
  ["GET", "/", read, organizationsIndex],
  ["GET", "/:guid", read, organizationsShow],
  ["POST", "/", write, organizationsCreate],
  ["PATCH", "/:guid", write, organizationsUpdate],
  ["DELETE", "/:guid", write, organizationsDestroy],
]);
