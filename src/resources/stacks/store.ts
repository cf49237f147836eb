import { and, asc, count, eq, sql, type SQL } from "drizzle-orm";
import { timestamp, type Db } from "../../db/client";
import { annotations, apps, labels, stacks, type Stack } from "../../db/schema";
import { unprocessable } from "../../http/errors";
import { pageWindow } from "../../http/pagination";
import type { ListParams } from "../../http/query";
import { labelSelectorCondition } from "../../metadata";
import { guard, isGuardFailure, runBatch, type Statement } from "../../db/batch";
import { allOf, commonConditions, inList, orderBy } from "../../db/lists";
import { firstRowOf, type Reads } from "../../db/reads";
import { metadataColumns, pageWithMetadata, type MetadataColumnValues, type PageWithMetadata } from "../../metadata/store";
import type { StackCreate, StackUpdate } from "./schema";

export const findStack = (db: Db, guid: string) => db.query.stacks.findFirst({ where: eq(stacks.guid, guid) });
/** The stack, as reads for the caller's batch. */
export const stackLookup = (db: Db, guid: string) => firstRowOf(db.select().from(stacks).where(eq(stacks.guid, guid)));

/** A page with its metadata, as reads for the caller's batch. */
export function stackList(db: Db, params: ListParams): Reads<PageWithMetadata<Stack>> {
  const conditions: (SQL | undefined)[] = commonConditions(params, stacks);
  if (params.lists.names) conditions.push(inList(stacks.name, params.lists.names));
  if (params.values.default) conditions.push(eq(stacks.isDefault, params.values.default === "true"));
  if (params.values.label_selector !== undefined) conditions.push(labelSelectorCondition("stack", stacks.guid, params.values.label_selector));
  const where = allOf(conditions);
  const { limit, offset } = pageWindow(params);
  const ordering = orderBy(params, { created_at: stacks.createdAt, updated_at: stacks.updatedAt, name: stacks.name }, stacks.id, [asc(stacks.id)]);
  return pageWithMetadata(
    db.select({ n: count() }).from(stacks).where(where),
    db.select({ row: stacks, ...metadataColumns("stack", stacks.guid) }).from(stacks).where(where).orderBy(...ordering).limit(limit).offset(offset),
    (r: { row: Stack } & MetadataColumnValues) => r.row,
  );
}

/**
 * Inserts a stack with its metadata (`extra`, given the new guid) in one batch; undefined when the
 * name is taken (the unique index decides, not a prior read; the metadata statements then write
 * nothing, as they are guarded on the stack's row existing).
 */
export async function createStack(db: Db, input: StackCreate, extra: (guid: string) => Statement[]): Promise<Stack | undefined> {
  const guid = crypto.randomUUID();
  const insert = db.insert(stacks).values({
    guid,
    name: input.name,
    description: input.description ?? null,
    buildRootfsImage: input.build_rootfs_image ?? null,
    runRootfsImage: input.run_rootfs_image ?? null,
    state: input.state ?? "ACTIVE",
    stateReason: input.state_reason ?? null,
    createdAt: timestamp(),
  }).onConflictDoNothing({ target: stacks.name }).returning();
  // When the insert did nothing, the metadata rows would belong to no stack: drop them again.
  const orphaned = sql`NOT EXISTS (SELECT 1 FROM stacks s WHERE s.guid = ${guid})`;
  const cleanup = (statements: Statement[]) => statements.length === 0 ? [] : [labels, annotations].map((table) =>
    db.delete(table).where(and(eq(table.resourceType, "stack"), eq(table.resourceGuid, guid), orphaned)));
  const metadata = extra(guid);
  const [rows] = await runBatch(db, [insert, ...metadata, ...cleanup(metadata)]);
  return (rows as Stack[])[0];
}

/** Bumps updated_at, sets the state and its reason when given, and applies metadata statements, in one batch. */
export async function touchStack(db: Db, guid: string, input: StackUpdate, extra: Statement[]): Promise<Stack | undefined> {
  const set: Partial<typeof stacks.$inferInsert> = { updatedAt: timestamp() };
  if (input.state !== undefined) set.state = input.state;
  if (input.state_reason !== undefined) set.stateReason = input.state_reason;
  const update = db.update(stacks).set(set).where(eq(stacks.guid, guid)).returning();
  const [rows] = await runBatch(db, [update, ...extra]);
  return (rows as Stack[])[0];
}

/** The buildpack apps whose lifecycle names the stack `name` (an SQL expression). */
const appsOnStack = (name: SQL) =>
  sql`SELECT 1 FROM ${apps} WHERE ${apps.lifecycleType} = 'buildpack' AND json_extract(${apps.lifecycleData}, '$.stack') = ${name}`;

/**
 * Deletes the stack and `extra` (its metadata) in one batch; false when it was already gone. The
 * batch first checks that no app uses the stack (an app created meanwhile is seen: one transaction);
 * when one does, nothing is deleted and the reference's 422 is thrown (stacks_controller.rb#destroy).
 */
export async function deleteStack(db: Db, stack: Stack, extra: Statement[]): Promise<boolean> {
  const unused = guard(db, sql`NOT EXISTS (${appsOnStack(sql`${stack.name}`)})`, "stack-in-use");
  try {
    const [, rows] = await runBatch(db, [unused, db.delete(stacks).where(eq(stacks.guid, stack.guid)).returning({ guid: stacks.guid }), ...extra]);
    return (rows as { guid: string }[]).length > 0;
  } catch (err) {
    if (isGuardFailure(err, "stack-in-use")) throw unprocessable(`Cannot delete stack '${stack.name}' because apps are currently using the stack.`);
    throw err;
  }
}
