// The pool's part of the scheduled sweep (src/housekeeping.ts): READY packages whose pooling message
// was lost are queued again; entries unused for RESOURCE_POOL_MAX_IDLE_DAYS are pruned (row first, so
// no match offers an entry whose object is going, then the object); objects under pool/ that no row
// names (a fill that died between its put and its row) are deleted. Each step is bounded per run.
import { sql } from "drizzle-orm";
import { timestamp, type Db } from "../db/client";
import { resourcePool } from "../db/schema";
import type { Bindings } from "../env";
import { randomStart, sweepOrphanedBits } from "../bits/orphans";
import { deleteBits } from "../bits/store";
import { poolSettings } from "./config";
import type { PoolMessage } from "./fill";
import { unpooledPackages } from "./packages";
import { poolEntryOfKey, poolKey, POOL_PREFIX } from "../bits/keys";
import { deleteIdle, idleEntries } from "./store";

/** A READY package not pooled this long after it became READY lost its message (the queue delivers in seconds). */
export const LOST_MESSAGE_AFTER_MS = 15 * 60 * 1000;
/** Packages queued again per run (one sendBatch holds at most 100 messages). */
const REQUEUE_BATCH = 100;
/** Entries pruned per run (one R2 delete takes at most 1,000 keys). */
const PRUNE_BATCH = 1000;

export interface PoolSweepResult {
  requeued: number;
  pruned: number;
  orphansDeleted: number;
}

export async function sweepPool(db: Db, env: Bindings, now = Date.now(), orphansFrom = randomStart(POOL_PREFIX)): Promise<PoolSweepResult> {
  const lost = await unpooledPackages(db, timestamp(new Date(now - LOST_MESSAGE_AFTER_MS)), REQUEUE_BATCH);
  if (lost.length > 0) {
    await env.POOL_QUEUE.sendBatch(lost.map((p) => ({ body: { packageGuid: p.guid } satisfies PoolMessage })));
  }

  const cutoff = timestamp(new Date(now - poolSettings(env).maxIdleDays * 24 * 60 * 60 * 1000));
  const idle = await idleEntries(db, cutoff, PRUNE_BATCH);
  // Only those still idle when deleted: an entry used meanwhile stays, with its object.
  const pruned = await deleteIdle(db, idle, cutoff);
  if (pruned.length > 0) await deleteBits(env.BITS, pruned.map((e) => poolKey(e.scope, e.sha1)));

  const orphansDeleted = await sweepOrphanedBits(env.BITS, {
    prefix: POOL_PREFIX,
    referenced: (keys) => pooledKeys(db, keys),
    now,
    startAfter: orphansFrom,
  });
  return { requeued: lost.length, pruned: pruned.length, orphansDeleted };
}

/** Of the given pool keys, those a row names: one statement. */
async function pooledKeys(db: Db, keys: readonly string[]): Promise<Set<string>> {
  const pairs = keys.map(poolEntryOfKey).filter((e) => e !== undefined).map((e) => [e.scope, e.sha1]);
  if (pairs.length === 0) return new Set();
  const rows = await db.select({ scope: resourcePool.scope, sha1: resourcePool.sha1 }).from(resourcePool)
    .where(sql`(${resourcePool.scope}, ${resourcePool.sha1}) IN (SELECT value ->> 0, value ->> 1 FROM json_each(${JSON.stringify(pairs)}))`);
  return new Set(rows.map((r) => poolKey(r.scope, r.sha1)));
}
