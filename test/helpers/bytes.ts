// Bytes for tests: deterministic bytes, chunked and failing streams, and the one digest helper.

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
