// /v3/roles: admins grant any role; organization managers the roles of their organization and of
// its spaces; space managers the roles of their space. A space role needs an organization_user role
// in the space's organization. (RolesController, RoleCreate; lib/cloud_controller/permissions.rb.)
import type { Context } from "hono";
import { identityOf, read, write } from "../../auth/context";
import {
  assertCanManageOrg, assertCanManageSpace, canSeeUser, orgAccess, readableRoles, spaceAccess,
} from "../../auth/permissions";
import type { Db } from "../../db/client";
import type { Role } from "../../db/schema";
import type { AppEnv } from "../../env";
import { routeTable } from "../../http/routes";
import { parseJson } from "../../http/body";
import { parseListParams422 } from "../../http/fields";
import { notFound, unprocessable } from "../../http/errors";
import { v3Page } from "../../http/pagination";
import { json } from "../../http/respond";
import { acceptedJob, startJob } from "../../jobs/jobs";
import { loadMetadata } from "../../metadata";
import { presentOrganization } from "../organizations/present";
import { findOrg } from "../organizations/store";
import { presentSpace } from "../spaces/present";
import { findSpace } from "../spaces/store";
import { presentUser } from "../users/present";
import { findUsersIn } from "../users/store";
import { presentRole } from "./present";
import { roleCreateSchema, roleIncludes, roleListSpec, type RoleCreate, type RoleInclude } from "./schema";
import {
  createRole, deleteRole, findRole, findUser, findUsersByName, hasSpaceRolesInOrg, listRoles, ORG_USER_IN_USE, rememberCaller,
  spaceUserMissing, type RoleTarget,
} from "./store";

async function rolesIndex(c: Context<AppEnv>) {
  const db = c.get("db");
  const url = new URL(c.req.url);
  const params = parseListParams422(url, roleListSpec);
  const include = roleIncludes(params.lists.include);
  const { total, rows } = await listRoles(db, params, readableRoles(identityOf(c)));
  const page = v3Page(c, "/v3/roles", params, total, rows.map(presentRole));
  return json(c, include.length > 0 ? { ...page, included: await included(db, rows, include) } : page);
}

async function rolesShow(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const params = parseListParams422(new URL(c.req.url), { allowed: ["include"], lists: ["include"] });
  const include = roleIncludes(params.lists.include);
  const role = await findRole(db, c.req.param("guid"), readableRoles(identityOf(c)));
  if (!role) throw notFound("Role");
  const body = presentRole(role);
  return json(c, include.length > 0 ? { ...body, included: await included(db, [role], include) } : body);
}

async function rolesCreate(c: Context<AppEnv>) {
  const db = c.get("db");
  const who = identityOf(c);
  const input = await parseJson(c, roleCreateSchema);
  const target = await authorizeGrant(db, who, input);
  await rememberCaller(db, who);
  const user = await resolveUser(db, input, target);
  if (target.kind === "space" && !(await canSeeUser(db, who, user.guid))) throw spaceUserMissing();
  const role = await createRole(db, who, input.type, user, target);
  return json(c, presentRole(role), 201);
}

async function rolesDestroy(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const who = identityOf(c);
  const role = await findRole(db, c.req.param("guid"), readableRoles(who));
  if (!role) throw notFound("Role");
  let organizationGuid: string | null;
  if (role.spaceGuid !== null) {
    const access = await spaceAccess(db, who, role.spaceGuid);
    assertCanManageSpace(access);
    organizationGuid = access.organizationGuid;
  } else {
    organizationGuid = role.organizationGuid;
    assertCanManageOrg(await orgAccess(db, who, role.organizationGuid ?? ""));
    if (role.type === "organization_user" && organizationGuid && (await hasSpaceRolesInOrg(db, role.userGuid, organizationGuid))) {
      throw unprocessable(ORG_USER_IN_USE);
    }
  }
  const job = await startJob(c, { operation: "role.delete", resourceType: "role", resourceGuid: role.guid }, async () => {
    await deleteRole(db, who, role, organizationGuid);
  });
  return acceptedJob(c, job);
}

export const roleRoutes = routeTable([
  ["GET", "/", read, rolesIndex],
  ["GET", "/:guid", read, rolesShow],
  ["POST", "/", write, rolesCreate],
  ["DELETE", "/:guid", write, rolesDestroy],
]);

/**
 * Where the role goes, and whether `who` may grant it there: the space or organization must be
 * visible (else 422), managed by `who` (else 403) and not suspended (else 403 CF-OrgSuspended).
 */
async function authorizeGrant(db: Db, who: Parameters<typeof spaceAccess>[1], input: RoleCreate): Promise<RoleTarget> {
  if (input.target.kind === "space") {
    const access = await spaceAccess(db, who, input.target.guid);
    const space = access.canRead ? await findSpace(db, input.target.guid) : undefined;
    if (!space) throw unprocessable("Invalid space. Ensure that the space exists and you have access to it.");
    assertCanManageSpace(access);
    return { kind: "space", guid: space.guid, name: space.name, organizationGuid: space.organizationGuid };
  }
  const access = await orgAccess(db, who, input.target.guid);
  const org = access.canRead ? await findOrg(db, input.target.guid) : undefined;
  if (!org) throw unprocessable("Invalid organization. Ensure that the organization exists and you have access to it.");
  assertCanManageOrg(access);
  return { kind: "organization", guid: org.guid, name: org.name, organizationGuid: org.guid };
}

/** The user a role is for: by guid (a row is made when new), or by a username known here. */
async function resolveUser(db: Db, input: RoleCreate, target: RoleTarget): Promise<{ guid: string; username: string | null }> {
  if ("guid" in input.user) {
    const known = await findUser(db, input.user.guid);
    return { guid: input.user.guid, username: known?.username ?? null };
  }
  const { username, origin } = input.user;
  const found = await findUsersByName(db, username, origin);
  if (found.length > 1) {
    const origins = found.map((u) => u.origin ?? "").sort().join(", ");
    throw unprocessable(`Ambiguous user. User with username '${username}' exists in the following origins: ${origins}. Specify an origin to disambiguate.`);
  }
  const user = found[0];
  if (!user) {
    if (target.kind === "space") throw spaceUserMissing();
    throw unprocessable(origin === null
      ? `No user exists with the username '${username}'.`
      : `No user exists with the username '${username}' and origin '${origin}'.`);
  }
  return { guid: user.guid, username: user.username };
}

/** The `included` block: the roles' users, organizations and spaces. */
async function included(db: Db, rows: readonly Role[], include: readonly RoleInclude[]) {
  const out: Record<string, unknown[]> = {};
  if (include.includes("user")) {
    const found = await findUsersIn(db, [...new Set(rows.map((r) => r.userGuid))]);
    const metadata = await loadMetadata(db, "user", found.map((u) => u.guid));
    out.users = found.map((u) => presentUser(u, metadata.get(u.guid)!));
  }
  if (include.includes("organization")) {
    const guids = [...new Set(rows.map((r) => r.organizationGuid).filter((g): g is string => g !== null))];
    const orgs = (await Promise.all(guids.map((g) => findOrg(db, g)))).filter((o) => o !== undefined);
    const metadata = await loadMetadata(db, "organization", orgs.map((o) => o.guid));
    out.organizations = orgs.map((o) => presentOrganization(o, metadata.get(o.guid)!));
  }
  if (include.includes("space")) {
    const guids = [...new Set(rows.map((r) => r.spaceGuid).filter((g): g is string => g !== null))];
    const found = (await Promise.all(guids.map((g) => findSpace(db, g)))).filter((s) => s !== undefined);
    const metadata = await loadMetadata(db, "space", found.map((s) => s.guid));
    out.spaces = found.map((s) => presentSpace(s, metadata.get(s.guid)!));
  }
  return out;
}
