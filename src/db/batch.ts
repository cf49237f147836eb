// Atomic writes on D1, which has no interactive transactions: a `db.batch([...])` runs as one
// transaction, so "check, then write" is expressed as statements inside the batch. A guard is a
// statement that raises when its condition is false, rolling back everything in the batch; the
// database's own constraints (UNIQUE, FOREIGN KEY) decide the rest. The verdicts are read here.
import { sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { DrizzleD1Database } from "drizzle-orm/d1";

/** Any Drizzle D1 handle (with or without a schema). */
export type AnyDb = DrizzleD1Database<Record<string, unknown>>;
export type Statement = BatchItem<"sqlite">;

/** Runs statements as one D1 batch (one transaction); nothing for `[]`, which `db.batch` refuses. */
export async function runBatch<T extends Statement>(db: AnyDb, statements: readonly T[]): Promise<T["_"]["result"][]> {
  if (statements.length === 0) return [];
  const [first, ...rest] = statements as [T, ...T[]];
  return (await db.batch([first, ...rest])) as T["_"]["result"][];
}

const GUARD_MARKER = "batch-guard-failed";

/**
 * A statement that fails the batch it is in unless `condition` holds when it runs. `reason` names the
 * guard for `isGuardFailure` when a batch has more than one. (SQLite raises from a SELECT only
 * through a function error: json_extract of a bad path; random() keeps it from being evaluated once
 * up front as a constant. A query builder, not db.run: drizzle 0.45 cannot bind a raw run in a batch.)
 */
export function guard(db: AnyDb, condition: SQL, reason = "guard"): Statement {
  const marker = `${GUARD_MARKER}:${reason}:`;
  return db
    .select({ ok: sql<number>`CASE WHEN ${condition} THEN 1 ELSE json_extract('{}', ${marker} || random()) END` })
    .from(sql`(SELECT 1) AS one`);
}

/** The messages of an error and its causes, where D1 puts SQLite's verdict. */
function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e != null && depth < 8; depth++) {
    if (!(e instanceof Error)) {
      parts.push(String(e));
      break;
    }
    parts.push(e.message);
    e = e.cause;
  }
  return parts.join("\n");
}

/** A guard of the batch failed (the one named `reason`, when given). */
export const isGuardFailure = (err: unknown, reason?: string): boolean =>
  errorText(err).includes(reason === undefined ? GUARD_MARKER : `${GUARD_MARKER}:${reason}:`);

/** A UNIQUE constraint named by `name` (a column such as "apps.name", or an index) was broken. */
export const isUniqueViolation = (err: unknown, name: string): boolean => {
  const text = errorText(err);
  return text.includes("UNIQUE constraint failed") && text.includes(name);
};

/** A FOREIGN KEY constraint was broken: the parent row went away meanwhile. */
export const isForeignKeyViolation = (err: unknown): boolean => errorText(err).includes("FOREIGN KEY constraint failed");
