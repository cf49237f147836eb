import { asc, count, eq, type SQL } from "drizzle-orm";
import { timestamp, type Db } from "../../db/client";
import { stacks, type Stack } from "../../db/schema";
import { pageWindow } from "../../http/pagination";
import { allOf, commonConditions, inList, orderBy, type ListParams } from "../../http/query";
import type { StackCreate } from "./schema";

export const findStack = (db: Db, guid: string) => db.query.stacks.findFirst({ where: eq(stacks.guid, guid) });
export const findStackByName = (db: Db, name: string) => db.query.stacks.findFirst({ where: eq(stacks.name, name) });

export async function listStacks(db: Db, params: ListParams): Promise<{ total: number; rows: Stack[] }> {
  const conditions: (SQL | undefined)[] = commonConditions(params, stacks);
  if (params.lists.names) conditions.push(inList(stacks.name, params.lists.names));
  if (params.values.default) conditions.push(eq(stacks.isDefault, params.values.default === "true"));
  const where = allOf(conditions);
  const { limit, offset } = pageWindow(params);
  const [[totals], rows] = await db.batch([
    db.select({ n: count() }).from(stacks).where(where),
    db.select().from(stacks).where(where)
      .orderBy(...orderBy(params, { created_at: stacks.createdAt, updated_at: stacks.updatedAt, name: stacks.name }, stacks.id, [asc(stacks.id)]))
      .limit(limit).offset(offset),
  ]);
  return { total: totals?.n ?? 0, rows };
}

/** Inserts a stack; undefined when the name is taken (the unique index decides, not a prior read). */
export async function createStack(db: Db, input: StackCreate): Promise<Stack | undefined> {
  const rows = await db.insert(stacks).values({
    guid: crypto.randomUUID(),
    name: input.name,
    description: input.description ?? null,
    buildRootfsImage: input.build_rootfs_image ?? null,
    runRootfsImage: input.run_rootfs_image ?? null,
    createdAt: timestamp(),
  }).onConflictDoNothing({ target: stacks.name }).returning();
  return rows[0];
}

export async function deleteStack(db: Db, guid: string): Promise<boolean> {
  const rows = await db.delete(stacks).where(eq(stacks.guid, guid)).returning({ guid: stacks.guid });
  return rows.length > 0;
}
