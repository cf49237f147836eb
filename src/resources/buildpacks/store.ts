// Buildpack records in D1, shared by v2 and v3.
//
// Positions form one list 1..n per lifecycle (the reference's Sequel `plugin :list, scope: :lifecycle` in
// app/models/runtime/buildpack.rb). D1 has no interactive transactions, so every change of positions is
// ONE batch of statements whose targets are computed in SQL from the rows as they are when the batch runs
// (MAX(position), the row's own position), never from values read earlier: concurrent writers serialize
// on D1 and the list stays 1..n.
//
// Preconditions that a batch depends on (the row still exists, its stack did not change, a stack
// still exists, the bits were not replaced meanwhile) are checked by a guard statement at the start
// of the batch: it fails (rolling the whole batch back, audit event included) when the condition does
// not hold, and the caller re-reads to say why.
import { and, asc, count, desc, eq, gt, gte, isNull, ne, or, sql, type SQL } from "drizzle-orm";
import type { Identity } from "../../auth/token";
import { auditEventInsert } from "../../audit/events";
import { timestamp, type Db } from "../../db/client";
import { buildpacks, stacks, type Buildpack } from "../../db/schema";
import { pageWindow } from "../../http/pagination";
import type { ListParams } from "../../http/query";
import { labelSelectorCondition } from "../../metadata";
import { guard, isGuardFailure, isUniqueViolation, runBatch, type Statement } from "../../db/batch";
import { allOf, commonConditions, inList } from "../../db/lists";
import { firstRowOf, type Reads } from "../../db/reads";
import { metadataColumns, pageWithMetadata, type MetadataColumnValues, type PageWithMetadata } from "../../metadata/store";
import type { V2Filter, V2ListQuery } from "./schema";

export const findBuildpack = (db: Db, guid: string) => db.query.buildpacks.findFirst({ where: eq(buildpacks.guid, guid) });

/** The buildpack, as reads for the caller's batch. */
export const buildpackLookup = (db: Db, guid: string) => firstRowOf(db.select().from(buildpacks).where(eq(buildpacks.guid, guid)));

export async function stackExists(db: Db, name: string): Promise<boolean> {
  const row = await db.select({ id: stacks.id }).from(stacks).where(eq(stacks.name, name)).limit(1);
  return row.length > 0;
}

// ---------------------------------------------------------------------------------------------
// Failures a write can end in; the routes turn them into their API's errors.

type WriteFailure =
  /** (name, stack, lifecycle) is taken (the unique index, NULL stacks included). */
  | "name-taken"
  /** The stack named does not exist (or was deleted meanwhile). */
  | "stack-missing"
  /** The buildpack already has another stack. */
  | "stack-changed"
  | "not-found"
  | "locked"
  /** The bits were replaced by a concurrent upload; the caller may try again. */
  | "bits-changed";

export class BuildpackWriteError extends Error {
  constructor(readonly reason: WriteFailure) {
    super(`buildpack write failed: ${reason}`);
  }
}


const isNameTaken = (err: unknown) =>
  isUniqueViolation(err, "buildpacks_name_stack_lifecycle_idx") || isUniqueViolation(err, "buildpacks.name");

const stackCondition = (stack: string | null | undefined): SQL =>
  stack == null ? sql`1` : sql`EXISTS (SELECT 1 FROM stacks s WHERE s.name = ${stack})`;

export interface AuditContext {
  actor: Identity;
  /** e.g. "audit.buildpack.update" */
  type: string;
  data?: Record<string, unknown>;
}

function audit(db: Db, ctx: AuditContext, guid: string, name: string) {
  return auditEventInsert(db, {
    type: ctx.type,
    actor: ctx.actor,
    actee: { guid, type: "buildpack", name },
    spaceGuid: null,
    organizationGuid: null,
    ...(ctx.data ? { data: ctx.data } : {}),
  });
}

/** Runs a batch; guard and unique-index failures become WriteFailures (guard → `onGuard`). */
async function runGuarded<T extends Statement>(db: Db, statements: T[], onGuard: () => Promise<WriteFailure>) {
  try {
    return await runBatch(db, statements);
  } catch (err) {
    if (isNameTaken(err)) throw new BuildpackWriteError("name-taken");
    if (isGuardFailure(err)) throw new BuildpackWriteError(await onGuard());
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Positions

/**
 * `move_to(requested)` of the row `guid` within its lifecycle, as one statement. UPDATE ... FROM
 * computes every new value from one snapshot (current position, last position) before writing.
 */
function moveStatement(db: Db, guid: string, requested: number): Statement {
  const snapshot = sql`(SELECT b.guid AS guid, b.lifecycle AS lifecycle, b.position AS cur,
      MIN(MAX(${requested}, 1), (SELECT MAX(b2.position) FROM buildpacks b2 WHERE b2.lifecycle = b.lifecycle)) AS target
    FROM buildpacks b WHERE b.guid = ${guid}) AS m`;
  return db.update(buildpacks)
    .set({
      position: sql`CASE WHEN buildpacks.guid = m.guid THEN m.target
        WHEN m.target < m.cur THEN buildpacks.position + 1
        ELSE buildpacks.position - 1 END`,
    })
    .from(snapshot)
    .where(sql`buildpacks.lifecycle = m.lifecycle AND m.target <> m.cur AND (
      buildpacks.guid = m.guid
      OR (m.target < m.cur AND buildpacks.position >= m.target AND buildpacks.position < m.cur)
      OR (m.target > m.cur AND buildpacks.position > m.cur AND buildpacks.position <= m.target))`);
}

// ---------------------------------------------------------------------------------------------
// Create

interface NewBuildpack {
  name: string;
  stack: string | null;
  lifecycle: string;
  /** Any integer: <= 1 is the top, beyond the end is the end. */
  position: number;
  enabled: boolean;
  locked: boolean;
}

/**
 * Inserts a buildpack at `position` in its lifecycle list, shifting the rows at and below it, with
 * `extra` statements (metadata) and the audit event, all in one batch.
 */
export async function createBuildpack(
  db: Db,
  input: NewBuildpack,
  extra: (guid: string) => Statement[],
  auditCtx: AuditContext,
): Promise<Buildpack> {
  const guid = crypto.randomUUID();
  const requested = Math.max(-1, Math.min(input.position, Number.MAX_SAFE_INTEGER));
  const insert = db.insert(buildpacks).values({
    guid,
    name: input.name,
    stack: input.stack,
    lifecycle: input.lifecycle,
    // The place it lands: min(max(requested, 1), n + 1), n counted now, in the batch.
    position: sql`MIN(MAX(${requested}, 1), COALESCE((SELECT MAX(b.position) FROM buildpacks b WHERE b.lifecycle = ${input.lifecycle}), 0) + 1)`,
    enabled: input.enabled,
    locked: input.locked,
    createdAt: timestamp(),
  }).returning();
  const shift = db.update(buildpacks)
    .set({ position: sql`${buildpacks.position} + 1` })
    .where(and(
      eq(buildpacks.lifecycle, input.lifecycle),
      ne(buildpacks.guid, guid),
      gte(buildpacks.position, sql`(SELECT b.position FROM buildpacks b WHERE b.guid = ${guid})`),
    ));
  const results = await runGuarded(
    db,
    [guard(db, stackCondition(input.stack)), insert, shift, ...extra(guid), audit(db, auditCtx, guid, input.name)],
    async () => "stack-missing",
  );
  const [row] = results[1] as Buildpack[];
  return row!;
}

// ---------------------------------------------------------------------------------------------
// Update

interface BuildpackChanges {
  name?: string;
  /** Sets the stack only while it is null (a stack never changes once set). */
  stack?: string;
  position?: number;
  enabled?: boolean;
  locked?: boolean;
}

/**
 * Applies `changes` to the buildpack `current` (as read by the caller) in one batch: the move, the
 * fields (updated_at always bumped), `extra` statements (metadata) and the audit event. The guard
 * makes the batch fail when the row is gone, its stack was set meanwhile, or the new stack is gone.
 */
export async function updateBuildpack(
  db: Db,
  current: Buildpack,
  changes: BuildpackChanges,
  extra: Statement[],
  auditCtx: AuditContext,
): Promise<Buildpack> {
  const guid = current.guid;
  if (changes.stack !== undefined && current.stack !== null && current.stack !== changes.stack) {
    throw new BuildpackWriteError("stack-changed");
  }
  const newStack = changes.stack !== undefined && current.stack === null ? changes.stack : undefined;
  const precondition = and(
    sql`EXISTS (SELECT 1 FROM buildpacks b WHERE b.guid = ${guid} AND ${newStack === undefined ? sql`1` : sql`(b.stack IS NULL OR b.stack = ${newStack})`})`,
    stackCondition(newStack),
  )!;
  const update = db.update(buildpacks)
    .set({
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(newStack !== undefined ? { stack: sql`COALESCE(${buildpacks.stack}, ${newStack})` } : {}),
      ...(changes.enabled !== undefined ? { enabled: changes.enabled } : {}),
      ...(changes.locked !== undefined ? { locked: changes.locked } : {}),
      updatedAt: timestamp(),
    })
    .where(eq(buildpacks.guid, guid))
    .returning();
  const statements: Statement[] = [guard(db, precondition)];
  if (changes.position !== undefined) statements.push(moveStatement(db, guid, changes.position));
  statements.push(update, ...extra, audit(db, auditCtx, guid, changes.name ?? current.name));
  const results = await runGuarded(db, statements, async () => {
    const now = await findBuildpack(db, guid);
    if (!now) return "not-found";
    if (newStack !== undefined && now.stack !== null && now.stack !== newStack) return "stack-changed";
    return "stack-missing";
  });
  const [row] = results[changes.position !== undefined ? 2 : 1] as Buildpack[];
  return row!;
}

// ---------------------------------------------------------------------------------------------
// Delete

/**
 * Deletes the buildpack and closes the gap in its list, with `extra` statements (metadata) and the
 * audit event, in one batch. Resolves to the R2 key of its bits (null when it had none), which
 * the caller deletes; "not-found" when it is already gone.
 */
export async function deleteBuildpack(db: Db, current: Buildpack, extra: Statement[], auditCtx: AuditContext): Promise<string | null> {
  const guid = current.guid;
  const shift = db.update(buildpacks)
    .set({ position: sql`${buildpacks.position} - 1` })
    .where(and(
      eq(buildpacks.lifecycle, current.lifecycle),
      gt(buildpacks.position, sql`(SELECT b.position FROM buildpacks b WHERE b.guid = ${guid})`),
    ));
  const remove = db.delete(buildpacks).where(eq(buildpacks.guid, guid)).returning({ bitsKey: buildpacks.bitsKey });
  const results = await runGuarded(
    db,
    [guard(db, sql`EXISTS (SELECT 1 FROM buildpacks b WHERE b.guid = ${guid})`), shift, remove, ...extra, audit(db, auditCtx, guid, current.name)],
    async () => "not-found",
  );
  const [removed] = results[2] as { bitsKey: string | null }[];
  return removed?.bitsKey ?? null;
}

// ---------------------------------------------------------------------------------------------
// Bits

interface NewBits {
  key: string;
  sha256: string;
  filename: string;
  /** The stack the bits' manifest names, if any (set only while the buildpack has none). */
  stack?: string;
}

/**
 * Points the buildpack at new bits, provided it is unlocked and its bits are still `current.bitsKey`
 * (a compare-and-swap: of two concurrent uploads one wins, the other learns "bits-changed").
 */
export async function replaceBits(db: Db, current: Buildpack, bits: NewBits, auditCtx: AuditContext): Promise<Buildpack> {
  const guid = current.guid;
  const precondition = and(
    sql`EXISTS (SELECT 1 FROM buildpacks b WHERE b.guid = ${guid} AND b.locked = 0 AND b.bits_key IS ${current.bitsKey})`,
    stackCondition(bits.stack),
  )!;
  const update = db.update(buildpacks)
    .set({
      bitsKey: bits.key,
      sha256: bits.sha256,
      filename: bits.filename,
      ...(bits.stack !== undefined ? { stack: sql`COALESCE(${buildpacks.stack}, ${bits.stack})` } : {}),
      updatedAt: timestamp(),
    })
    .where(eq(buildpacks.guid, guid))
    .returning();
  const results = await runGuarded(db, [guard(db, precondition), update, audit(db, auditCtx, guid, current.name)], async () => {
    const now = await findBuildpack(db, guid);
    if (!now) return "not-found";
    if (now.locked) return "locked";
    if (now.bitsKey !== current.bitsKey) return "bits-changed";
    return "stack-missing";
  });
  const [row] = results[1] as Buildpack[];
  return row!;
}

// ---------------------------------------------------------------------------------------------
// Lists

/** v3 list (BuildpacksListMessage) with the page's metadata, as reads for the caller's batch. */
export function buildpackList(db: Db, params: ListParams): Reads<PageWithMetadata<Buildpack>> {
  const conditions: (SQL | undefined)[] = commonConditions(params, buildpacks);
  if (params.lists.names) conditions.push(inList(buildpacks.name, params.lists.names));
  if (params.lists.stacks) {
    // An empty element means "no stack".
    const named = params.lists.stacks.filter((s) => s !== "");
    const wantsNull = named.length < params.lists.stacks.length;
    conditions.push(or(named.length > 0 ? inList(buildpacks.stack, named) : undefined, wantsNull ? isNull(buildpacks.stack) : undefined) ?? sql`0`);
  }
  if (params.values.lifecycle) conditions.push(eq(buildpacks.lifecycle, params.values.lifecycle));
  if (params.values.label_selector !== undefined) {
    conditions.push(labelSelectorCondition("buildpack", buildpacks.guid, params.values.label_selector));
  }
  const where = allOf(conditions);
  const { limit, offset } = pageWindow(params);
  const ordering = v3Order(params);
  return pageWithMetadata(
    db.select({ n: count() }).from(buildpacks).where(where),
    db.select({ row: buildpacks, ...metadataColumns("buildpack", buildpacks.guid) }).from(buildpacks).where(where).orderBy(...ordering).limit(limit).offset(offset),
    (r: { row: Buildpack } & MetadataColumnValues) => r.row,
  );
}

function v3Order(params: ListParams): SQL[] {
  const order = params.orderBy;
  if (!order) return [asc(buildpacks.lifecycle), asc(buildpacks.position), asc(buildpacks.guid)];
  const dir = order.direction === "desc" ? desc : asc;
  switch (order.field) {
    case "lifecycle": return [dir(buildpacks.lifecycle), dir(buildpacks.position), dir(buildpacks.guid)];
    case "position": return [dir(buildpacks.position), dir(buildpacks.guid)];
    case "updated_at": return [dir(buildpacks.updatedAt), dir(buildpacks.guid)];
    default: return [dir(buildpacks.createdAt), dir(buildpacks.guid)];
  }
}

const v2Columns = { name: buildpacks.name, stack: buildpacks.stack, lifecycle: buildpacks.lifecycle } as const;

const v2Operators: Record<V2Filter["op"], string> = { ":": "=", ">=": ">=", "<=": "<=", "<": "<", ">": ">", " IN ": "IN" };

/**
 * The AND of the v2 conditions. Conditions on the same key with the same operator are one condition
 * binding ONE JSON list ("no value in the list fails"), so any number of repeated `q`s stays within
 * D1's 100 bound parameters and SQLite's expression depth of 100.
 */
function v2Where(filters: readonly V2Filter[]): SQL | undefined {
  const groups = new Map<string, V2Filter[]>();
  for (const f of filters) groups.set(`${f.key}${f.op}`, [...(groups.get(`${f.key}${f.op}`) ?? []), f]);
  return allOf([...groups.values()].map((group) => {
    const { key, op } = group[0]!;
    const column = v2Columns[key];
    // A row without the value (a buildpack without a stack) matches no condition on it.
    if (op === " IN ") {
      const lists = JSON.stringify(group.map((f) => f.values));
      return sql`${column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM json_each(${lists}) AS f WHERE ${column} NOT IN (SELECT value FROM json_each(f.value)))`;
    }
    const values = JSON.stringify(group.map((f) => f.values[0] ?? ""));
    return sql`${column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM json_each(${values}) AS f WHERE NOT (${column} ${sql.raw(v2Operators[op])} f.value))`;
  }));
}

/**
 * v2 list (BuildpacksController, ordered as its dataset is): lifecycle, position, then id in the
 * requested direction.
 */
export async function listBuildpacksV2(db: Db, query: V2ListQuery): Promise<{ total: number; rows: Buildpack[] }> {
  const where = v2Where(query.filters);
  const [[totals], rows] = await db.batch([
    db.select({ n: count() }).from(buildpacks).where(where),
    db.select().from(buildpacks).where(where)
      .orderBy(asc(buildpacks.lifecycle), asc(buildpacks.position), query.direction === "desc" ? desc(buildpacks.id) : asc(buildpacks.id))
      .limit(query.perPage).offset((query.page - 1) * query.perPage),
  ]);
  return { total: totals?.n ?? 0, rows };
}

/** Every R2 key a buildpack refers to, among `keys` (for the orphan sweep). */
export async function referencedBitsKeys(db: Db, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await db.select({ key: buildpacks.bitsKey }).from(buildpacks).where(inList(buildpacks.bitsKey, keys));
  return new Set(rows.map((r) => r.key).filter((k): k is string => k !== null));
}
