// The bits store: package and buildpack bits in R2 (binding env.BITS).
//
// - putBits: a stream of unknown (or known, or expected) length into R2 with SHA-1 and SHA-256
//   computed on the way, a byte limit enforced as the bytes arrive, and nothing left behind on any
//   failure.
// - openBitsReader: ranged reads of a stored object (the zip checks read only its tail).
// - bitsResponse: a download Response honouring Range, If-Range and If-None-Match.
// - deleteBits, deleteBitsKeys, copyBits. The key layout is bits/keys.ts.
//
// Errors: BitsTooLargeError and BitsLengthMismatchError (input the caller must reject),
// BitsNotFoundError and BitsChangedError (ranged reads). An error of the source stream (for example
// the ApiError of a broken multipart body) is rethrown as it is. R2's own failures propagate
// unchanged; callers turn those into a 500 / CF-BlobstoreUnavailable.
import { ByteReader } from "./byte-reader";
import { partialKeyOf } from "./keys";
import { checkRange, type RangeReader } from "./range";

/** Size of each R2 multipart part (all parts but the last have exactly this size). */
export const PART_SIZE = 8 * 1024 * 1024;
/** R2's smallest part size (all parts but the last). */
const MIN_PART_SIZE = 5 * 1024 * 1024;
/** The first buffer allocated for an unknown-length put; it doubles up to the part size. */
const INITIAL_BUFFER = 64 * 1024;

export interface StoredBits {
  key: string;
  /** Bytes stored. */
  size: number;
  /** Lower-case hex. */
  sha1: string;
  /** Lower-case hex. */
  sha256: string;
  /** R2's etag (unquoted; for a multipart upload not an MD5 of the content). */
  etag: string;
}

interface PutBitsOptions {
  /** More bytes than this is a BitsTooLargeError; nothing is stored. Default: no limit. */
  maxBytes?: number;
  /**
   * The exact length, when the caller knows it (an R2 body, a request with Content-Length and
   * nothing around the bits): then the bytes stream straight into one put without buffering.
   * A stream of another length is a BitsLengthMismatchError and nothing is stored.
   */
  length?: number;
  /**
   * The length the body will most likely have (a multipart part's `lengthIfLast`): the bytes stream
   * straight into one put of that length, nothing buffered. A body that turns out shorter, or at most
   * MAX_OVERRUN bytes longer, is then rewritten to its true length (see putExpectedLength); longer
   * than that is a BitsLengthMismatchError and nothing is stored. Ignored when over `maxBytes` (the
   * unknown-length path then enforces the limit) or with `length`. `key` must be a fresh key.
   */
  expectedLength?: number;
  /**
   * With `expectedLength`: the most bytes the body may fall short of it (default MAX_SHORTFALL). A
   * shorter body is a BitsLengthMismatchError and nothing is stored: the put is never padded with more
   * than this many bytes that were not received.
   */
  maxShortfall?: number;
  /**
   * With `expectedLength`: asked once the body has ended, whether nothing followed it in its request
   * (a multipart part's `last`). A body that is last and shorter than expected is a
   * BitsLengthMismatchError before any padding: the Content-Length claimed bytes that never came.
   */
  endedLast?: () => boolean | undefined;
  /** Stored Content-Type; default application/zip. */
  contentType?: string;
  customMetadata?: Record<string, string>;
  /** Multipart part size for unknown lengths; default PART_SIZE; at least 5 MiB (R2's minimum). */
  partSize?: number;
}

export class BitsTooLargeError extends Error {
  override readonly name = "BitsTooLargeError";
  constructor(readonly limit: number) {
    super(`the bits are larger than ${limit} bytes`);
  }
}

export class BitsLengthMismatchError extends Error {
  override readonly name = "BitsLengthMismatchError";
  constructor(readonly expected: number, readonly received: number) {
    super(`expected ${expected} bytes of bits, received ${received}${received > expected ? " or more" : ""}`);
  }
}

export class BitsNotFoundError extends Error {
  override readonly name = "BitsNotFoundError";
  constructor(readonly key: string) {
    super(`no stored bits under ${key}`);
  }
}

/** The object was replaced while it was being read. */
export class BitsChangedError extends Error {
  override readonly name = "BitsChangedError";
  constructor(readonly key: string) {
    super(`the bits under ${key} changed while being read`);
  }
}

/**
 * Streams `body` into R2 under `key`, computing SHA-1 and SHA-256 and counting bytes on the way.
 *
 * Unknown length: the bytes are gathered into one buffer of at most `partSize` (8 MiB); a body that
 * fits is written with one put, a larger one as an R2 multipart upload of equal parts (the last
 * smaller), uploaded one after the other, so at most one part is held at any time. With `length`:
 * one put through a FixedLengthStream, nothing buffered.
 *
 * On any failure (limit, length, the source stream erroring, R2) the multipart upload is aborted,
 * the source is cancelled and nothing is left under `key` (an object that was there before stays).
 */
export async function putBits(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  options: PutBitsOptions = {},
): Promise<StoredBits> {
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const httpMetadata: R2HTTPMetadata = { contentType: options.contentType ?? "application/zip" };
  const put = { httpMetadata, ...(options.customMetadata ? { customMetadata: options.customMetadata } : {}) };
  if (options.length !== undefined) return putKnownLength(bucket, key, body, options.length, maxBytes, put);
  const expected = options.expectedLength;
  if (expected !== undefined && Number.isSafeInteger(expected) && expected > 0 && expected <= maxBytes) {
    const shortfall = { max: options.maxShortfall ?? MAX_SHORTFALL, endedLast: options.endedLast ?? (() => undefined) };
    return putExpectedLength(bucket, key, body, expected, maxBytes, shortfall, put);
  }

  const partSize = options.partSize ?? PART_SIZE;
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE) throw new RangeError(`part size must be at least ${MIN_PART_SIZE} bytes`);

  const input = new ByteReader(body);
  const hasher = new Hasher();
  let buffer = new Uint8Array(Math.min(INITIAL_BUFFER, partSize));
  let filled = 0;
  // When the buffer holds a whole part, the next bytes are read here to learn whether more follow.
  let lookahead = new Uint8Array(INITIAL_BUFFER);
  let upload: R2MultipartUpload | undefined;
  const parts: R2UploadedPart[] = [];
  const take = async (bytes: Uint8Array) => {
    if (hasher.size + bytes.length > maxBytes) throw new BitsTooLargeError(maxBytes);
    await hasher.write(bytes);
  };
  try {
    for (;;) {
      if (filled === partSize) {
        const next = await input.readSome(lookahead);
        lookahead = new Uint8Array(next.buffer); // a BYOB read moved the buffer
        if (next.length === 0) break;
        await take(next);
        // The buffer is full and more bytes follow: it is a part, not the whole body.
        upload ??= await bucket.createMultipartUpload(key, put);
        parts.push(await upload.uploadPart(parts.length + 1, buffer));
        buffer.set(next);
        filled = next.length;
        continue;
      }
      if (filled === buffer.length) {
        const grown = new Uint8Array(Math.min(partSize, buffer.length * 2));
        grown.set(buffer);
        buffer = grown;
      }
      const got = await input.readSome(buffer.subarray(filled));
      buffer = new Uint8Array(got.buffer);
      if (got.length === 0) break;
      await take(got);
      filled += got.length;
    }
    const { sha1, sha256 } = await hasher.digest();
    let stored: R2Object;
    if (upload === undefined) {
      stored = await bucket.put(key, buffer.subarray(0, filled), { ...put, sha1 });
    } else {
      if (filled > 0) parts.push(await upload.uploadPart(parts.length + 1, buffer.subarray(0, filled)));
      stored = await upload.complete(parts);
    }
    return { key, size: hasher.size, sha1, sha256, etag: stored.etag };
  } catch (e) {
    hasher.abort();
    input.cancel(e);
    if (upload !== undefined) await upload.abort().catch(() => undefined);
    throw e;
  }
}

async function putKnownLength(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  length: number,
  maxBytes: number,
  put: R2PutOptions,
): Promise<StoredBits> {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError("length must be a non-negative integer");
  if (length > maxBytes) {
    body.cancel().catch(() => undefined);
    throw new BitsTooLargeError(maxBytes);
  }
  const input = new ByteReader(body);
  const hasher = new Hasher();
  const target = fixedLengthPut(bucket, key, length, put);
  try {
    const written = await writeBatches(input, length, hasher, target.write);
    if (written < length) throw new BitsLengthMismatchError(length, written);
    if (!input.done && (await input.readSome(new Uint8Array(1))).length > 0) throw new BitsLengthMismatchError(length, length + 1);
    const stored = await target.finish();
    const { sha1, sha256 } = await hasher.digest();
    return { key, size: hasher.size, sha1, sha256, etag: stored.etag };
  } catch (e) {
    hasher.abort();
    input.cancel(e);
    target.abort(e);
    if (await target.completed()) await bucket.delete(key).catch(() => undefined);
    throw e;
  }
}

/**
 * One put of exactly `length` bytes under `key` through a FixedLengthStream, fed by `write` (which
 * fails as soon as the put does) and ended by `finish` (the stored object). The one shape of both
 * known-length put paths, putKnownLength and putExpectedLength.
 */
function fixedLengthPut(bucket: R2Bucket, key: string, length: number, put: R2PutOptions) {
  const fixed = new FixedLengthStream(length);
  const writer = fixed.writable.getWriter();
  writer.closed.catch(() => undefined); // rejects when the put fails or is aborted; the caller handles that
  const putting = bucket.put(key, fixed.readable, put);
  // A failed put errors the stream, so the pending write rejects too; this makes sure nothing waits.
  const putFailed = putting.then(() => new Promise<never>(() => undefined));
  putFailed.catch(() => undefined);
  return {
    write: (bytes: Uint8Array): Promise<unknown> => Promise.race([writer.write(bytes), putFailed]),
    finish: async (): Promise<R2Object> => {
      await Promise.race([writer.close(), putFailed]);
      return putting;
    },
    abort: (e: unknown): void => void writer.abort(e).catch(() => undefined),
    /** True once the put completed: then an object is stored under `key`. */
    completed: (): Promise<boolean> => putting.then(() => true, () => false),
  };
}

/**
 * Most bytes a body may run past its expected length. A multipart part whose length was computed by
 * `lengthIfLast` can only be longer when the client ends the body with "--boundary--" without the
 * final CRLF: 2 bytes. More means the Content-Length was wrong.
 */
export const MAX_OVERRUN = 1024;

/**
 * Most bytes a body may fall short of its expected length. A multipart part is shorter than
 * `lengthIfLast` by the parts that follow it; in a valid upload that is at most a small form field
 * (a package's `resources`, at most 1 MiB) with its headers. A larger shortfall means the
 * Content-Length claimed bytes that never came: refused before any padding is written.
 */
const MAX_SHORTFALL = 1024 * 1024 + 64 * 1024;

/** The size of each write into an expected-length put. */
const BATCH_BYTES = 1024 * 1024;

/** Zeros that pad a body which ended before its expected length (never written to). */
const ZEROS = new Uint8Array(64 * 1024);

/**
 * One known-length put of a body whose length is only expected. The bytes stream through a
 * FixedLengthStream(expected) into `bucket.put(key)`, hashed on the way. All but the last expected
 * byte go to R2 as they arrive; the rest (at most 1 + MAX_OVERRUN bytes) waits for the body's clean
 * end, so the put cannot complete for a body that breaks off, even one byte before its end.
 *
 * - exactly `expected` bytes (the cf CLI: `bits` last, exact Content-Length): done, one object;
 * - fewer (the part was not the last, e.g. `curl -F bits=@x.zip -F resources=[]`): the put is padded
 *   with zeros to `expected` so that it completes, then rewritten to its true length; fewer when the
 *   body was last (`endedLast`), or more than `maxShortfall` fewer, is a BitsLengthMismatchError,
 *   before any padding;
 * - a few more (no final CRLF): the put holds the first `expected` bytes, rewritten with the rest.
 *
 * The rewrite streams the true bytes (a ranged get of `key`, then any held-back bytes) into one
 * known-length put under partialKeyOf(key), then that object back under `key` (R2 cannot rename, and
 * reading an object while replacing it is not something to rely on), then deletes the partial key.
 * Both puts carry the SHA-1 of the received bytes, so R2 refuses anything but them. It costs two
 * server-side copies of the body, and only for bodies whose length the request did not tell.
 *
 * On any failure the put is aborted (nothing stored) or, once it completed, `key` and the partial
 * key are deleted; the source is cancelled and the error rethrown.
 */
async function putExpectedLength(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  expected: number,
  maxBytes: number,
  shortfall: { max: number; endedLast: () => boolean | undefined },
  put: R2PutOptions,
): Promise<StoredBits> {
  const input = new ByteReader(body);
  const hasher = new Hasher();
  const target = fixedLengthPut(bucket, key, expected, put);
  const write = target.write;
  try {
    // All but the last expected byte, as they arrive.
    let written = await writeBatches(input, expected - 1, hasher, write);
    // The rest (at most 1 + MAX_OVERRUN bytes) is held back until the body has ended cleanly, so the
    // put cannot complete for a body that breaks off, even one byte before its end.
    const tail = input.done ? new Uint8Array(0) : await input.readInto(new Uint8Array(MAX_OVERRUN + 2));
    const size = written + tail.length;
    if (tail.length > MAX_OVERRUN + 1) throw new BitsLengthMismatchError(expected, size);
    // Before the padding: a body that is last, or far shorter than expected, is short because the
    // Content-Length claimed bytes that never came; nothing it did not send is ever written.
    if (size < expected && (expected - size > shortfall.max || shortfall.endedLast() === true)) throw new BitsLengthMismatchError(expected, size);
    if (size > maxBytes) throw new BitsTooLargeError(maxBytes);
    if (tail.length > 0) await hasher.write(tail);
    const last = tail.subarray(0, expected - written);
    if (last.length > 0) await write(last);
    written += last.length;
    const overrun = tail.subarray(last.length);
    for (let left = expected - written; left > 0; left -= ZEROS.length) await write(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
    const first = await target.finish();
    const { sha1, sha256 } = await hasher.digest();
    if (size === expected) return { key, size, sha1, sha256, etag: first.etag };

    const partial = partialKeyOf(key);
    const prefix = { key, etag: first.etag, length: Math.min(size, expected) };
    const rewritten = await putPrefix(bucket, partial, prefix, overrun.length > 0 ? [overrun] : [], size, { ...put, sha1 });
    const final = await putPrefix(bucket, key, { key: partial, etag: rewritten.etag, length: size }, [], size, { ...put, sha1 });
    await bucket.delete(partial);
    return { key, size, sha1, sha256, etag: final.etag };
  } catch (e) {
    hasher.abort();
    input.cancel(e);
    target.abort(e);
    // Once the put completed, `key` holds this body (padded perhaps) and the partial key may exist.
    if (await target.completed()) await bucket.delete([key, partialKeyOf(key)]).catch(() => undefined);
    throw e;
  }
}

/**
 * Streams up to `limit` bytes of `input` to `write` and to the hashes, in batches of BATCH_BYTES read
 * straight into two reused buffers: one is written while the other fills (per-chunk writes would cost
 * the local R2 a round trip each). A write has consumed its bytes once it resolves, so its buffer is
 * free again and nothing a long body passes through becomes garbage. Returns the bytes written: fewer
 * than `limit` only when the input ended first.
 */
async function writeBatches(input: ByteReader, limit: number, hasher: Hasher, write: (bytes: Uint8Array) => Promise<unknown>): Promise<number> {
  const buffers: Uint8Array<ArrayBuffer>[] = [0, 1].map(() => new Uint8Array(Math.min(BATCH_BYTES, limit)));
  let current = 0;
  let written = 0;
  let inflight: Promise<unknown> = Promise.resolve();
  while (written < limit) {
    const batch = await input.readInto(buffers[current]!.subarray(0, Math.min(BATCH_BYTES, limit - written)));
    buffers[current] = new Uint8Array(batch.buffer); // a BYOB read moved the buffer
    if (batch.length === 0) break;
    await inflight; // the other buffer is free again
    inflight = Promise.all([hasher.write(batch), write(batch)]);
    inflight.catch(() => undefined); // awaited before the next batch and at the end
    written += batch.length;
    current = 1 - current;
  }
  await inflight;
  return written;
}

/**
 * One known-length put under `key` of the first `from.length` bytes of the object `from.key` (pinned
 * to its etag), followed by `tail`: `length` bytes in all, streamed (a ranged R2 body has a known
 * length; the FixedLengthStream makes the put a single one either way).
 */
async function putPrefix(
  bucket: R2Bucket,
  key: string,
  from: { key: string; etag: string; length: number },
  tail: readonly Uint8Array[],
  length: number,
  put: R2PutOptions,
): Promise<R2Object> {
  if (length === 0) return bucket.put(key, new Uint8Array(0), put);
  const fixed = new FixedLengthStream(length);
  // The get's own failure, which then fails the put: the error to report.
  let sourceError: unknown;
  const feeding = (async () => {
    try {
      if (from.length > 0) {
        const source = await bucket.get(from.key, { range: { offset: 0, length: from.length }, onlyIf: { etagMatches: from.etag } }).catch((e: unknown) => {
          throw (sourceError = e);
        });
        if (source === null) throw (sourceError = new BitsNotFoundError(from.key));
        if (!("body" in source)) throw (sourceError = new BitsChangedError(from.key));
        await source.body.pipeTo(fixed.writable, { preventClose: true });
      }
      const writer = fixed.writable.getWriter();
      for (const bytes of tail) await writer.write(bytes);
      await writer.close();
    } catch (e) {
      await fixed.writable.abort(e).catch(() => undefined);
      throw e;
    }
  })();
  const [fed, putting] = await Promise.allSettled([feeding, bucket.put(key, fixed.readable, put)]);
  if (sourceError !== undefined) throw sourceError;
  if (putting.status === "rejected") throw putting.reason;
  if (fed.status === "rejected") throw fed.reason;
  return putting.value;
}

/** SHA-1 and SHA-256 of everything written, with crypto.DigestStream (nothing retained). */
class Hasher {
  size = 0;
  private readonly streams = [new crypto.DigestStream("SHA-1"), new crypto.DigestStream("SHA-256")] as const;
  private readonly writers = this.streams.map((s) => {
    const w = s.getWriter();
    // After abort() `closed` and `digest` reject; nobody waits for them then.
    w.closed.catch(() => undefined);
    s.digest.catch(() => undefined);
    return w;
  });

  async write(chunk: Uint8Array): Promise<void> {
    this.size += chunk.length;
    await Promise.all(this.writers.map((w) => w.write(chunk)));
  }

  async digest(): Promise<{ sha1: string; sha256: string }> {
    await Promise.all(this.writers.map((w) => w.close()));
    const [sha1, sha256] = await Promise.all(this.streams.map((s) => s.digest));
    return { sha1: hex(sha1 as ArrayBuffer), sha256: hex(sha256 as ArrayBuffer) };
  }

  abort(): void {
    for (const w of this.writers) w.abort().catch(() => undefined);
  }
}

export function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------------------------------------
// Ranged reads

interface BitsReader extends RangeReader {
  readonly key: string;
  readonly etag: string;
}

/**
 * A RangeReader over the object under `key`, or null when there is none. Every read is pinned to
 * the object's etag: if the object is replaced meanwhile a read throws BitsChangedError (or
 * BitsNotFoundError when it was deleted).
 */
export async function openBitsReader(bucket: R2Bucket, key: string): Promise<BitsReader | null> {
  const head = await bucket.head(key);
  if (head === null) return null;
  const { size, etag } = head;
  return {
    key,
    etag,
    size,
    async read(offset, length) {
      checkRange(offset, length, size);
      if (length === 0) return new Uint8Array(0);
      const obj = await bucket.get(key, { range: { offset, length }, onlyIf: { etagMatches: etag } });
      if (obj === null) throw new BitsNotFoundError(key);
      if (!("body" in obj)) throw new BitsChangedError(key);
      // A ranged read: at most `length` bytes (callers read the zip's tail and directory in ≤ 1 MiB pieces).
      const bytes = new Uint8Array(await obj.arrayBuffer());
      if (bytes.length !== length) throw new BitsChangedError(key);
      return bytes;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Downloads

interface BitsResponseOptions {
  /** Content-Type; default application/zip. */
  contentType?: string;
  /** Adds `Content-Disposition: attachment` with this file name. */
  filename?: string;
  /** Extra headers for every answer (200, 206, 304, 416). */
  headers?: HeadersInit;
}

/**
 * A streaming download of `key` for `request`, or null when there is no such object (the caller
 * answers 404). GET and HEAD: 200 with the whole object; 206 with Content-Range for one satisfiable
 * `Range: bytes=...` (honouring If-Range); 416 with `Content-Range: bytes *\/size` when unsatisfiable;
 * 304 when If-None-Match matches the ETag. Multiple ranges and malformed Range headers are ignored
 * (200), as RFC 9110 allows. Every answer carries ETag and Accept-Ranges; 200/206 carry
 * Content-Length, Content-Type and Last-Modified.
 */
export async function bitsResponse(
  bucket: R2Bucket,
  key: string,
  request: Request,
  options: BitsResponseOptions = {},
): Promise<Response | null> {
  for (let attempt = 0; ; attempt++) {
    const head = await bucket.head(key);
    if (head === null) return null;
    const headers = new Headers(options.headers);
    headers.set("etag", head.httpEtag);
    headers.set("accept-ranges", "bytes");
    headers.set("last-modified", head.uploaded.toUTCString());

    if (etagListMatches(request.headers.get("if-none-match"), head.etag, true)) {
      return new Response(null, { status: 304, headers });
    }
    let range = parseRange(request.headers.get("range"), head.size);
    if (range !== null && !ifRangeAllows(request.headers.get("if-range"), head)) range = null;
    if (range === "unsatisfiable") {
      headers.set("content-range", `bytes */${head.size}`);
      headers.set("content-length", "0");
      return new Response(null, { status: 416, headers });
    }

    headers.set("content-type", options.contentType ?? "application/zip");
    if (options.filename !== undefined) headers.set("content-disposition", contentDisposition(options.filename));
    const status = range === null ? 200 : 206;
    const length = range === null ? head.size : range.length;
    headers.set("content-length", String(length));
    if (range !== null) headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${head.size}`);
    if (request.method === "HEAD") return new Response(null, { status, headers });
    if (length === 0) return new Response(new Uint8Array(0), { status, headers });

    const obj = await bucket.get(key, {
      onlyIf: { etagMatches: head.etag },
      ...(range === null ? {} : { range: { offset: range.offset, length: range.length } }),
    });
    if (obj === null) return null;
    if (!("body" in obj)) {
      // Replaced between head and get: start again (once) so headers and body agree.
      if (attempt === 0) continue;
      throw new BitsChangedError(key);
    }
    return new Response(obj.body, { status, headers });
  }
}

/** A single byte range of an object of `size` bytes: null (absent, malformed or several ranges: serve all), or unsatisfiable. */
export function parseRange(header: string | null, size: number): { offset: number; length: number } | "unsatisfiable" | null {
  if (header === null) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return null;
  const [, a = "", b = ""] = m;
  if (a === "" && b === "") return null;
  if (a === "") {
    const n = Number(b);
    if (n === 0 || size === 0) return "unsatisfiable";
    const length = Math.min(n, size);
    return { offset: size - length, length };
  }
  const first = Number(a);
  if (b !== "" && Number(b) < first) return null;
  if (first >= size) return "unsatisfiable";
  const last = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  return { offset: first, length: last - first + 1 };
}

/** If-None-Match / If-Match style list against `etag` (unquoted). Weak comparison when `weak`. */
function etagListMatches(header: string | null, etag: string, weak: boolean): boolean {
  if (header === null) return false;
  if (header.trim() === "*") return true;
  for (const raw of header.split(",")) {
    let tag = raw.trim();
    if (tag.startsWith("W/")) {
      if (!weak) continue;
      tag = tag.slice(2);
    }
    if (tag === `"${etag}"`) return true;
  }
  return false;
}

/** If-Range: a strong ETag that must match, or an HTTP date the object must not be newer than. */
function ifRangeAllows(header: string | null, head: R2Object): boolean {
  if (header === null) return true;
  const value = header.trim();
  if (value.startsWith('"') || value.startsWith("W/")) return etagListMatches(value, head.etag, false);
  const date = Date.parse(value);
  return !Number.isNaN(date) && Math.floor(head.uploaded.getTime() / 1000) <= Math.floor(date / 1000);
}

/** `attachment` with an ASCII fallback name and the UTF-8 one (RFC 6266). */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

// ---------------------------------------------------------------------------------------------
// Delete and copy

/** Deletes one key or many (in batches of 1000); missing keys are fine. */
export async function deleteBits(bucket: R2Bucket, keys: string | readonly string[]): Promise<void> {
  const list = typeof keys === "string" ? [keys] : [...keys];
  for (let i = 0; i < list.length; i += 1000) await bucket.delete(list.slice(i, i + 1000));
}

/** Deletes bits of deleted packages; one retry, as a transient R2 failure should not leave an orphan. */
export async function deleteBitsKeys(bucket: R2Bucket, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  try {
    await deleteBits(bucket, keys);
  } catch {
    await deleteBits(bucket, keys);
  }
}

/**
 * Copies the object under `from` to `to`, streamed (R2 bodies have a known length, so nothing is
 * buffered), with its hashes computed on the way. Null when there is no object under `from`.
 */
export async function copyBits(bucket: R2Bucket, from: string, to: string): Promise<StoredBits | null> {
  const source = await bucket.get(from);
  if (source === null) return null;
  return putBits(bucket, to, source.body, {
    length: source.size,
    contentType: source.httpMetadata?.contentType ?? "application/zip",
    ...(source.customMetadata ? { customMetadata: source.customMetadata } : {}),
  });
}
