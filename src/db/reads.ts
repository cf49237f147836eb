// Reads in ONE D1 round trip. A request's reads come in parts (the resource, the access facts of its
// space, its metadata, a list's count and page); each part is some statements and a function that makes
// its value from their results. `runReads` sends every part's statements in one `db.batch` and hands each
// part its own results. A round trip costs far more than a small statement (bench/README.md, request
// path), and one batch is one transaction, so the parts also see the same snapshot.
// Mind: D1 answers a batch's rows as objects keyed by column name, so a statement in a batch must not
// select two columns of the same name (a join's `guid`s): alias one (`sql\`...\`.as("...")`).
import { runBatch, type AnyDb, type Statement } from "./batch";

/** A part of a request's reads: statements for the batch, and how to read their results (in order). */
export interface Reads<T> {
  readonly statements: readonly Statement[];
  readonly read: (results: readonly unknown[]) => T;
}

type Values<P extends readonly Reads<unknown>[]> = { -readonly [K in keyof P]: P[K] extends Reads<infer T> ? T : never };

/** Runs every part's statements in one batch; each part's value, in the order given. */
export async function runReads<P extends readonly Reads<unknown>[]>(db: AnyDb, ...parts: P): Promise<Values<P>> {
  const results: readonly unknown[] = await runBatch(db, parts.flatMap((p) => p.statements));
  let at = 0;
  return parts.map((p) => {
    const own = results.slice(at, at + p.statements.length);
    at += p.statements.length;
    return p.read(own);
  }) as Values<P>;
}

type RowOf<S extends Statement> = S["_"]["result"] extends readonly (infer R)[] ? R : never;

/** The rows of one statement. */
export const rowsOf = <S extends Statement>(statement: S): Reads<RowOf<S>[]> => ({
  statements: [statement],
  read: (results) => (results[0] ?? []) as RowOf<S>[],
});

/** The first row of one statement (undefined when none). */
export const firstRowOf = <S extends Statement>(statement: S): Reads<RowOf<S> | undefined> => ({
  statements: [statement],
  read: (results) => ((results[0] ?? []) as RowOf<S>[])[0],
});

/** `reads` with its value changed by `f`. */
export const mapReads = <T, U>(reads: Reads<T>, f: (value: T) => U): Reads<U> => ({
  statements: reads.statements,
  read: (results) => f(reads.read(results)),
});
