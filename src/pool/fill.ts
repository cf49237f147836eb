// Filling the pool, off the request path: when a package becomes READY a message goes to the pool
// queue (POOL_QUEUE); this Worker's queue() handler reads the package's zip (its central directory,
// then each eligible entry by a ranged read), and pools each eligible file the package's scope does
// not hold yet. An entry is verified before it is pooled: inflated, its size and CRC-32 checked against
// the central directory, its SHA-1 computed from the inflated bytes; one that fails is never pooled.
// Its compressed bytes are then copied as they are to `pool/<scope>/<sha1>`, and the row written after
// the object, with the package as the entry's source (its key, etag and the data's offset). Entries
// skipped by CRC-32 and size are not given this package as source (their SHA-1 is not known unread);
// assembly records its own package as the source of the pool files it wrote. Work per message is
// bounded (FILL_BUDGET); a continuation message takes the rest.
import { and, eq } from "drizzle-orm";
import { database, timestamp, type Db } from "../db/client";
import { resourcePool } from "../db/schema";
import type { Bindings } from "../env";
import { BitsChangedError, BitsNotFoundError, hex, openBitsReader } from "../bits/store";
import { crc32, inspectZip, isSymlink, ZipError, type ZipEntry } from "../bits/zip";
import { poolSettings, sizeEligible, type PoolSettings } from "./config";
import { markPooled, packageToPool } from "./packages";
import { inJsonList, pooledByCrc, poolKey, poolScopeOf, recordPooled, recordSources, type PoolEntry } from "./store";

/** The queue's message: pool the package's eligible files from the `from`-th on (in offset order). */
export interface PoolMessage {
  packageGuid: string;
  from?: number;
}

export interface FillBudget {
  /** Entries verified per message: each is one or two R2 reads and one put (Workers limit subrequests). */
  entries: number;
  /** Compressed bytes verified per message (CPU: each is inflated and hashed); at least one entry is. */
  bytes: number;
}

export const FILL_BUDGET: FillBudget = { entries: 25, bytes: 128 * 1024 * 1024 };
/** Entries looked up at once by CRC-32 and size before reading any (one statement). */
const LOOKUP_WINDOW = 500;

const LOCAL_SIZE = 30;
const SIG_LOCAL = 0x04034b50;

/** Sends the message that pools a READY package. A failure is logged, not raised: the sweep sends it again. */
export async function announceReady(queue: Queue<PoolMessage>, packageGuid: string): Promise<void> {
  try {
    await queue.send({ packageGuid });
  } catch (err) {
    console.error("pool: could not queue package", packageGuid, err instanceof Error ? err.message : String(err));
  }
}

export interface FillResult {
  /** Entries written to the pool by this message. */
  pooled: number;
  /** Entries verified and already in the pool (their last use bumped). */
  known: number;
  /** Entries that failed verification (never pooled). */
  corrupt: number;
  /** Where a continuation message starts, when one was sent. */
  next?: number;
}

const isMessage = (body: unknown): body is PoolMessage =>
  typeof body === "object" && body !== null && typeof (body as PoolMessage).packageGuid === "string"
  && ((body as PoolMessage).from === undefined || Number.isSafeInteger((body as PoolMessage).from));

/** The queue() handler: each message on its own; one that throws (R2 or D1 failed) is retried. */
export async function consumePoolMessages(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  for (const message of batch.messages) {
    if (!isMessage(message.body)) {
      message.ack();
      continue;
    }
    try {
      await fillFromPackage(env, message.body);
      message.ack();
    } catch (err) {
      console.error("pool: filling failed", message.body.packageGuid, err instanceof Error ? err.message : String(err));
      message.retry();
    }
  }
}

/** Where an entry's bytes are in the package object, with what verification needs. */
interface Candidate {
  entry: ZipEntry;
  /** Where the next entry's local header (or the central directory) starts: the entry's bytes end before. */
  end: number;
}

/** Entries the pool takes: files (no directories, no symlinks), stored or deflated, not encrypted, in the size window. */
export const poolable = (settings: PoolSettings, e: ZipEntry): boolean =>
  !e.isDirectory && !isSymlink(e) && (e.method === 0 || e.method === 8) && (e.flags & 1) === 0 && sizeEligible(settings, e.uncompressedSize);

/** Pools what one message asks for; see the module comment. */
export async function fillFromPackage(env: Bindings, message: PoolMessage, budget: FillBudget = FILL_BUDGET): Promise<FillResult> {
  const db = database(env.DB);
  const result: FillResult = { pooled: 0, known: 0, corrupt: 0 };
  const pkg = await packageToPool(db, message.packageGuid);
  if (!pkg || pkg.state !== "READY" || pkg.bitsKey === null || pkg.pooledAt !== null) return result;
  const settings = poolSettings(env);
  const scope = poolScopeOf(env, pkg.organizationGuid);
  const reader = await openBitsReader(env.BITS, pkg.bitsKey);
  if (reader === null) {
    await markPooled(db, pkg.guid, timestamp());
    return result;
  }

  const offsets: number[] = [];
  const eligible: ZipEntry[] = [];
  let cdStart: number;
  try {
    const summary = await inspectZip(reader, {
      onEntry: (e) => {
        offsets.push(e.localHeaderOffset);
        if (poolable(settings, e)) eligible.push(e);
      },
    });
    cdStart = summary.centralDirectoryOffset;
  } catch (err) {
    if (isGone(err)) return result;
    if (!(err instanceof ZipError)) throw err;
    // READY packages passed the zip check; one that fails now has nothing the pool can take.
    await markPooled(db, pkg.guid, timestamp());
    return result;
  }
  offsets.sort((a, b) => a - b);
  eligible.sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  const endOf = (offset: number): number => {
    // The first local header after `offset` (binary search), else the central directory.
    let lo = 0;
    let hi = offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((offsets[mid] as number) <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < offsets.length ? (offsets[lo] as number) : cdStart;
  };

  // Entries the scope already holds by CRC-32 and size are not read at all (a repeat push's files):
  // a different file with the same CRC-32 and size is then not pooled, which costs a future upload, never correctness.
  const from = Math.max(0, message.from ?? 0);
  const window = eligible.slice(from, from + LOOKUP_WINDOW);
  const held = await pooledByCrc(db, scope, window.map((e) => ({ crc32: e.crc32, size: e.uncompressedSize })));
  const chosen: Candidate[] = [];
  let bytes = 0;
  let next = from;
  for (const entry of window) {
    const isHeld = held.has(`${entry.crc32}:${entry.uncompressedSize}`);
    if (!isHeld) {
      if (chosen.length >= budget.entries || (chosen.length > 0 && bytes + entry.compressedSize > budget.bytes)) break;
      chosen.push({ entry, end: endOf(entry.localHeaderOffset) });
      bytes += entry.compressedSize;
    }
    next++;
  }

  try {
    await poolChosen(env, db, reader.key, reader.etag, scope, pkg.guid, chosen, result);
  } catch (err) {
    if (isGone(err)) return result;
    throw err;
  }

  if (next < eligible.length) {
    await env.POOL_QUEUE.send({ packageGuid: pkg.guid, from: next } satisfies PoolMessage);
    result.next = next;
  } else {
    await markPooled(db, pkg.guid, timestamp());
  }
  return result;
}

/** Verifies the chosen entries, copies the new ones, then records them: an object is always written before its row. */
async function poolChosen(env: Bindings, db: Db, key: string, etag: string, scope: string, packageGuid: string, chosen: readonly Candidate[], result: FillResult): Promise<void> {
  const verified = new Map<string, { entry: PoolEntry; dataStart: number }>();
  for (const c of chosen) {
    const v = await verifyEntry(env.BITS, key, etag, c);
    if (v === null) {
      result.corrupt++;
      console.error("pool: entry fails verification, not pooled", packageGuid, c.entry.name);
      continue;
    }
    verified.set(v.sha1, {
      dataStart: v.dataStart,
      entry: { scope, sha1: v.sha1, size: c.entry.uncompressedSize, compressedSize: c.entry.compressedSize, crc32: c.entry.crc32, method: c.entry.method === 8 ? 8 : 0 },
    });
  }
  const existing = await pooledSha1s(db, scope, [...verified.keys()]);
  for (const [sha1, v] of verified) {
    if (existing.has(sha1)) {
      result.known++;
      continue;
    }
    await copyEntry(env.BITS, key, etag, v.dataStart, v.entry);
    result.pooled++;
  }
  await recordPooled(db, [...verified.values()].map((v) => v.entry));
  // The package holds each verified entry's bytes where its data starts: assembly may read them there.
  await recordSources(db, key, etag, [...verified.values()].map((v) => ({ scope, sha1: v.entry.sha1, offset: v.dataStart })));
}

/** The package's object went away (deleted, expired) or changed: nothing to pool, and not worth a retry. */
const isGone = (err: unknown): boolean => err instanceof BitsNotFoundError || err instanceof BitsChangedError;

async function pooledSha1s(db: Db, scope: string, sha1s: readonly string[]): Promise<Set<string>> {
  if (sha1s.length === 0) return new Set();
  const rows = await db.select({ sha1: resourcePool.sha1 }).from(resourcePool)
    .where(and(eq(resourcePool.scope, scope), inJsonList(resourcePool.sha1, sha1s)));
  return new Set(rows.map((r) => r.sha1));
}

/**
 * Reads one entry (local header and data, one ranged read pinned to the object's etag), inflates it
 * and checks its size and CRC-32 against the central directory; its SHA-1 and where its data starts,
 * or null when it fails (corrupt: never pooled). R2's own failures are raised (the message is retried).
 */
async function verifyEntry(bucket: R2Bucket, key: string, etag: string, c: Candidate): Promise<{ sha1: string; dataStart: number } | null> {
  const { entry } = c;
  const obj = await bucket.get(key, { range: { offset: entry.localHeaderOffset, length: c.end - entry.localHeaderOffset }, onlyIf: { etagMatches: etag } });
  if (obj === null) throw new BitsNotFoundError(key);
  if (!("body" in obj)) throw new BitsChangedError(key);
  const source = obj.body.getReader();
  let crc = 0;
  let size = 0;
  const digest = new crypto.DigestStream("SHA-1");
  const hashWriter = digest.getWriter();
  const take = async (plain: Uint8Array) => {
    size += plain.length;
    if (size > entry.uncompressedSize) throw new Corrupt();
    crc = crc32(plain, crc);
    await hashWriter.write(plain);
  };
  // Deflated data goes through an inflater whose output is read at the same time (no deadlock on
  // backpressure); its failure (bad deflate data, more bytes than recorded) is corruption.
  const inflater = entry.method === 8 ? new DecompressionStream("deflate-raw") : null;
  const inflateWriter = inflater?.writable.getWriter();
  let inflateFailed = false;
  const inflated = inflater && (async () => {
    const out = inflater.readable.getReader();
    for (;;) {
      const { done, value } = await out.read();
      if (done) return;
      await take(value);
    }
  })().catch((err: unknown) => {
    inflateFailed = true;
    void inflateWriter?.abort(err).catch(() => undefined);
  });

  let header: Uint8Array | null = new Uint8Array(0);
  let dataStart = 0;
  let remaining = entry.compressedSize;
  try {
    while (remaining > 0 && !inflateFailed) {
      const { done, value } = await source.read();
      if (done) return null;
      let chunk: Uint8Array = value;
      if (header !== null) {
        header = concat(header, chunk);
        if (header.length < LOCAL_SIZE) continue;
        const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
        if (view.getUint32(0, true) !== SIG_LOCAL) return null;
        const headerLength = LOCAL_SIZE + view.getUint16(26, true) + view.getUint16(28, true);
        if (header.length < headerLength) continue;
        dataStart = entry.localHeaderOffset + headerLength;
        chunk = header.subarray(headerLength);
        header = null;
      }
      const data = chunk.subarray(0, Math.min(chunk.length, remaining));
      remaining -= data.length;
      if (data.length === 0) continue;
      if (inflateWriter) await inflateWriter.write(data).catch(() => undefined);
      else await take(data);
    }
    if (inflateWriter) {
      await inflateWriter.close().catch(() => undefined);
      await inflated;
      if (inflateFailed) return null;
    }
    await hashWriter.close();
    if (size !== entry.uncompressedSize || crc !== entry.crc32) return null;
    return { sha1: hex(await digest.digest), dataStart };
  } catch (err) {
    if (err instanceof Corrupt) return null;
    throw err;
  } finally {
    await source.cancel().catch(() => undefined);
    if (inflateWriter && !inflateFailed) await inflateWriter.abort().catch(() => undefined);
    await hashWriter.abort().catch(() => undefined);
  }
}

class Corrupt extends Error {}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Copies the entry's compressed bytes as they are to its pool object (one ranged read, one put of known length). */
async function copyEntry(bucket: R2Bucket, key: string, etag: string, dataStart: number, entry: PoolEntry): Promise<void> {
  const obj = await bucket.get(key, { range: { offset: dataStart, length: entry.compressedSize }, onlyIf: { etagMatches: etag } });
  if (obj === null) throw new BitsNotFoundError(key);
  if (!("body" in obj)) throw new BitsChangedError(key);
  const fixed = new FixedLengthStream(entry.compressedSize);
  const piping = obj.body.pipeTo(fixed.writable);
  await Promise.all([bucket.put(poolKey(entry.scope, entry.sha1), fixed.readable), piping]);
}
