// Shared helpers for the bits tests: deterministic bytes, chunked streams, digests, and an R2Bucket
// wrapper that records what reaches R2 (part sizes, aborts) so tests can measure buffering.

export const enc = new TextEncoder();
export const dec = new TextDecoder();

/** `n` deterministic pseudo-random bytes (xorshift32). */
export function pseudoRandomBytes(n: number, seed = 0x9e3779b9): Uint8Array {
  const words = new Uint32Array(Math.ceil(n / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, n);
}

/** A pull-based stream of `data` in chunks of the given size (or the given list of sizes, repeated). */
export function chunkedStream(data: Uint8Array, sizes: number | readonly number[]): ReadableStream<Uint8Array> {
  const list = typeof sizes === "number" ? [sizes] : sizes;
  let pos = 0;
  let i = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pos >= data.length) {
          controller.close();
          return;
        }
        const n = Math.max(1, list[i++ % list.length] ?? 1);
        controller.enqueue(data.subarray(pos, Math.min(data.length, pos + n)));
        pos += n;
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * A byte stream (`type: "bytes"`, like a request body in workerd) of `data`: a BYOB read gets at most
 * the next size of `sizes` (repeated) copied into its buffer; a default read gets a copy of that many
 * bytes. Errors with `error` once `failAfter` bytes are out, if given.
 */
export function byteStream(data: Uint8Array, sizes: number | readonly number[], failAfter?: { bytes: number; error: unknown }): ReadableStream<Uint8Array> {
  const list = typeof sizes === "number" ? [sizes] : sizes;
  let pos = 0;
  let i = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (failAfter !== undefined && pos >= failAfter.bytes) {
        controller.error(failAfter.error);
        return;
      }
      if (pos >= data.length) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const limit = failAfter === undefined ? data.length : Math.min(data.length, failAfter.bytes);
      let n = Math.min(Math.max(1, list[i++ % list.length] ?? 1), limit - pos);
      const request = controller.byobRequest;
      const view = request?.view;
      if (request && view) {
        n = Math.min(n, view.length);
        view.set(data.subarray(pos, pos + n));
        request.respond(n);
      } else {
        controller.enqueue(data.slice(pos, pos + n));
      }
      pos += n;
    },
  });
}

/** A stream of `data` in chunks that errors with `error` after `failAfter` bytes (a client that goes away). */
export function failingStream(data: Uint8Array, chunk: number, failAfter: number, error: unknown): ReadableStream<Uint8Array> {
  let pos = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pos >= failAfter) {
          controller.error(error);
          return;
        }
        const end = Math.min(failAfter, pos + chunk, data.length);
        controller.enqueue(data.subarray(pos, end));
        pos = end;
      },
    },
    { highWaterMark: 0 },
  );
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export function concat(...parts: (Uint8Array | string)[]): Uint8Array {
  const bs = parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
  const out = new Uint8Array(bs.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bs) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

export async function digestHex(alg: "SHA-1" | "SHA-256", data: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest(alg, data);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Every key in the bucket under `prefix`. */
export async function listKeys(bucket: R2Bucket, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, ...(cursor ? { cursor } : {}) });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys;
}

export interface R2Log {
  /** Sizes of single puts with a byte value (-1 for a stream). */
  puts: number[];
  /** Sizes of every uploaded multipart part, in order. */
  parts: number[];
  created: { key: string; uploadId: string }[];
  aborted: number;
  completed: number;
  /** Number of keys in each delete call. */
  deletes: number[];
}

const sizeOf = (v: unknown): number => (ArrayBuffer.isView(v) ? v.byteLength : v instanceof ArrayBuffer ? v.byteLength : typeof v === "string" ? v.length : -1);

/** An R2Bucket that forwards to `inner` and records puts and multipart activity. */
export function recordingBucket(inner: R2Bucket): { bucket: R2Bucket; log: R2Log } {
  const log: R2Log = { puts: [], parts: [], created: [], aborted: 0, completed: 0, deletes: [] };
  const wrap = (u: R2MultipartUpload): R2MultipartUpload => ({
    key: u.key,
    uploadId: u.uploadId,
    uploadPart: (n, v, o) => {
      log.parts.push(sizeOf(v));
      return u.uploadPart(n, v, o);
    },
    abort: () => {
      log.aborted++;
      return u.abort();
    },
    complete: (parts) => {
      log.completed++;
      return u.complete(parts);
    },
  });
  const bucket = {
    head: (k: string) => inner.head(k),
    get: (k: string, o?: R2GetOptions) => inner.get(k, o),
    put: (k: string, v: Parameters<R2Bucket["put"]>[1], o?: R2PutOptions) => {
      log.puts.push(sizeOf(v));
      return inner.put(k, v, o);
    },
    delete: (k: string | string[]) => {
      log.deletes.push(typeof k === "string" ? 1 : k.length);
      return inner.delete(k);
    },
    list: (o?: R2ListOptions) => inner.list(o),
    createMultipartUpload: async (k: string, o?: R2MultipartOptions) => {
      const u = await inner.createMultipartUpload(k, o);
      log.created.push({ key: u.key, uploadId: u.uploadId });
      return wrap(u);
    },
    resumeMultipartUpload: (k: string, id: string) => wrap(inner.resumeMultipartUpload(k, id)),
  };
  return { bucket: bucket as unknown as R2Bucket, log };
}
