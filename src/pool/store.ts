// The resource pool's records (table resource_pool, src/db/schema.ts) and R2 keys: what matching,
// filling, assembly and the sweep share. Every lookup of a list is ONE statement with the list bound
// as one JSON value and read through json_each, whatever its length (D1 binds at most 100 parameters).
import { and, eq, sql, type SQL } from "drizzle-orm";
import type { Identity } from "../auth/token";
import { isAdmin } from "../auth/permissions";
import { timestamp, type Db } from "../db/client";
import { organizations, resourcePool, roles, spaces } from "../db/schema";
import type { Bindings } from "../env";
import { poolKey } from "../bits/keys";
import { poolSettings } from "./config";

export interface PoolEntry {
  scope: string;
  sha1: string;
  size: number;
  compressedSize: number;
  crc32: number;
  method: 0 | 8;
  /** A package object holding the same compressed bytes, if one is known (see PoolSource). */
  source?: PoolSource;
}

/** Where a pool entry's compressed bytes also lie: a package object (pinned to its etag) and their offset in it. */
export interface PoolSource {
  key: string;
  etag: string;
  offset: number;
}

export const GLOBAL_SCOPE = "global";

export { poolKey };

/** The scope a package of this organization pools into: the org guid, or "global". */
export function poolScopeOf(env: Bindings, organizationGuid: string): string {
  return poolSettings(env).scope === "global" ? GLOBAL_SCOPE : organizationGuid;
}

/**
 * The scopes whose entries `who` may use, as a condition on a scope column.
 * Under "global": the global scope. Under "organization": the organizations where `who` may upload
 * package bits, by the package upload's rule (auth/permissions.ts: space developer in one of its
 * spaces, the organization not suspended); admins: every organization (not the global scope, whose
 * entries only remain from a time the pool was global). So nobody learns whether an organization
 * they cannot upload into holds a file.
 */
export function usableScopes(env: Bindings, who: Identity, scope: SQL | typeof resourcePool.scope = resourcePool.scope): SQL {
  if (poolSettings(env).scope === "global") return sql`${scope} = ${GLOBAL_SCOPE}`;
  if (isAdmin(who)) return sql`${scope} <> ${GLOBAL_SCOPE}`;
  return sql`${scope} IN (SELECT ${spaces.organizationGuid} FROM ${roles}
    INNER JOIN ${spaces} ON ${spaces.guid} = ${roles.spaceGuid}
    INNER JOIN ${organizations} ON ${organizations.guid} = ${spaces.organizationGuid}
    WHERE ${roles.userGuid} = ${who.guid} AND ${roles.type} = 'space_developer' AND ${organizations.suspended} = 0)`;
}

/** `value IN (the JSON list)`, one bound parameter. */
export const inJsonList = (column: SQL | typeof resourcePool.sha1, values: readonly string[]): SQL =>
  sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;

type EntryRow = { scope: string; sha1: string; size: number; compressedSize: number; crc32: number; method: number; sourceKey: string | null; sourceEtag: string | null; sourceOffset: number | null };

const toEntry = (row: EntryRow): PoolEntry => ({
  scope: row.scope, sha1: row.sha1, size: row.size, compressedSize: row.compressedSize, crc32: row.crc32, method: row.method === 8 ? 8 : 0,
  ...(row.sourceKey !== null && row.sourceEtag !== null && row.sourceOffset !== null
    ? { source: { key: row.sourceKey, etag: row.sourceEtag, offset: row.sourceOffset } }
    : {}),
});

const entryColumns = {
  scope: resourcePool.scope,
  sha1: resourcePool.sha1,
  size: resourcePool.size,
  compressedSize: resourcePool.compressedSize,
  crc32: resourcePool.crc32,
  method: resourcePool.method,
  sourceKey: resourcePool.sourceKey,
  sourceEtag: resourcePool.sourceEtag,
  sourceOffset: resourcePool.sourceOffset,
};

/**
 * Pool entries an upload into a package of organization `organizationGuid` by `who` may use, by SHA-1,
 * in ONE D1 round trip. Preference: the package's own scope; else (organization scope only) any other
 * organization in which `who` may upload package bits (admins: any). Under `global`: the global scope.
 */
export async function pooledForUpload(db: Db, env: Bindings, who: Identity, organizationGuid: string, sha1s: readonly string[]): Promise<Map<string, PoolEntry>> {
  const found = new Map<string, PoolEntry>();
  if (sha1s.length === 0) return found;
  const own = poolScopeOf(env, organizationGuid);
  const usable = usableScopes(env, who);
  const rows = await db.select(entryColumns).from(resourcePool)
    .where(and(inJsonList(resourcePool.sha1, [...new Set(sha1s)]), sql`(${resourcePool.scope} = ${own} OR ${usable})`))
    // The package's own scope first; the first row per SHA-1 wins.
    .orderBy(sql`${resourcePool.scope} = ${own} DESC`);
  for (const row of rows) if (!found.has(row.sha1)) found.set(row.sha1, toEntry(row));
  return found;
}

/** Bumps last_used_at (one statement, JSON-bound list); the assembler calls it after a successful package. */
export async function touchPooled(db: Db, entries: readonly PoolEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const keys = JSON.stringify(entries.map((e) => [e.scope, e.sha1]));
  await db.update(resourcePool).set({ lastUsedAt: timestamp() })
    .where(sql`(${resourcePool.scope}, ${resourcePool.sha1}) IN (SELECT value ->> 0, value ->> 1 FROM json_each(${keys}))`);
}

/**
 * Records that the package object `key` (etag `etag`) holds these entries' compressed bytes, each at
 * its offset: the newest package wins, so a repeat push reads the previous push's package. One
 * statement per 5,000 entries (the list bound as one JSON value); an entry gone meanwhile is skipped.
 */
export async function recordSources(db: Db, key: string, etag: string, entries: readonly { scope: string; sha1: string; offset: number }[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 5000) {
    const rows = JSON.stringify(entries.slice(i, i + 5000).map((e) => [e.scope, e.sha1, e.offset]));
    await db.run(sql`UPDATE ${resourcePool} SET source_key = ${key}, source_etag = ${etag}, source_offset = j.value ->> 2
      FROM json_each(${rows}) AS j WHERE ${resourcePool.scope} = j.value ->> 0 AND ${resourcePool.sha1} = j.value ->> 1`);
  }
}

/** Removes a corrupt or missing entry: the row first (so no match offers it), then the object. */
export async function removePooled(db: Db, bucket: R2Bucket, entry: Pick<PoolEntry, "scope" | "sha1">): Promise<void> {
  await db.delete(resourcePool).where(and(eq(resourcePool.scope, entry.scope), eq(resourcePool.sha1, entry.sha1)));
  await bucket.delete(poolKey(entry.scope, entry.sha1));
}

/**
 * Records entries whose objects are written (filling): one statement; an entry already there (another
 * fill of the same file) keeps its row and only counts as used.
 */
export async function recordPooled(db: Db, entries: readonly PoolEntry[], now = timestamp()): Promise<void> {
  if (entries.length === 0) return;
  const rows = JSON.stringify(entries.map((e) => [e.scope, e.sha1, e.size, e.compressedSize, e.crc32, e.method]));
  await db.run(sql`INSERT INTO ${resourcePool} (scope, sha1, size, compressed_size, crc32, method, created_at, last_used_at)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, ${now}, ${now} FROM json_each(${rows}) WHERE true
    ON CONFLICT (scope, sha1) DO UPDATE SET last_used_at = excluded.last_used_at`);
}

/**
 * Of `candidates` (crc32 and size, from a zip's central directory), those the scope already holds, as
 * "crc32:size"; they count as used (a package holds them again), so pruning keeps them. One statement.
 */
export async function pooledByCrc(db: Db, scope: string, candidates: readonly { crc32: number; size: number }[], now = timestamp()): Promise<Set<string>> {
  if (candidates.length === 0) return new Set();
  const list = JSON.stringify(candidates.map((c) => [c.crc32, c.size]));
  const rows = await db.update(resourcePool).set({ lastUsedAt: now })
    .where(and(eq(resourcePool.scope, scope), sql`(${resourcePool.crc32}, ${resourcePool.size}) IN (SELECT value ->> 0, value ->> 1 FROM json_each(${list}))`))
    .returning({ crc32: resourcePool.crc32, size: resourcePool.size });
  return new Set(rows.map((r) => `${r.crc32}:${r.size}`));
}

/** Entries unused since before `cutoff` (a timestamp), oldest first. */
export const idleEntries = (db: Db, cutoff: string, limit: number) =>
  db.select({ scope: resourcePool.scope, sha1: resourcePool.sha1, lastUsedAt: resourcePool.lastUsedAt }).from(resourcePool)
    .where(sql`${resourcePool.lastUsedAt} < ${cutoff}`).orderBy(resourcePool.lastUsedAt).limit(limit);

/** Deletes the rows of `entries` still unused since before `cutoff` (a concurrent use keeps its entry); those deleted. */
export async function deleteIdle(db: Db, entries: readonly Pick<PoolEntry, "scope" | "sha1">[], cutoff: string): Promise<Pick<PoolEntry, "scope" | "sha1">[]> {
  if (entries.length === 0) return [];
  const keys = JSON.stringify(entries.map((e) => [e.scope, e.sha1]));
  return db.delete(resourcePool)
    .where(and(sql`(${resourcePool.scope}, ${resourcePool.sha1}) IN (SELECT value ->> 0, value ->> 1 FROM json_each(${keys}))`, sql`${resourcePool.lastUsedAt} < ${cutoff}`))
    .returning({ scope: resourcePool.scope, sha1: resourcePool.sha1 });
}

