import { and, asc, count, eq, sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { allOf, commonConditions, inList, orderBy } from "../../db/lists";
import { users, type User } from "../../db/schema";
import { unprocessable } from "../../http/errors";
import { pageWindow } from "../../http/pagination";
import type { ListParams } from "../../http/query";
import { labelSelectorCondition, type Metadata } from "../../metadata";
import { firstRowOf, mapReads, type Reads } from "../../db/reads";
import {
  metadataColumns, metadataFromColumns, pageWithMetadata, type MetadataColumnValues, type PageWithMetadata,
} from "../../metadata/store";

// Plain selects, not db.query: the relational builder aliases every column in the condition to its table.
/** The user `guid` if `visible` lets the caller see it, with its metadata. */
export function visibleUserReads(db: Db, guid: string, visible: SQL | undefined): Reads<{ user: User; metadata: Metadata } | undefined> {
  const statement = db.select({ user: users, ...metadataColumns("user", users.guid) }).from(users).where(and(eq(users.guid, guid), visible)).limit(1);
  return mapReads(firstRowOf(statement), (r) => r && { user: r.user, metadata: metadataFromColumns(r) });
}

export async function findUsersIn(db: Db, guids: readonly string[]): Promise<User[]> {
  if (guids.length === 0) return [];
  return db.select().from(users).where(inList(users.guid, guids));
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (ch) => `\\${ch}`);

/** A page of the users `visible` lets the caller see, each with its metadata, and their total. */
export function listUsersReads(db: Db, params: ListParams, visible: SQL | undefined): Reads<PageWithMetadata<User>> {
  if (params.lists.origins && !params.lists.usernames && !params.lists.partial_usernames) {
    throw unprocessable("Origins filter cannot be provided without usernames or partial_usernames filter.");
  }
  const conditions: (SQL | undefined)[] = [visible, ...commonConditions(params, users)];
  if (params.lists.usernames) conditions.push(inList(users.username, params.lists.usernames));
  if (params.lists.partial_usernames) {
    // Any of the patterns, bound as one JSON list (an OR chain would pass 100 parameters and SQLite's expression depth).
    const patterns = JSON.stringify(params.lists.partial_usernames.map((p) => `%${escapeLike(p)}%`));
    conditions.push(sql`EXISTS (SELECT 1 FROM json_each(${patterns}) AS p WHERE ${users.username} LIKE p.value ESCAPE '\\')`);
  }
  if (params.lists.origins) conditions.push(inList(users.origin, params.lists.origins));
  if (params.values.label_selector !== undefined) conditions.push(labelSelectorCondition("user", users.guid, params.values.label_selector));
  const where = allOf(conditions);
  const { limit, offset } = pageWindow(params);
  return pageWithMetadata(
    db.select({ n: count() }).from(users).where(where),
    db.select({ user: users, ...metadataColumns("user", users.guid) }).from(users).where(where)
      .orderBy(...orderBy(params, { created_at: users.createdAt, updated_at: users.updatedAt }, users.id, [asc(users.id)]))
      .limit(limit).offset(offset),
    (r: { user: User } & MetadataColumnValues) => r.user,
  );
}
