// Labels and annotations in D1. D1 has no interactive transactions, so writes are returned as
// statements for the caller to run in ONE `db.batch([...])` together with its own insert, update or
// delete: the resource and its metadata then change atomically. Every statement binds at most 100
// parameters (D1's limit); multi-row inserts and IN lists are chunked.
//
// Count limits (the reference's LabelsUpdate and AnnotationsUpdate in app/actions/, with
// max_labels_per_resource and max_annotations_per_resource): a write may not make a resource's labels
// (annotations) more than 50 (200), unless it does not make their number grow. On patch the current keys
// are read first and the reference's error is thrown before anything is written. Because that read is not
// in the batch, a concurrent patch could slip past it; a guard statement at the end of the batch closes
// the gap: it fails (rolling the whole batch back) when the count after the batch breaks the rule, and
// `MetadataPatch.rethrow` turns that failure into the same reference error.
import { and, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { guard, isGuardFailure, runBatch, type AnyDb, type Statement } from "../db/batch";
import { runReads, type Reads } from "../db/reads";
import { annotations, labels } from "../db/schema";
import { ApiError, unprocessable } from "../http/errors";
import { extractPrefix, renderKey } from "./keys";
import { DEFAULT_METADATA_LIMITS, MAX_BOUND_PARAMETERS, type Metadata, type MetadataLimits, type MetadataResourceType } from "./types";
import type { MetadataUpdate } from "./validate";

type MetadataDb = AnyDb;

type MetadataTable = typeof labels | typeof annotations;

/** A key as stored: prefix ("" when none) and name. */
interface StoredKey {
  prefix: string;
  name: string;
}
interface Change extends StoredKey {
  /** null deletes. */
  value: string | null;
}

const keyId = (k: StoredKey): string => `${k.prefix}/${k.name}`;

/** The request's entries as stored keys; when two keys land on the same row the last one wins, as in the reference. */
function changes(record: Readonly<Record<string, string | null>> | undefined): Map<string, Change> {
  const out = new Map<string, Change>();
  for (const [key, value] of Object.entries(record ?? {})) {
    const [prefix, name] = extractPrefix(key);
    const change = { prefix: prefix ?? "", name, value };
    out.delete(keyId(change)); // the survivor takes the later place, as a later write would
    out.set(keyId(change), change);
  }
  return out;
}

const requestSize = (record: Readonly<Record<string, string | null>> | undefined): number => Object.keys(record ?? {}).length;

const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

// Parameters per statement: an upserted row binds 5; a deleted key 2 (+2 for type and guid); a guid 1 (+1 for type).
const UPSERT_ROWS = Math.floor(MAX_BOUND_PARAMETERS / 5);
const DELETE_KEYS = Math.floor((MAX_BOUND_PARAMETERS - 2) / 2);
const GUIDS_PER_STATEMENT = MAX_BOUND_PARAMETERS - 1;

function upserts(db: MetadataDb, table: MetadataTable, type: MetadataResourceType, guid: string, rows: readonly Change[]): Statement[] {
  return chunk(rows, UPSERT_ROWS).map((part) =>
    db
      .insert(table)
      .values(part.map((r) => ({ resourceType: type, resourceGuid: guid, keyPrefix: r.prefix, keyName: r.name, value: r.value })))
      .onConflictDoUpdate({ target: [table.resourceGuid, table.keyPrefix, table.keyName], set: { value: sql`excluded.value` } }),
  );
}

function keyDeletes(db: MetadataDb, table: MetadataTable, type: MetadataResourceType, guid: string, keys: readonly StoredKey[]): Statement[] {
  return chunk(keys, DELETE_KEYS).map((part) =>
    db
      .delete(table)
      .where(
        and(
          eq(table.resourceType, type),
          eq(table.resourceGuid, guid),
          or(...part.map((k) => and(eq(table.keyPrefix, k.prefix), eq(table.keyName, k.name)))),
        ),
      ),
  );
}

/**
 * The most one resource's annotations may take as stored: the bytes of the JSON text that
 * `metadataColumns` reads back with each list row. D1 refuses a value, or a row, over 2,000,000 bytes;
 * 200 annotations of 5,000 characters could take 6 MB (a control character is 6 bytes in JSON), and
 * one resource would then fail every list page it is on. Labels take at most about 25 KB (50 ASCII
 * keys and values), a resource's own columns a few KB.
 */
export const MAX_ANNOTATION_BYTES = 1_000_000;
const annotationsTooLarge = () =>
  unprocessable(`Metadata annotations of one resource may not take more than ${MAX_ANNOTATION_BYTES} bytes`);

/** An upper bound of the bytes of `s` as SQLite's JSON functions write it (quoted; `"` and `\` 2 bytes, control characters 6, others UTF-8). */
function jsonStringBytes(s: string): number {
  let n = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) n += 2;
    else if (c < 0x20) n += 6;
    else if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** `["prefix","name","value"]`: one entry of the stored JSON, at most. */
const entryBytes = (c: Change): number => 4 + jsonStringBytes(c.prefix) + jsonStringBytes(c.name) + jsonStringBytes(c.value ?? "");
/** `[e1,e2,...]` of entries of the given sizes. */
const arrayBytes = (entries: Iterable<number>): number => {
  let n = 2;
  let count = 0;
  for (const e of entries) {
    n += e;
    count++;
  }
  return n + Math.max(0, count - 1);
};

/** The exact bytes of the resource's annotations as `metadataColumns` reads them, as SQL. */
const storedAnnotationBytes = (type: MetadataResourceType, guid: string) =>
  sql`length(CAST((SELECT json_group_array(json_array(${annotations.keyPrefix}, ${annotations.keyName}, ${annotations.value})) FROM ${annotations} WHERE ${annotations.resourceType} = ${type} AND ${annotations.resourceGuid} = ${guid}) AS BLOB))`;

/** Fails the batch when the resource has more than `threshold` rows in `table` at this point of it. */
function limitGuard(db: MetadataDb, table: MetadataTable, type: MetadataResourceType, guid: string, threshold: number): Statement {
  const count = sql`(SELECT count(*) FROM ${table} WHERE ${table.resourceType} = ${type} AND ${table.resourceGuid} = ${guid})`;
  return guard(db, sql`${count} <= ${threshold}`, `metadata-limit-${table === labels ? "labels" : "annotations"}`);
}

function labelLimit(metadata: MetadataUpdate, limits: MetadataLimits): ApiError {
  return new ApiError("LabelLimitExceeded", requestSize(metadata.labels), limits.maxLabels);
}
function annotationLimit(metadata: MetadataUpdate, limits: MetadataLimits): ApiError {
  return new ApiError("AnnotationLimitExceeded", requestSize(metadata.annotations), limits.maxAnnotations);
}

/**
 * Statements that write a NEW resource's metadata (`null` values are no-ops). Throws the reference's
 * CF-LabelLimitExceeded / CF-AnnotationLimitExceeded (422) when the request alone is over a limit.
 * Reads nothing; `[]` when there is nothing to write.
 */
export function metadataCreateStatements(
  db: MetadataDb,
  resourceType: MetadataResourceType,
  guid: string,
  metadata: MetadataUpdate | undefined,
  limits: MetadataLimits = DEFAULT_METADATA_LIMITS,
): Statement[] {
  if (!metadata) return [];
  const setLabels = [...changes(metadata.labels).values()].filter((c) => c.value !== null);
  const setAnnotations = [...changes(metadata.annotations).values()].filter((c) => c.value !== null);
  if (setLabels.length > limits.maxLabels) throw labelLimit(metadata, limits);
  if (setAnnotations.length > limits.maxAnnotations) throw annotationLimit(metadata, limits);
  if (arrayBytes(setAnnotations.map(entryBytes)) > MAX_ANNOTATION_BYTES) throw annotationsTooLarge();
  return [...upserts(db, labels, resourceType, guid, setLabels), ...upserts(db, annotations, resourceType, guid, setAnnotations)];
}

/** What a patch writes, and how to read a failure of the batch that ran it. */
export interface MetadataPatch {
  /** Deletes (for `null` values) and upserts, plus limit guards; `[]` when the request changes nothing. */
  readonly statements: Statement[];
  /**
   * For `.catch()` on the batch: when one of this patch's guards failed (a concurrent write pushed the
   * count over a limit) throws the reference's limit error; otherwise rethrows `err` unchanged.
   */
  readonly rethrow: (err: unknown) => never;
}

/**
 * Reads the resource's current keys, checks the count limits (throwing the reference's 422 before
 * anything is written), and returns the statements that apply a PATCH: `null` deletes a key, a string
 * sets it, keys not named are untouched.
 */
export async function prepareMetadataPatch(
  db: MetadataDb,
  resourceType: MetadataResourceType,
  guid: string,
  metadata: MetadataUpdate | undefined,
  limits: MetadataLimits = DEFAULT_METADATA_LIMITS,
): Promise<MetadataPatch> {
  const passthrough = (err: unknown): never => {
    throw err;
  };
  if (!metadata) return { statements: [], rethrow: passthrough };

  const parts = [
    { table: labels, kind: "labels" as const, changes: changes(metadata.labels), max: limits.maxLabels, error: () => labelLimit(metadata, limits) },
    { table: annotations, kind: "annotations" as const, changes: changes(metadata.annotations), max: limits.maxAnnotations, error: () => annotationLimit(metadata, limits) },
  ].filter((p) => p.changes.size > 0);
  if (parts.length === 0) return { statements: [], rethrow: passthrough };

  const reads = parts.map((p) =>
    db
      .select({ prefix: p.table.keyPrefix, name: p.table.keyName, bytes: sql<number>`length(CAST(json_array(${p.table.keyPrefix}, ${p.table.keyName}, ${p.table.value}) AS BLOB))` })
      .from(p.table)
      .where(and(eq(p.table.resourceType, resourceType), eq(p.table.resourceGuid, guid))),
  );
  const existing = await runBatch(db, reads);

  const statements: Statement[] = [];
  const guards: { kind: "labels" | "annotations" | "annotation-bytes"; error: () => ApiError }[] = [];
  parts.forEach((p, i) => {
    const current = new Set((existing[i] ?? []).map(keyId));
    const after = new Set(current);
    const deletes: StoredKey[] = [];
    const sets: Change[] = [];
    for (const c of p.changes.values()) {
      if (c.value === null) {
        after.delete(keyId(c));
        deletes.push(c); // even if not read: a concurrent write may have added it since
      } else {
        after.add(keyId(c));
        sets.push(c);
      }
    }
    // The reference's rule: an error only when the count grows and ends above the maximum.
    if (after.size > current.size && after.size > p.max) throw p.error();
    statements.push(...keyDeletes(db, p.table, resourceType, guid, deletes), ...upserts(db, p.table, resourceType, guid, sets));
    if (sets.some((c) => !current.has(keyId(c)))) {
      statements.push(limitGuard(db, p.table, resourceType, guid, Math.max(p.max, current.size)));
      guards.push({ kind: p.kind, error: p.error });
    }
    if (p.kind === "annotations" && sets.length > 0) {
      // The size bound, by the same rule: refused when the annotations grow and end above it.
      const bytes = new Map((existing[i] ?? []).map((r) => [keyId(r), r.bytes]));
      const before = arrayBytes(bytes.values());
      for (const c of deletes) bytes.delete(keyId(c));
      for (const c of sets) bytes.set(keyId(c), entryBytes(c));
      const estimate = arrayBytes(bytes.values());
      if (estimate > before && estimate > MAX_ANNOTATION_BYTES) throw annotationsTooLarge();
      // A concurrent patch may have added some since the read: the batch checks what it leaves.
      statements.push(guard(db, sql`${storedAnnotationBytes(resourceType, guid)} <= ${Math.max(MAX_ANNOTATION_BYTES, before)}`, "metadata-annotation-bytes"));
      guards.push({ kind: "annotation-bytes", error: annotationsTooLarge });
    }
  });

  const rethrow = (err: unknown): never => {
    for (const g of guards) if (isGuardFailure(err, g.kind === "annotation-bytes" ? "metadata-annotation-bytes" : `metadata-limit-${g.kind}`)) throw g.error();
    throw err;
  };
  return { statements, rethrow };
}

/** Statements deleting every label and annotation of the given resources (for the caller's delete batch). */
export function metadataDeleteStatements(
  db: MetadataDb,
  resourceType: MetadataResourceType,
  guids: string | readonly string[],
): Statement[] {
  const list = typeof guids === "string" ? [guids] : [...new Set(guids)];
  return [labels, annotations].flatMap((table) =>
    chunk(list, GUIDS_PER_STATEMENT).map((part) =>
      db.delete(table).where(and(eq(table.resourceType, resourceType), inArray(table.resourceGuid, part))),
    ),
  );
}

/** Deletes the labels and annotations of the resources of one type that a subquery selects. */
export function metadataDeletesIn(db: MetadataDb, resourceType: MetadataResourceType, guids: SQL): Statement[] {
  return [labels, annotations].map((table) =>
    db.delete(table).where(and(eq(table.resourceType, resourceType), sql`${table.resourceGuid} IN (${guids})`)));
}

type MetadataRow = { guid: string; prefix: string; name: string; value: string | null };

/**
 * Loading as reads for the caller's batch (src/db/reads.ts), so that a resource and its metadata come
 * in one round trip. The map holds every given guid (`{}` objects when it has none). Keys are
 * "prefix/name" or "name", in the order they were first set.
 */
export function metadataReads(db: MetadataDb, resourceType: MetadataResourceType, guids: readonly string[]): Reads<Map<string, Metadata>> {
  const unique = [...new Set(guids)];
  const tables = [
    { table: labels, kind: "labels" as const },
    { table: annotations, kind: "annotations" as const },
  ];
  const queries = tables.flatMap(({ table, kind }) =>
    chunk(unique, GUIDS_PER_STATEMENT).map((part) => ({
      kind,
      query: db
        .select({ guid: table.resourceGuid, prefix: table.keyPrefix, name: table.keyName, value: table.value })
        .from(table)
        // `+` keeps the planner off labels_lookup_idx (resource_type, ...), which would walk every label
        // of the type: the primary key (resource_guid, ...) finds just these resources'.
        .where(and(sql`+${table.resourceType} = ${resourceType}`, inArray(table.resourceGuid, part)))
        .orderBy(sql`rowid`),
    })),
  );
  return {
    statements: queries.map((q) => q.query),
    read: (results) => {
      const found = new Map<string, { labels: [string, string][]; annotations: [string, string][] }>();
      for (const g of unique) found.set(g, { labels: [], annotations: [] });
      results.forEach((rows, i) => {
        const kind = queries[i]!.kind;
        for (const row of rows as MetadataRow[]) found.get(row.guid)?.[kind].push([renderKey(row.prefix, row.name), row.value ?? ""]);
      });
      const out = new Map<string, Metadata>();
      for (const [g, m] of found) out.set(g, { labels: Object.fromEntries(m.labels), annotations: Object.fromEntries(m.annotations) });
      return out;
    },
  };
}

/** What `metadataColumns` adds to each row. */
export interface MetadataColumnValues {
  metadataLabels: string;
  metadataAnnotations: string;
}

/**
 * A resource's metadata as two columns of the query that selects it (correlated subqueries on its guid
 * column, each a JSON array of [prefix, name, value] in the order the keys were first set): a list's
 * page brings its metadata in the same statement, without evaluating the page a second time (which,
 * for a deep OFFSET, would walk the skipped rows again). Read them with `metadataFromColumns`.
 */
export function metadataColumns(resourceType: MetadataResourceType, guid: SQLiteColumn) {
  const of = (table: MetadataTable) => sql<string>`(SELECT json_group_array(json_array(${table.keyPrefix}, ${table.keyName}, ${table.value}) ORDER BY ${table}.rowid)
    FROM ${table} WHERE ${table.resourceGuid} = ${guid} AND +${table.resourceType} = ${resourceType})`;
  // Aliased: a batch answers rows as objects keyed by column name.
  return { metadataLabels: of(labels).as("metadata_labels"), metadataAnnotations: of(annotations).as("metadata_annotations") };
}

/** The metadata from the columns `metadataColumns` added to a row. */
export function metadataFromColumns(row: MetadataColumnValues): Metadata {
  const entries = (json: string) =>
    (JSON.parse(json) as [string, string, string | null][]).map(([prefix, name, value]): [string, string] => [renderKey(prefix, name), value ?? ""]);
  return { labels: Object.fromEntries(entries(row.metadataLabels)), annotations: Object.fromEntries(entries(row.metadataAnnotations)) };
}

/** A list's page, each row with its metadata. */
export interface PageWithMetadata<Row> {
  total: number;
  rows: { row: Row; metadata: Metadata }[];
}

/**
 * A list as reads for the caller's batch: `counted` selects `{ n }`, `page` selects the row's fields
 * and `...metadataColumns(...)`; `rowOf` takes the resource out of a page row.
 */
export function pageWithMetadata<R extends MetadataColumnValues, Row>(
  counted: Statement,
  page: Statement,
  rowOf: (r: R) => Row,
): Reads<PageWithMetadata<Row>> {
  return {
    statements: [counted, page],
    read: (results) => ({
      total: (results[0] as { n: number }[])[0]?.n ?? 0,
      rows: (results[1] as R[]).map((r) => ({ row: rowOf(r), metadata: metadataFromColumns(r) })),
    }),
  };
}

/**
 * The metadata of each given resource, keyed by guid; every requested guid is in the map (with `{}`
 * objects when it has none). Keys are "prefix/name" or "name", in the order they were first set.
 * One round trip, however many guids.
 */
export async function loadMetadata(
  db: MetadataDb,
  resourceType: MetadataResourceType,
  guids: readonly string[],
): Promise<Map<string, Metadata>> {
  const [metadata] = await runReads(db, metadataReads(db, resourceType, guids));
  return metadata;
}

/** The metadata of one resource. */
export async function loadOneMetadata(
  db: MetadataDb,
  resourceType: MetadataResourceType,
  guid: string,
): Promise<Metadata> {
  return (await loadMetadata(db, resourceType, [guid])).get(guid) ?? { labels: {}, annotations: {} };
}


