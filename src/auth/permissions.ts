// Every rule of who may read or write what (the reference's lib/cloud_controller/permissions.rb).
// Handlers ask; no handler writes its own rule. Global roles come from token scopes; organization and
// space roles from the `roles` table.
import { and, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { AnyDb } from "../db/batch";
import type { Db } from "../db/client";
import { firstRowOf, mapReads, runReads, type Reads } from "../db/reads";
import { organizations, roles, spaces, type RoleType } from "../db/schema";
import { ApiError, notFound } from "../http/errors";
import type { Identity } from "./token";

export const scopes = {
  admin: "cloud_controller.admin",
  adminReadOnly: "cloud_controller.admin_read_only",
  globalAuditor: "cloud_controller.global_auditor",
  read: "cloud_controller.read",
  write: "cloud_controller.write",
} as const;

/** A token needs one of these to call a read route, one of the others for a write route. */
export const READ_SCOPES: readonly string[] = [scopes.admin, scopes.adminReadOnly, scopes.globalAuditor, scopes.read];
export const WRITE_SCOPES: readonly string[] = [scopes.admin, scopes.write];

export const isAdmin = (who: Identity): boolean => who.scopes.has(scopes.admin);

/** admin, admin_read_only or global_auditor: sees everything. */
const canReadGlobally = (who: Identity): boolean =>
  isAdmin(who) || who.scopes.has(scopes.adminReadOnly) || who.scopes.has(scopes.globalAuditor);

/** Only admins write platform-wide resources (buildpacks, stacks, organizations). */
export const canWriteGlobally = isAdmin;

/** admin and admin_read_only may read secrets anywhere (global_auditor may not). */
const canReadSecretsGlobally = (who: Identity): boolean =>
  isAdmin(who) || who.scopes.has(scopes.adminReadOnly);

/**
 * A record in a space or organization the caller may not read is reported as missing: 404
 * CF-ResourceNotFound "<what> not found" for both, so a read never reveals what exists elsewhere.
 */
export function readableOr404<T>(record: T | null | undefined, access: { canRead: boolean }, what: string): T {
  if (!record || !access.canRead) throw notFound(what);
  return record;
}

/** Space roles that may read a space; an organization manager reads every space of the org. */
const SPACE_READ_ROLES: readonly RoleType[] = ["space_developer", "space_manager", "space_auditor", "space_supporter"];
const ORG_ROLES: readonly RoleType[] = [
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

/** {@link readableSpaces} for a space guid column alone (its organization is looked up). */
export function readableSpaceGuids(who: Identity, spaceGuid: SQLiteColumn | SQL): SQL | undefined {
  return readableSpaces(who, spaceGuid, sql`(SELECT ${spaces.organizationGuid} FROM ${spaces} WHERE ${spaces.guid} = ${spaceGuid})`);
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
  /** Manages the space: renames it, grants and revokes its roles (admin, space manager, org manager). */
  canManage: boolean;
  /** Manages its organization: deletes the space (admin, org manager). */
  canManageOrganization: boolean;
  /** The space's organization; null when the space does not exist. */
  organizationGuid: string | null;
}

/**
 * The facts a space verdict is made of: the space's organization, whether it is suspended, and the
 * roles `who` holds in the space and in that organization.
 */
export interface SpaceFacts {
  organizationGuid: string;
  suspended: boolean;
  roles: readonly RoleType[];
}

/** What `who` may do in a space with these facts; `undefined` facts: the space does not exist. */
export function spaceAccessVerdict(who: Identity, facts: SpaceFacts | undefined): SpaceAccess {
  const admin = isAdmin(who);
  if (!facts) {
    return {
      canRead: false, canWrite: false, canReadSecrets: false, orgSuspended: false, isAdmin: admin,
      canManage: false, canManageOrganization: false, organizationGuid: null,
    };
  }
  const held = new Set(facts.roles);
  const developer = held.has("space_developer");
  return {
    canRead: canReadGlobally(who) || SPACE_READ_ROLES.some((r) => held.has(r)) || held.has("organization_manager"),
    canWrite: admin || developer,
    canReadSecrets: canReadSecretsGlobally(who) || developer,
    orgSuspended: facts.suspended,
    isAdmin: admin,
    canManage: admin || held.has("space_manager") || held.has("organization_manager"),
    canManageOrganization: admin || held.has("organization_manager"),
    organizationGuid: facts.organizationGuid,
  };
}

/**
 * The access facts of a space as ONE statement for the caller's batch, next to its own lookup and
 * metadata (src/db/reads.ts). `spaceGuid` is a guid, or a scalar subquery yielding one (the space of
 * the package or app looked up in the same batch; NULL when there is none). An admin holds every
 * right whatever roles they have, so their roles are not read.
 */
export function spaceAccessReads(db: AnyDb, who: Identity, spaceGuid: string | SQL): Reads<SpaceAccess> {
  const heldRoles = isAdmin(who)
    ? sql<string>`'[]'`
    : sql<string>`(SELECT json_group_array(${roles.type}) FROM ${roles} WHERE ${roles.userGuid} = ${who.guid} AND (${roles.spaceGuid} = ${spaces.guid} OR ${roles.organizationGuid} = ${spaces.organizationGuid}))`;
  const statement = db
    .select({ organizationGuid: spaces.organizationGuid, suspended: organizations.suspended, roles: heldRoles })
    .from(spaces)
    .innerJoin(organizations, eq(organizations.guid, spaces.organizationGuid))
    .where(eq(spaces.guid, spaceGuid));
  return mapReads(firstRowOf(statement), (row) =>
    spaceAccessVerdict(who, row && { organizationGuid: row.organizationGuid, suspended: row.suspended, roles: JSON.parse(row.roles) as RoleType[] }));
}

/** What `who` may do in one space: one query (the space, its organization and `who`'s roles there). */
export async function spaceAccess(db: Db, who: Identity, spaceGuid: string): Promise<SpaceAccess> {
  const [access] = await runReads(db, spaceAccessReads(db, who, spaceGuid));
  return access;
}

/** A write in a space that `who` can see: 403 CF-NotAuthorized without the role, CF-OrgSuspended when suspended. */
export function assertCanWrite(access: SpaceAccess): void {
  if (!access.canWrite) throw new ApiError("NotAuthorized");
  if (access.orgSuspended && !access.isAdmin) throw new ApiError("OrgSuspended");
}

/** A write that needs `check` (a role) in a space or organization `who` can see; suspension blocks all but admins. */
function assertAllowed(allowed: boolean, suspended: boolean, admin: boolean): void {
  if (!allowed) throw new ApiError("NotAuthorized");
  if (suspended && !admin) throw new ApiError("OrgSuspended");
}

/** Space management (rename, grant and revoke space roles): 403 without the role, CF-OrgSuspended when suspended. */
export function assertCanManageSpace(access: SpaceAccess): void {
  assertAllowed(access.canManage, access.orgSuspended, access.isAdmin);
}

/** Deleting a space is organization management (admin or org manager). */
export function assertCanDeleteSpace(access: SpaceAccess): void {
  assertAllowed(access.canManageOrganization, access.orgSuspended, access.isAdmin);
}

// ---------------------------------------------------------------------------------------------
// Organizations

/** What `who` may do in one organization. */
interface OrgAccess {
  exists: boolean;
  /** Sees the organization: any role in it (else 404, or 422 on create). */
  canRead: boolean;
  /** Manages it: renames it, creates spaces, grants organization roles (admin, org manager). */
  canManage: boolean;
  suspended: boolean;
  isAdmin: boolean;
}

/** One statement: the organization's state and the roles `who` holds in it or in its spaces. */
export async function orgAccess(db: Db, who: Identity, orgGuid: string): Promise<OrgAccess> {
  const admin = isAdmin(who);
  const [org] = await db
    .select({
      suspended: organizations.suspended,
      // (The guid is bound again rather than correlated: a one-table select names its columns bare.)
      roles: sql<string>`(SELECT json_group_array(${roles.type}) FROM ${roles} WHERE ${roles.userGuid} = ${who.guid} AND (${roles.organizationGuid} = ${orgGuid} OR ${roles.spaceGuid} IN (SELECT ${spaces.guid} FROM ${spaces} WHERE ${spaces.organizationGuid} = ${orgGuid})))`,
    })
    .from(organizations)
    .where(eq(organizations.guid, orgGuid));
  if (!org) return { exists: false, canRead: false, canManage: false, suspended: false, isAdmin: admin };
  const types = new Set(JSON.parse(org.roles) as RoleType[]);
  return {
    exists: true,
    canRead: canReadGlobally(who) || types.size > 0,
    canManage: admin || types.has("organization_manager"),
    suspended: org.suspended,
    isAdmin: admin,
  };
}

/** Organization management: 403 without the role, CF-OrgSuspended when suspended (admins bypass). */
export function assertCanManageOrg(access: OrgAccess): void {
  assertAllowed(access.canManage, access.suspended, access.isAdmin);
}

/** Creating, deleting and suspending organizations is for admins only (the reference's defaults). */
export const canCreateOrganizations = isAdmin;
export const canDeleteOrganizations = isAdmin;
export const canSuspendOrganizations = isAdmin;

// ---------------------------------------------------------------------------------------------
// Roles, users, audit events

/**
 * Roles `who` sees: every role for global readers; else the roles of spaces `who` reads and of
 * organizations `who` has a role in. Undefined when `who` sees everything.
 */
export function readableRoles(who: Identity): SQL | undefined {
  if (canReadGlobally(who)) return undefined;
  return or(
    and(sql`${roles.spaceGuid} IS NOT NULL`, readableSpaceGuids(who, roles.spaceGuid)),
    and(sql`${roles.organizationGuid} IS NOT NULL`, readableOrganizations(who, roles.organizationGuid)),
  );
}

/**
 * Users `who` sees: everyone for global readers; else themselves and everyone with a role in an
 * organization where `who` has a role (the reference's readable_users_query).
 */
export function readableUsers(who: Identity, userGuid: SQLiteColumn): SQL | undefined {
  if (canReadGlobally(who)) return undefined;
  const myOrgs = sql`SELECT ${roles.organizationGuid} FROM ${roles} WHERE ${roles.userGuid} = ${who.guid} AND ${inArray(roles.type, [...ORG_ROLES])}`;
  return or(
    eq(userGuid, who.guid),
    sql`${userGuid} IN (SELECT ${roles.userGuid} FROM ${roles} WHERE ${roles.organizationGuid} IN (${myOrgs}))`,
  );
}

/**
 * Whether `who` may give `userGuid` a role: the reference grants organization roles to anyone, but a
 * space role only to a user that `who` can see (else the same 422 as a user outside the organization).
 */
export async function canSeeUser(db: Db, who: Identity, userGuid: string): Promise<boolean> {
  if (canReadGlobally(who) || userGuid === who.guid) return true;
  const [row] = await db.select({ n: sql<number>`1` }).from(roles).where(and(eq(roles.userGuid, userGuid), sql`${roles.organizationGuid} IN (SELECT ${roles.organizationGuid} FROM ${roles} WHERE ${roles.userGuid} = ${who.guid} AND ${inArray(roles.type, [...ORG_ROLES])})`)).limit(1);
  return row !== undefined;
}

/** Space roles whose holders see a space's audit events (the reference's SPACE_ROLES_FOR_EVENTS). */
const EVENT_SPACE_ROLES: readonly RoleType[] = ["space_auditor", "space_developer", "space_supporter"];

/**
 * Audit events `who` sees: all for global readers; else events of spaces where `who` is space
 * auditor, developer or supporter, and of organizations where `who` is organization auditor
 * (the reference's readable_event_dataset). Undefined when `who` sees everything.
 */
export function readableAuditEvents(who: Identity, spaceGuid: SQLiteColumn, orgGuid: SQLiteColumn): SQL | undefined {
  if (canReadGlobally(who)) return undefined;
  return or(
    sql`${spaceGuid} IN (SELECT ${roles.spaceGuid} FROM ${roles} WHERE ${roles.userGuid} = ${who.guid} AND ${inArray(roles.type, [...EVENT_SPACE_ROLES])})`,
    sql`${orgGuid} IN (SELECT ${roles.organizationGuid} FROM ${roles} WHERE ${roles.userGuid} = ${who.guid} AND ${roles.type} = 'organization_auditor')`,
  );
}
