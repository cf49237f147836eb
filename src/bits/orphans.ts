// Objects no record refers to. They are left by a request that died between storing bits and
// recording them, and by a delete whose R2 calls failed after the records were gone (an app, space
// or organization delete; a package delete). The scheduled sweep (src/housekeeping.ts) removes them.
import { deleteBits } from "./store";

interface OrphanSweep {
  /** The key prefix to sweep, e.g. "packages/". */
  prefix: string;
  /** Of the given keys, those a record refers to. */
  referenced: (keys: string[]) => Promise<Set<string>>;
  /** Only objects older than this are candidates: a request may still be about to record a new one. Default 1 hour. */
  olderThanMs?: number;
  /** Where this pass starts: after this key, wrapping around to the prefix's first key. Default: the first key. */
  startAfter?: string;
  /** Most keys looked at in one pass (in listings of 500). Default 5,000. */
  maxKeys?: number;
  now?: number;
}

const LISTING = 500;

/**
 * Deletes the objects under `prefix` that are older than `olderThanMs` and not referenced. One pass
 * looks at up to `maxKeys` keys, from `startAfter` to the end of the prefix and then from its start
 * back to `startAfter`; a bucket with more keys is covered by passes that start at different places
 * (the sweep starts each at a random one). Returns the number of objects deleted.
 */
export async function sweepOrphanedBits(bucket: R2Bucket, sweep: OrphanSweep): Promise<number> {
  const { prefix, referenced, olderThanMs = 60 * 60 * 1000, startAfter, maxKeys = 5000, now = Date.now() } = sweep;
  let budget = maxKeys;
  let deleted = 0;
  // Two stretches: (startAfter, end], then [start, startAfter].
  const stretches: { after: string | undefined; upTo: string | undefined }[] =
    startAfter === undefined ? [{ after: undefined, upTo: undefined }] : [{ after: startAfter, upTo: undefined }, { after: undefined, upTo: startAfter }];
  for (const { after, upTo } of stretches) {
    let cursor: string | undefined;
    for (;;) {
      if (budget <= 0) return deleted;
      const listing = await bucket.list({
        prefix,
        limit: Math.min(LISTING, budget),
        ...(cursor !== undefined ? { cursor } : after !== undefined ? { startAfter: after } : {}),
      });
      const objects = upTo === undefined ? listing.objects : listing.objects.filter((o) => o.key <= upTo);
      budget -= listing.objects.length;
      const old = objects.filter((o) => now - o.uploaded.getTime() > olderThanMs).map((o) => o.key);
      if (old.length > 0) {
        const keep = await referenced(old);
        const orphans = old.filter((k) => !keep.has(k));
        if (orphans.length > 0) await deleteBits(bucket, orphans);
        deleted += orphans.length;
      }
      if (!listing.truncated || objects.length < listing.objects.length) break;
      cursor = listing.cursor;
    }
  }
  return deleted;
}

/** A random place in a key space of lower-case hex guids under `prefix`: where a sweep pass starts. */
export function randomStart(prefix: string): string {
  const [byte] = crypto.getRandomValues(new Uint8Array(1));
  return `${prefix}${(byte as number).toString(16).padStart(2, "0")}`;
}
