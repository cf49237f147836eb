// Every rule of who may read or write what (packages.md §8). Handlers ask; no handler writes its own
// rule. Global roles come from token scopes; organization and space roles from the `roles` table.
import { and, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { organizations, roles, spaces, type RoleType } from "../db/schema";
import { ApiError } from "../http/errors";
import type { Identity } from "./token";

export const scopes = {
  admin: "cloud_controller.admin",
  adminReadOnly: "cloud_controller.admin_read_only",
  globalAuditor: "cloud_controller.global_auditor",
  read: "cloud_controller.read",
  write: "cloud_controller.write",
} as const;

export const isAdmin = (who: Identity): boolean => who.scopes.has(scopes.admin);

/** admin, admin_read_only or global_auditor: sees everything. */
export const canReadGlobally = (who: Identity): boolean =>
  isAdmin(who) || who.scopes.has(scopes.adminReadOnly) || who.scopes.has(scopes.globalAuditor);

/** Only admins write platform-wide resources (buildpacks, stacks, organizations). */
export const canWriteGlobally = isAdmin;

/** admin and admin_read_only may read secrets anywhere (global_auditor may not). */
export const canReadSecretsGlobally = (who: Identity): boolean =>
  isAdmin(who) || who.scopes.has(scopes.adminReadOnly);

/** Space roles that may read a space; an organization manager reads every space of the org. */
export const SPACE_READ_ROLES: readonly RoleType[] = ["space_developer", "space_manager", "space_auditor", "space_supporter"];
export const ORG_ROLES: readonly RoleType[] = [
  "organization_user", "organization_auditor", "organization_manager", "organization_billing_manager",
];

/**
 * A condition on a space guid column (and its org guid column) that keeps the spaces `who` may read;
 * undefined when `who` reads everything.
 */
export function readableSpaces(who: Identity, spaceGuid: SQLiteColumn | SQL, orgGuid: SQLiteColumn | SQL): SQL | undefined {
  if (canReadGlobally(who)) return undefined;
  return or(
    sql`${spaceGuid} IN (SELECT ${roles.spaceGuid} FROM ${roles} WHERE ${roles.userGuid} = ${who.guid} AND ${inArray(roles.type, [...SPACE_READ_ROLES])})`,
    sql`${orgGuid} IN (SELECT ${roles.organizationGuid} FROM ${roles} WHERE ${roles.userGuid} = ${who.guid} AND ${roles.type} = 'organization_manager')`,
  );
}

/**
 * A condition on an organization guid column that keeps the organizations `who` may read: any
 * organization role, or any space role in one of its spaces. Undefined when `who` reads everything.
 */
export function readableOrganizations(who: Identity, orgGuid: SQLiteColumn | SQL): SQL | undefined {
  if (canReadGlobally(who)) return undefined;
  return or(
    sql`${orgGuid} IN (SELECT ${roles.organizationGuid} FROM ${roles} WHERE ${roles.userGuid} = ${who.guid} AND ${inArray(roles.type, [...ORG_ROLES])})`,
    sql`${orgGuid} IN (SELECT ${spaces.organizationGuid} FROM ${spaces} JOIN ${roles} ON ${roles.spaceGuid} = ${spaces.guid} WHERE ${roles.userGuid} = ${who.guid})`,
  );
}

/** What `who` may do in one space. */
export interface SpaceAccess {
  /** Sees the space and what is in it (else: 404, or 422 on create). */
  canRead: boolean;
  /** May change what is in it (else: 403 CF-NotAuthorized), suspension aside. */
  canWrite: boolean;
  /** May read secrets in it: download bits, see credentials (else: 403). */
  canReadSecrets: boolean;
  /** Its organization is suspended: writes by anyone but admins are 403 CF-OrgSuspended. */
  orgSuspended: boolean;
  isAdmin: boolean;
}

/** One query: the roles `who` holds in the space and its organization, and the organization's state. */
export async function spaceAccess(db: Db, who: Identity, spaceGuid: string): Promise<SpaceAccess> {
  const admin = isAdmin(who);
  const [space] = await db
    .select({ orgGuid: spaces.organizationGuid, suspended: organizations.suspended })
    .from(spaces)
    .innerJoin(organizations, eq(organizations.guid, spaces.organizationGuid))
    .where(eq(spaces.guid, spaceGuid));
  if (!space) return { canRead: false, canWrite: false, canReadSecrets: false, orgSuspended: false, isAdmin: admin };

  const held = new Set<RoleType>(
    (await db
      .select({ type: roles.type })
      .from(roles)
      .where(and(eq(roles.userGuid, who.guid), or(eq(roles.spaceGuid, spaceGuid), eq(roles.organizationGuid, space.orgGuid)))))
      .map((r) => r.type),
  );
  const developer = held.has("space_developer");
  return {
    canRead: canReadGlobally(who) || SPACE_READ_ROLES.some((r) => held.has(r)) || held.has("organization_manager"),
    canWrite: admin || developer,
    canReadSecrets: canReadSecretsGlobally(who) || developer,
    orgSuspended: space.suspended,
    isAdmin: admin,
  };
}

/** A write in a space that `who` can see: 403 CF-NotAuthorized without the role, CF-OrgSuspended when suspended. */
export function assertCanWrite(access: SpaceAccess): void {
  if (!access.canWrite) throw new ApiError("NotAuthorized");
  if (access.orgSuspended && !access.isAdmin) throw new ApiError("OrgSuspended");
}
