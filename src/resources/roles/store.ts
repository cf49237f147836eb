import { and, asc, count, eq, sql, type SQL } from "drizzle-orm";
import type { Identity } from "../../auth/token";
import { auditEventInsert } from "../../audit/events";
import { timestamp, type Db } from "../../db/client";
import type { Reads } from "../../db/reads";
import { auditEvents, organizations, roles, spaces, users, type Role, type RoleType, type User } from "../../db/schema";
import { unprocessable } from "../../http/errors";
import { pageWindow } from "../../http/pagination";
import type { ListParams } from "../../http/query";
import { guard, isGuardFailure, isUniqueViolation } from "../../db/batch";
import { allOf, commonConditions, inList, orderBy } from "../../db/lists";

// A plain select, not db.query: the relational builder aliases every column in the condition to its table.
export async function findRole(db: Db, guid: string, visible: SQL | undefined): Promise<Role | undefined> {
  const [role] = await db.select().from(roles).where(and(eq(roles.guid, guid), visible)).limit(1);
  return role;
}

export async function listRoles(db: Db, params: ListParams, visible: SQL | undefined): Promise<{ total: number; rows: Role[] }> {
  const conditions: (SQL | undefined)[] = [visible, ...commonConditions(params, roles)];
  if (params.lists.types) conditions.push(inList(roles.type, params.lists.types));
  if (params.lists.user_guids) conditions.push(inList(roles.userGuid, params.lists.user_guids));
  if (params.lists.space_guids) conditions.push(inList(roles.spaceGuid, params.lists.space_guids));
  if (params.lists.organization_guids) conditions.push(inList(roles.organizationGuid, params.lists.organization_guids));
  const where = allOf(conditions);
  const { limit, offset } = pageWindow(params);
  const [[totals], rows] = await db.batch([
    db.select({ n: count() }).from(roles).where(where),
    db.select().from(roles).where(where)
      .orderBy(...orderBy(params, { created_at: roles.createdAt, updated_at: roles.updatedAt }, roles.id, [asc(roles.createdAt), asc(roles.id)]))
      .limit(limit).offset(offset),
  ]);
  return { total: totals?.n ?? 0, rows };
}

/** Remembers who is asking (username from the token), so roles and user lists can name them. */
export async function rememberCaller(db: Db, who: Identity): Promise<void> {
  await rememberCallerStatement(db, who);
}

/** rememberCaller as the first part of a request's reads (runReads), which then see the caller; it reads nothing back. */
export const rememberCallerReads = (db: Db, who: Identity): Reads<void> => ({ statements: [rememberCallerStatement(db, who)], read: () => undefined });

function rememberCallerStatement(db: Db, who: Identity) {
  const origin = who.isClient ? null : "uaa";
  return db.insert(users).values({
    guid: who.guid, isOauthClient: who.isClient, username: who.userName, origin, createdAt: timestamp(),
  }).onConflictDoUpdate({
    target: users.guid,
    set: { username: who.userName, origin, isOauthClient: who.isClient, updatedAt: timestamp() },
    // Only a row of the caller's own kind (auth/kind.ts decided it): a client never rewrites a user.
    setWhere: sql`${users.isOauthClient} = ${who.isClient ? 1 : 0} AND (${users.username} IS NOT ${who.userName} OR ${users.origin} IS NOT ${origin})`,
  });
}

export const findUser = (db: Db, guid: string) => db.query.users.findFirst({ where: eq(users.guid, guid) });

/** Users known here by username (and origin, when given). */
export const findUsersByName = (db: Db, username: string, origin: string | null) =>
  db.select().from(users).where(and(eq(users.username, username), origin === null ? undefined : eq(users.origin, origin))).limit(2);

export const spaceUserMissing = () =>
  unprocessable("Users cannot be assigned roles in a space if they do not have a role in that space's organization.");

export interface RoleTarget {
  kind: "space" | "organization";
  guid: string;
  name: string;
  organizationGuid: string;
}

/**
 * Creates the role (and the user's row when it is new) with its audit event in one batch. The
 * database decides, inside the batch: the space or organization must still exist and, for a space
 * role, the user must be an organization_user of the space's organization; a role held already is
 * the reference's 422.
 */
export async function createRole(db: Db, who: Identity, type: RoleType, user: { guid: string; username: string | null }, target: RoleTarget): Promise<Role> {
  const guid = crypto.randomUUID();
  const space = target.kind === "space";
  const targetExists = space
    ? sql`EXISTS (SELECT 1 FROM ${spaces} WHERE ${spaces.guid} = ${target.guid})`
    : sql`EXISTS (SELECT 1 FROM ${organizations} WHERE ${organizations.guid} = ${target.guid})`;
  const orgUser = space
    ? sql` AND EXISTS (SELECT 1 FROM ${roles} WHERE ${roles.userGuid} = ${user.guid} AND ${roles.type} = 'organization_user' AND ${roles.organizationGuid} = ${target.organizationGuid})`
    : sql``;
  const request = {
    type,
    relationships: {
      user: { data: { guid: user.guid } },
      [target.kind]: { data: { guid: target.guid } },
    },
  };
  try {
    const [, , [role]] = await db.batch([
      guard(db, sql`${targetExists}${orgUser}`, "role-target"),
      db.insert(users).values({ guid: user.guid, createdAt: timestamp() }).onConflictDoNothing({ target: users.guid }),
      db.insert(roles).values({
        guid, type, userGuid: user.guid,
        organizationGuid: space ? null : target.guid,
        spaceGuid: space ? target.guid : null,
        createdAt: timestamp(),
      }).returning(),
      auditEventInsert(db, {
        type: `audit.user.${type}_add`, actor: who, actee: { guid: user.guid, type: "user", name: user.username ?? "" },
        spaceGuid: space ? target.guid : null, organizationGuid: target.organizationGuid, data: { request },
      }),
    ]);
    return role!;
  } catch (err) {
    if (isUniqueViolation(err, "roles")) {
      throw unprocessable(`User '${user.username ?? user.guid}' already has '${type}' role in ${target.kind} '${target.name}'.`);
    }
    if (isGuardFailure(err, "role-target")) {
      throw space ? spaceUserMissing() : unprocessable("Invalid organization. Ensure that the organization exists and you have access to it.");
    }
    throw err;
  }
}

export const ORG_USER_IN_USE = "Cannot delete organization_user role while user has roles in spaces in that organization.";

/** Whether the user holds a role in a space of the organization (an organization_user role then stays). */
export async function hasSpaceRolesInOrg(db: Db, userGuid: string, orgGuid: string): Promise<boolean> {
  const [row] = await db.select({ n: sql<number>`1` }).from(roles)
    .where(and(eq(roles.userGuid, userGuid), sql`${roles.spaceGuid} IN (SELECT ${spaces.guid} FROM ${spaces} WHERE ${spaces.organizationGuid} = ${orgGuid})`))
    .limit(1);
  return row !== undefined;
}

/**
 * Deletes the role with its audit event in one batch. An organization_user role is deleted only
 * while the user has no space role in that organization (decided in the same statement).
 */
export async function deleteRole(db: Db, who: Identity, role: Role, organizationGuid: string | null): Promise<void> {
  const user: User | undefined = await findUser(db, role.userGuid);
  const conditions: SQL[] = [eq(roles.guid, role.guid)];
  if (role.type === "organization_user" && role.organizationGuid) {
    conditions.push(sql`NOT EXISTS (SELECT 1 FROM ${roles} AS r2 WHERE r2.user_guid = ${role.userGuid} AND r2.space_guid IN (SELECT ${spaces.guid} FROM ${spaces} WHERE ${spaces.organizationGuid} = ${role.organizationGuid}))`);
  }
  const [deleted, [event]] = await db.batch([
    db.delete(roles).where(and(...conditions)).returning({ guid: roles.guid }),
    auditEventInsert(db, {
      type: `audit.user.${role.type}_remove`, actor: who, actee: { guid: role.userGuid, type: "user", name: user?.username ?? "" },
      spaceGuid: role.spaceGuid, organizationGuid, data: { request: {} },
    }).returning({ guid: auditEvents.guid }),
  ]);
  if (deleted.length === 0) {
    // Nothing was deleted (gone meanwhile, or a space role appeared): the event must not stay either.
    if (event) await db.delete(auditEvents).where(eq(auditEvents.guid, event.guid));
    if (role.type === "organization_user") throw unprocessable(ORG_USER_IN_USE);
  }
}

