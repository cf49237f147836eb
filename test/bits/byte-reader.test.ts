// The byte reader that lets long bodies flow through reused buffers (src/bits/byte-reader.ts).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ByteReader } from "../../src/bits/byte-reader";
import { byteStream, chunkedStream, equalBytes, pseudoRandomBytes } from "../helpers/bytes";

const data = pseudoRandomBytes(300_000, 31);

/** Reads all of `stream` through readInto with one reused buffer of `size` bytes. */
async function readAllInto(stream: ReadableStream<Uint8Array>, size: number, expectedLength = data.length): Promise<{ bytes: Uint8Array; buffers: Set<number>; reads: number }> {
  const reader = new ByteReader(stream);
  const out = new Uint8Array(expectedLength + size);
  let at = 0;
  let buffer = new Uint8Array(size);
  const buffers = new Set<number>();
  let reads = 0;
  for (;;) {
    const got = await reader.readInto(buffer);
    buffer = new Uint8Array(got.buffer);
    buffers.add(got.buffer.byteLength);
    out.set(got, at);
    at += got.length;
    reads++;
    if (got.length < size) {
      expect(reader.done).toBe(true);
      break;
    }
  }
  return { bytes: out.subarray(0, at), buffers, reads };
}

describe("ByteReader", () => {
  it("readInto fills the caller's buffer across chunks, whole batches until the last, on byte streams and default streams alike", async () => {
    for (const make of [byteStream, chunkedStream]) {
      for (const [size, chunks, length] of [[65_536, [1000, 7, 40_000], data.length], [100_000, 300_000, data.length], [1, 13, 3000], [299_999, [4096], data.length]] as const) {
        const expected = data.subarray(0, length);
        const { bytes, buffers, reads } = await readAllInto(make(expected, chunks), size, length);
        expect(equalBytes(bytes, expected), `${make.name} ${size}`).toBe(true);
        expect([...buffers]).toEqual([size]); // the one buffer, reused (moved by each BYOB read)
        expect(reads).toBe(Math.floor(length / size) + 1);
      }
    }
  });

  it("a BYOB read moves the buffer: the caller's view is detached and the bytes live on in the returned view", async () => {
    const reader = new ByteReader(byteStream(data, 1000));
    const target = new Uint8Array(5000);
    const got = await reader.readInto(target);
    expect(target.length).toBe(0); // detached
    expect(got.length).toBe(5000);
    expect(equalBytes(got, data.subarray(0, 5000))).toBe(true);
    // A default stream copies into the caller's buffer instead; nothing is detached.
    const copying = new ByteReader(chunkedStream(data, 1000));
    const kept = new Uint8Array(5000);
    expect((await copying.readInto(kept)).buffer).toBe(kept.buffer);
    expect(equalBytes(kept, data.subarray(0, 5000))).toBe(true);
  });

  it("readSome returns what one read brings without waiting for more, at most the target's length", async () => {
    let release: () => void = () => undefined;
    const later = new Promise<void>((r) => (release = r));
    let pulls = 0;
    const slow = new ReadableStream({
      type: "bytes",
      async pull(controller) {
        if (pulls++ === 1) await later; // the second read waits until released
        const request = controller.byobRequest!;
        const n = Math.min(3, request.view!.length);
        request.view!.set(data.subarray(0, n));
        request.respond(n);
      },
    });
    const reader = new ByteReader(slow);
    const first = await reader.readSome(new Uint8Array(1000));
    expect(first.length).toBe(3);
    const second = reader.readSome(new Uint8Array(2));
    release();
    expect((await second).length).toBe(2);
    // Default streams: a chunk larger than the target is handed out in pieces, in order.
    const pieces = new ByteReader(chunkedStream(data.subarray(0, 10), 10));
    const a = await pieces.readSome(new Uint8Array(4));
    const b = await pieces.readSome(new Uint8Array(100));
    expect([...a, ...b]).toEqual([...data.subarray(0, 10)]);
    expect((await pieces.readSome(new Uint8Array(1))).length).toBe(0);
    expect(pieces.done).toBe(true);
    await expect(pieces.readSome(new Uint8Array(0))).rejects.toThrow(RangeError);
  });

  it("reads R2 bodies and request bodies (workerd byte streams) with BYOB reads", async () => {
    await env.BITS.put("byte-reader/a", data);
    const object = await env.BITS.get("byte-reader/a");
    const fromR2 = await readAllInto(object!.body, 65_536);
    expect(equalBytes(fromR2.bytes, data)).toBe(true);
    const request = new Request("http://x/", { method: "POST", body: data });
    const fromRequest = await readAllInto(request.body!, 50_000);
    expect(equalBytes(fromRequest.bytes, data)).toBe(true);
    await env.BITS.delete("byte-reader/a");
  });

  it("passes the stream's error on, and cancel() cancels the source", async () => {
    const boom = new Error("Network connection lost.");
    const failing = new ByteReader(byteStream(data, 4096, { bytes: 10_000, error: boom }));
    await expect(failing.readInto(new Uint8Array(20_000))).rejects.toBe(boom);
    let cancelled: unknown;
    const source = new ReadableStream({
      type: "bytes",
      pull(controller) {
        controller.enqueue(new Uint8Array(10));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const reader = new ByteReader(source);
    await reader.readSome(new Uint8Array(4));
    reader.cancel("enough");
    await new Promise((r) => setTimeout(r, 0));
    expect(cancelled).toBe("enough");
  });
});
