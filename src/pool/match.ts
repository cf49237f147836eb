// POST /v3/resource_matches: which of the files a client lists the pool already holds, in ONE D1
// statement whatever the list's length (the list bound as one JSON value and read through json_each),
// where the reference asks its blobstore once per file (lib/cloud_controller/resource_match.rb).
import { sql } from "drizzle-orm";
import type { Identity } from "../auth/token";
import type { Db } from "../db/client";
import { resourcePool } from "../db/schema";
import type { Bindings } from "../env";
import { poolSettings, sizeEligible, type PoolSettings } from "./config";
import { usableScopes } from "./store";

/** One entry as the client sent it (validated by the route). */
export interface ResourceDescriptor {
  path?: unknown;
  mode?: string;
  checksum: { value: string };
  size_in_bytes: number;
}

/**
 * Whether an entry can match at all: the size window (both bounds strict) and a mode granting at
 * least 0600 numerically (`mode.to_i(8) >= 0o600`); a missing mode is the upload's default 0744
 * (lib/cloud_controller/blobstore/fingerprints_collection.rb).
 */
export function matchable(settings: PoolSettings, r: ResourceDescriptor): boolean {
  return sizeEligible(settings, r.size_in_bytes) && (r.mode === undefined || parseInt(r.mode, 8) >= 0o600);
}

/** The entries of `resources` that `who` could use from the pool, in the order sent. */
export async function matchResources(db: Db, env: Bindings, who: Identity, resources: readonly ResourceDescriptor[]): Promise<ResourceDescriptor[]> {
  const settings = poolSettings(env);
  const candidates = resources.filter((r) => matchable(settings, r));
  if (candidates.length === 0) return [];
  // Sorted, so that consecutive probes of the index land on the same pages.
  const sha1s = [...new Set(candidates.map((r) => r.checksum.value))].sort();
  const [row] = await matchStatement(db, env, who, sha1s);
  const held = new Set((JSON.parse(row?.held ?? "[]") as number[]).map((i) => sha1s[i]));
  return candidates.filter((r) => held.has(r.checksum.value));
}

/**
 * The one statement (also what the bench explains): the positions in `sha1s` of those a usable scope
 * holds, one probe per SHA-1 of the covering index on (sha1, scope), answered as one row (a JSON array
 * of small integers rather than thousands of rows of digests).
 */
export const matchStatement = (db: Db, env: Bindings, who: Identity, sha1s: readonly string[]) =>
  db.select({ held: sql<string>`json_group_array(listed.key)` }).from(sql`json_each(${JSON.stringify(sha1s)}) AS listed`)
    .where(sql`EXISTS (SELECT 1 FROM ${resourcePool} WHERE ${resourcePool.sha1} = listed.value AND ${usableScopes(env, who)})`);
