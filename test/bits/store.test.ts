import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  BitsChangedError,
  BitsLengthMismatchError,
  BitsNotFoundError,
  BitsTooLargeError,
  bitsResponse,
  copyBits,
  deleteBits,
  openBitsReader,
  MAX_OVERRUN,
  PART_SIZE,
  parseRange,
  putBits,
} from "../../src/bits/store";
import { newBitsKey, partialKeyOf } from "../../src/bits/keys";
import { ApiError } from "../../src/http/errors";
import { lengthIfLast, readMultipart } from "../../src/bits/multipart";
import { listKeys, recordingBucket } from "../helpers/r2";
import { byteStream, chunkedStream, concat, digestHex, equalBytes, failingStream, pseudoRandomBytes, readAll } from "../helpers/bytes";

const MiB = 1024 * 1024;

async function expectStoredExactly(key: string, data: Uint8Array): Promise<void> {
  const obj = await env.BITS.get(key);
  expect(obj).not.toBeNull();
  const stored = new Uint8Array(await obj!.arrayBuffer());
  expect(stored.length).toBe(data.length);
  expect(equalBytes(stored, data)).toBe(true);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );
}

describe("putBits, unknown length", () => {
  it("stores a small body with one put and the right SHA-1/SHA-256", async () => {
    const data = pseudoRandomBytes(100_000, 1);
    const { bucket, log } = recordingBucket(env.BITS);
    const key = newBitsKey("t", "small");
    const stored = await putBits(bucket, key, chunkedStream(data, [1000, 7, 65536]));
    expect(stored).toMatchObject({ key, size: data.length, sha1: await digestHex("SHA-1", data), sha256: await digestHex("SHA-256", data) });
    expect(stored.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(log.puts).toEqual([data.length]);
    expect(log.created).toEqual([]);
    await expectStoredExactly(key, data);
    expect((await env.BITS.head(key))?.httpMetadata?.contentType).toBe("application/zip");
  });

  it("stores an empty body", async () => {
    const key = newBitsKey("t", "empty");
    const stored = await putBits(env.BITS, key, chunkedStream(new Uint8Array(0), 1));
    expect(stored.size).toBe(0);
    expect(stored.sha256).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(stored.sha1).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709");
    expect((await env.BITS.head(key))?.size).toBe(0);
  });

  it("streams 20 MB as equal 8 MiB R2 parts, hashed correctly and stored byte-identical", async () => {
    const data = pseudoRandomBytes(20_000_000, 2);
    const { bucket, log } = recordingBucket(env.BITS);
    const key = newBitsKey("t", "big");
    const stored = await putBits(bucket, key, chunkedStream(data, [65536, 12345, 1]));
    expect(stored.size).toBe(data.length);
    expect(stored.sha1).toBe(await digestHex("SHA-1", data));
    expect(stored.sha256).toBe(await digestHex("SHA-256", data));
    expect(log.puts).toEqual([]);
    expect(log.parts).toEqual([PART_SIZE, PART_SIZE, data.length - 2 * PART_SIZE]);
    expect(Math.max(...log.parts)).toBe(8 * MiB); // the most ever held: one part
    expect(log.completed).toBe(1);
    expect(log.aborted).toBe(0);
    await expectStoredExactly(key, data);
  });

  it("uses one put for exactly one part, and a second tiny part for one byte more", async () => {
    const data = pseudoRandomBytes(5 * MiB + 1, 3);
    const exact = recordingBucket(env.BITS);
    await putBits(exact.bucket, "t/exact", chunkedStream(data.subarray(0, 5 * MiB), 1 * MiB), { partSize: 5 * MiB });
    expect(exact.log.puts).toEqual([5 * MiB]);
    expect(exact.log.parts).toEqual([]);
    const over = recordingBucket(env.BITS);
    const stored = await putBits(over.bucket, "t/over", chunkedStream(data, 1 * MiB), { partSize: 5 * MiB });
    expect(over.log.parts).toEqual([5 * MiB, 1]);
    expect(stored.sha256).toBe(await digestHex("SHA-256", data));
    await expectStoredExactly("t/over", data);
  });

  it("rejects a part size below R2's minimum", async () => {
    await expect(putBits(env.BITS, "t/x", chunkedStream(new Uint8Array(1), 1), { partSize: 1024 })).rejects.toThrow(RangeError);
  });

  it("over maxBytes in the first part: BitsTooLargeError, source cancelled, nothing stored", async () => {
    let cancelled = false;
    const data = pseudoRandomBytes(300_000, 4);
    let pos = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(data.subarray(pos, pos + 10_000));
        pos += 10_000;
      },
      cancel() {
        cancelled = true;
      },
    });
    const { bucket, log } = recordingBucket(env.BITS);
    const err = await rejection(putBits(bucket, "limit/small", source, { maxBytes: 100_000 }));
    expect(err).toBeInstanceOf(BitsTooLargeError);
    expect((err as BitsTooLargeError).limit).toBe(100_000);
    expect(cancelled).toBe(true);
    expect(pos).toBeLessThanOrEqual(110_000); // stopped reading at the limit
    expect(log.puts).toEqual([]);
    expect(await listKeys(env.BITS, "limit/")).toEqual([]);
  });

  it("over maxBytes after parts were uploaded: the multipart upload is aborted, nothing stored", async () => {
    const data = pseudoRandomBytes(20_000_000, 5);
    const { bucket, log } = recordingBucket(env.BITS);
    const err = await rejection(putBits(bucket, "limit/big", chunkedStream(data, 65536), { maxBytes: 12 * MiB }));
    expect(err).toBeInstanceOf(BitsTooLargeError);
    expect(log.parts).toEqual([PART_SIZE]);
    expect(log.aborted).toBe(1);
    expect(log.completed).toBe(0);
    expect(await listKeys(env.BITS, "limit/")).toEqual([]);
    // The aborted upload cannot be completed any more.
    const upload = env.BITS.resumeMultipartUpload("limit/big", log.created[0]!.uploadId);
    await expect(upload.complete([])).rejects.toThrow();
    expect(await listKeys(env.BITS, "limit/")).toEqual([]);
  });

  it("a source that errors midway (client gone) rethrows its error as is and leaves nothing", async () => {
    const data = pseudoRandomBytes(12 * MiB, 6);
    const gone = new Error("Network connection lost.");
    const { bucket, log } = recordingBucket(env.BITS);
    const err = await rejection(putBits(bucket, "gone/a", failingStream(data, 65536, 10 * MiB, gone)));
    expect(err).toBe(gone);
    expect(log.parts).toEqual([PART_SIZE]);
    expect(log.aborted).toBe(1);
    expect(await listKeys(env.BITS, "gone/")).toEqual([]);
  });

  it("keeps an existing object when a replacement fails", async () => {
    await env.BITS.put("keep/a", "old");
    await rejection(putBits(env.BITS, "keep/a", chunkedStream(pseudoRandomBytes(1000), 100), { maxBytes: 10 }));
    expect(await (await env.BITS.get("keep/a"))?.text()).toBe("old");
  });
});

describe("putBits, known length", () => {
  it("streams straight into one put (FixedLengthStream) with the right hashes", async () => {
    const data = pseudoRandomBytes(9 * MiB + 5, 7);
    const { bucket, log } = recordingBucket(env.BITS);
    const stored = await putBits(bucket, "known/a", chunkedStream(data, 65536), { length: data.length });
    expect(stored.sha256).toBe(await digestHex("SHA-256", data));
    expect(stored.sha1).toBe(await digestHex("SHA-1", data));
    expect(log.puts).toEqual([-1]); // a stream, not a buffer
    expect(log.created).toEqual([]);
    await expectStoredExactly("known/a", data);
  });

  it("a stream shorter or longer than announced is a BitsLengthMismatchError and stores nothing", async () => {
    const data = pseudoRandomBytes(100_000, 8);
    const short = await rejection(putBits(env.BITS, "mismatch/short", chunkedStream(data, 4096), { length: data.length + 1 }));
    expect(short).toBeInstanceOf(BitsLengthMismatchError);
    expect((short as BitsLengthMismatchError).received).toBe(data.length);
    const long = await rejection(putBits(env.BITS, "mismatch/long", chunkedStream(data, 4096), { length: data.length - 1 }));
    expect(long).toBeInstanceOf(BitsLengthMismatchError);
    const big = await rejection(putBits(env.BITS, "mismatch/max", chunkedStream(data, 4096), { length: data.length, maxBytes: 10 }));
    expect(big).toBeInstanceOf(BitsTooLargeError);
    expect(await listKeys(env.BITS, "mismatch/")).toEqual([]);
  });
});

describe("a multipart upload streamed into R2", () => {
  const B = "8f2e4a6c0b1d3f5e7a9c2b4d6f8e0a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d";
  const bits = pseudoRandomBytes(10 * MiB + 77, 9);

  for (const order of ["bits last", "bits first"] as const) {
    it(`hashes and stores the bits part (${order})`, async () => {
      const resources = `--${B}\r\nContent-Disposition: form-data; name="resources"\r\n\r\n[]\r\n`;
      const bitsPart = concat(`--${B}\r\nContent-Disposition: form-data; name="bits"; filename="package.zip"\r\nContent-Type: application/octet-stream\r\n\r\n`, bits, "\r\n");
      const body = order === "bits last" ? concat(resources, bitsPart, `--${B}--\r\n`) : concat(bitsPart, resources, `--${B}--\r\n`);
      const request = new Request("http://x/v3/packages/p/upload", {
        method: "POST",
        headers: { "content-type": `multipart/form-data; boundary=${B}`, "content-length": String(body.length) },
        body: chunkedStream(body, 16384),
        // @ts-expect-error duplex is needed by some runtimes for a stream body
        duplex: "half",
      });
      const { bucket, log } = recordingBucket(env.BITS);
      let stored: Awaited<ReturnType<typeof putBits>> | undefined;
      let resourcesText: string | undefined;
      for await (const part of readMultipart(request)) {
        if (part.name === "resources") resourcesText = await part.text();
        if (part.name === "bits") stored = await putBits(bucket, `mp/${order}`, part.body, { maxBytes: 64 * MiB });
      }
      expect(resourcesText).toBe("[]");
      expect(stored?.size).toBe(bits.length);
      expect(stored?.sha256).toBe(await digestHex("SHA-256", bits));
      expect(stored?.sha1).toBe(await digestHex("SHA-1", bits));
      expect(log.parts).toEqual([PART_SIZE, bits.length - PART_SIZE]);
      await expectStoredExactly(`mp/${order}`, bits);
    });
  }

  it("a truncated multipart body makes putBits fail with the parser's ApiError and store nothing", async () => {
    const body = concat(`--${B}\r\nContent-Disposition: form-data; name="bits"; filename="package.zip"\r\n\r\n`, bits.subarray(0, 9 * MiB));
    const { bucket, log } = recordingBucket(env.BITS);
    const err = await rejection(
      (async () => {
        for await (const part of readMultipart(new Request("http://x/", { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${B}` }, body }))) {
          await putBits(bucket, "mp/truncated", part.body);
        }
      })(),
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).errorName).toBe("MessageParseError");
    expect(log.aborted).toBe(1);
    expect(await listKeys(env.BITS, "mp/truncated")).toEqual([]);
  });
});

describe("putBits, expected length (a multipart part's lengthIfLast)", () => {
  const B = "3c5e7a9b1d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c";
  const bits = pseudoRandomBytes(10 * MiB + 77, 21);
  const resources = `--${B}\r\nContent-Disposition: form-data; name="resources"\r\n\r\n[]\r\n`;
  const bitsPart = concat(`--${B}\r\nContent-Disposition: form-data; name="bits"; filename="package.zip"\r\nContent-Type: application/octet-stream\r\n\r\n`, bits, "\r\n");
  /** The cf CLI: resources first, bits last, closing delimiter and CRLF. */
  const cliBody = concat(resources, bitsPart, `--${B}--\r\n`);
  /** curl -F bits=@package.zip -F resources=[] (the CF docs' example): bits first. */
  const bitsFirstBody = concat(bitsPart, resources, `--${B}--\r\n`);

  const requestOf = (body: ReadableStream<Uint8Array> | Uint8Array, contentLength: number) =>
    new Request("http://x/v3/packages/p/upload", {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${B}`, "content-length": String(contentLength) },
      body: body instanceof Uint8Array ? chunkedStream(body, 16384) : body,
      // @ts-expect-error duplex is needed by some runtimes for a stream body
      duplex: "half",
    });

  /** Reads the form as the upload handlers do: the bits part into putBits with lengthIfLast. */
  async function upload(bucket: R2Bucket, key: string, request: Request) {
    let stored: Awaited<ReturnType<typeof putBits>> | undefined;
    let expected: number | undefined;
    for await (const part of readMultipart(request)) {
      if (part.name === "resources") expect(await part.text()).toBe("[]");
      if (part.name === "bits") {
        expected = lengthIfLast(request, part);
        stored = await putBits(bucket, key, part.body, { maxBytes: 64 * MiB, expectedLength: expected });
      }
    }
    return { stored: stored!, expected };
  }

  async function expectSinglePut(key: string, data: Uint8Array, stored: { etag: string; sha1: string; sha256: string; size: number }) {
    const head = await env.BITS.head(key);
    expect(head?.size).toBe(data.length);
    // A multipart upload's etag is "<md5 of the part md5s>-<parts>"; a single put's is the MD5.
    expect(head?.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(head?.etag).toBe(stored.etag);
    expect(head?.httpMetadata?.contentType).toBe("application/zip");
    expect(stored.size).toBe(data.length);
    expect(stored.sha1).toBe(await digestHex("SHA-1", data));
    expect(stored.sha256).toBe(await digestHex("SHA-256", data));
    await expectStoredExactly(key, data);
  }

  it("the cf CLI's shape (bits last, exact Content-Length): one streamed put, no multipart upload, no copy", async () => {
    const { bucket, log } = recordingBucket(env.BITS);
    const { stored, expected } = await upload(bucket, "exp/cli/a", requestOf(cliBody, cliBody.length));
    expect(expected).toBe(bits.length);
    expect(log.puts).toEqual([-1]);
    expect(log.created).toEqual([]);
    expect(log.deletes).toEqual([]);
    await expectSinglePut("exp/cli/a", bits, stored);
    expect(await listKeys(env.BITS, "exp/cli/")).toEqual(["exp/cli/a"]);
  });

  it("bits first (curl's order): padded put, rewritten to the true length through the partial key, which is gone", async () => {
    const { bucket, log } = recordingBucket(env.BITS);
    const { stored, expected } = await upload(bucket, "exp/first/a", requestOf(bitsFirstBody, bitsFirstBody.length));
    expect(expected).toBe(bits.length + resources.length);
    expect(log.puts).toEqual([-1, -1, -1]); // padded put, partial key, back under the key
    expect(log.created).toEqual([]);
    await expectSinglePut("exp/first/a", bits, stored);
    expect(await listKeys(env.BITS, "exp/first/")).toEqual(["exp/first/a"]);
  });

  it("a body without the final CRLF: the part runs 2 bytes past the expectation and is stored whole", async () => {
    const noCrlf = cliBody.subarray(0, cliBody.length - 2);
    const { bucket, log } = recordingBucket(env.BITS);
    const { stored, expected } = await upload(bucket, "exp/nocrlf/a", requestOf(noCrlf, noCrlf.length));
    expect(expected).toBe(bits.length - 2);
    expect(log.puts).toEqual([-1, -1, -1]);
    await expectSinglePut("exp/nocrlf/a", bits, stored);
    expect(await listKeys(env.BITS, "exp/nocrlf/")).toEqual(["exp/nocrlf/a"]);
  });

  it("any body length around the expectation ends byte-identical with the right hashes: shorter, empty, a few bytes longer", async () => {
    const data = pseudoRandomBytes(2 * MiB + 1, 22);
    for (const [name, length, expected] of [
      ["batches", 2 * MiB + 1, 2 * MiB + 1], // exactly two 1 MiB batches, then the held-back last byte
      ["batches-short", 2 * MiB, 2 * MiB + 1],
      ["short", 300_000, 400_000], // more than one chunk of zero padding
      ["tiny", 1, 1000],
      ["empty", 0, 500],
      ["over", 300_000, 300_000 - MAX_OVERRUN],
    ] as const) {
      const key = `exp/around/${name}`;
      const stored = await putBits(env.BITS, key, chunkedStream(data.subarray(0, length), [4096, 1, 65536]), { expectedLength: expected });
      await expectSinglePut(key, data.subarray(0, length), stored);
    }
    expect(await listKeys(env.BITS, "exp/around/")).toEqual(["batches", "batches-short", "empty", "over", "short", "tiny"].map((n) => `exp/around/${n}`));
  });

  it("more than MAX_OVERRUN past the expectation (a wrong Content-Length): BitsLengthMismatchError, nothing stored", async () => {
    const data = pseudoRandomBytes(300_000, 23);
    const err = await rejection(putBits(env.BITS, "exp/overrun/a", chunkedStream(data, 4096), { expectedLength: data.length - MAX_OVERRUN - 1 }));
    expect(err).toBeInstanceOf(BitsLengthMismatchError);
    expect(await listKeys(env.BITS, "exp/overrun/")).toEqual([]);
  });

  it("maxBytes: an expectation over it takes the unknown-length path; a part running past it is BitsTooLargeError", async () => {
    const data = pseudoRandomBytes(100_000, 24);
    const { bucket, log } = recordingBucket(env.BITS);
    const stored = await putBits(bucket, "exp/max/fallback", chunkedStream(data, 4096), { expectedLength: data.length + 10, maxBytes: data.length });
    expect(log.puts).toEqual([data.length]); // the buffered single put of the unknown-length path
    expect(stored.sha256).toBe(await digestHex("SHA-256", data));
    const big = await rejection(putBits(env.BITS, "exp/max/over", chunkedStream(data, 4096), { expectedLength: data.length - 2, maxBytes: data.length - 2 }));
    expect(big).toBeInstanceOf(BitsTooLargeError);
    expect(await listKeys(env.BITS, "exp/max/")).toEqual(["exp/max/fallback"]);
  });

  it("a body cut off anywhere in the bits part or its delimiter (bits last or first) fails with the parser's ApiError and leaves nothing under the key or the partial key", async () => {
    // (A cut after the bits part, in a later part, leaves complete bits: the upload handler deletes them; see the upload tests.)
    for (const [name, body] of [["cli", cliBody], ["first", bitsFirstBody]] as const) {
      const bitsEnd = name === "cli" ? resources.length + bitsPart.length - 2 : bitsPart.length - 2;
      for (const cut of [100, 5 * MiB, bitsEnd - 1, bitsEnd, bitsEnd + 3]) {
        const key = `exp/trunc/${name}-${cut}`;
        const err = await rejection(upload(env.BITS, key, requestOf(body.subarray(0, cut), body.length)));
        expect(err, `${name} cut at ${cut}`).toBeInstanceOf(ApiError);
        expect((err as ApiError).errorName).toBe("MessageParseError");
      }
    }
    expect(await listKeys(env.BITS, "exp/trunc/")).toEqual([]);
  });

  it("a client that goes away midway: its error as is, nothing stored, an object that was there before stays", async () => {
    await env.BITS.put("exp/gone/keep", "old");
    const gone = new Error("Network connection lost.");
    const data = pseudoRandomBytes(2 * MiB, 25);
    const err = await rejection(putBits(env.BITS, "exp/gone/keep", failingStream(data, 65536, MiB, gone), { expectedLength: data.length }));
    expect(err).toBe(gone);
    expect(await (await env.BITS.get("exp/gone/keep"))?.text()).toBe("old");
    expect(await listKeys(env.BITS, "exp/gone/")).toEqual(["exp/gone/keep"]);
  });

  it("R2 failing at any step of the rewrite leaves nothing under the key or the partial key", async () => {
    const data = pseudoRandomBytes(200_000, 26);
    const failures: [string, (op: string, key: string, n: number) => boolean][] = [
      ["put of the partial key", (op, key) => op === "put" && key.endsWith(".partial")],
      ["put back under the key", (op, key, n) => op === "put" && !key.endsWith(".partial") && n > 1],
      ["ranged get of the padded object", (op, key) => op === "get" && !key.endsWith(".partial")],
      ["get of the partial key", (op, key) => op === "get" && key.endsWith(".partial")],
      ["the first put", (op) => op === "put"],
    ];
    for (const [what, fails] of failures) {
      const puts = new Map<string, number>();
      const r2Down = new Error(`R2 down: ${what}`);
      const bucket = {
        ...recordingBucket(env.BITS).bucket,
        put: (k: string, v: Parameters<R2Bucket["put"]>[1], o?: R2PutOptions) => {
          const n = (puts.get(k) ?? 0) + 1;
          puts.set(k, n);
          if (fails("put", k, n)) {
            if (v instanceof ReadableStream) v.cancel(r2Down).catch(() => undefined);
            return Promise.reject(r2Down);
          }
          return env.BITS.put(k, v, o);
        },
        get: (k: string, o?: R2GetOptions) => (fails("get", k, 0) ? Promise.reject(r2Down) : env.BITS.get(k, o)),
      } as unknown as R2Bucket;
      const key = `exp/r2/${what.replaceAll(" ", "-")}`;
      const err = await rejection(putBits(bucket, key, chunkedStream(data, 8192), { expectedLength: data.length + 500 }));
      expect(err, what).toBe(r2Down);
      expect(await env.BITS.head(key), what).toBeNull();
      expect(await env.BITS.head(partialKeyOf(key)), what).toBeNull();
    }
    expect(await listKeys(env.BITS, "exp/r2/")).toEqual([]);
  });
});

describe("byte-stream sources (request and R2 bodies): read into the reused batch buffers", () => {
  // Every path of putBits reads byte streams with BYOB reads into buffers of its own; the bytes and
  // hashes must come out the same as for any other stream, whatever sizes the source hands out.
  const data = pseudoRandomBytes(11 * MiB + 333, 51);
  const check = async (key: string, bytes: Uint8Array, stored: { size: number; sha1: string; sha256: string }) => {
    expect(stored).toMatchObject({ size: bytes.length, sha1: await digestHex("SHA-1", bytes), sha256: await digestHex("SHA-256", bytes) });
    await expectStoredExactly(key, bytes);
  };

  it("known, expected and unknown lengths store byte-identical objects with the right hashes", async () => {
    for (const sizes of [[65_536], [1000, 7, 300_000]]) {
      const tag = sizes.join("-");
      const { bucket, log } = recordingBucket(env.BITS);
      await check(`bs/${tag}/known`, data, await putBits(bucket, `bs/${tag}/known`, byteStream(data, sizes), { length: data.length }));
      await check(`bs/${tag}/expected`, data, await putBits(bucket, `bs/${tag}/expected`, byteStream(data, sizes), { expectedLength: data.length }));
      const short = data.subarray(0, 3 * MiB + 5);
      await check(`bs/${tag}/short`, short, await putBits(bucket, `bs/${tag}/short`, byteStream(short, sizes), { expectedLength: 3 * MiB + 100 }));
      const over = data.subarray(0, 2 * MiB + 2);
      await check(`bs/${tag}/over`, over, await putBits(bucket, `bs/${tag}/over`, byteStream(over, sizes), { expectedLength: 2 * MiB }));
      await check(`bs/${tag}/unknown`, data, await putBits(bucket, `bs/${tag}/unknown`, byteStream(data, sizes)));
      expect(log.parts).toEqual([PART_SIZE, data.length - PART_SIZE]); // only the unknown length used parts
    }
  });

  it("an R2 body copied and a request body stored: byte-identical", async () => {
    await env.BITS.put("bs/source", data);
    const copied = await copyBits(env.BITS, "bs/source", "bs/copy");
    await check("bs/copy", data, copied!);
    const request = new Request("http://x/", { method: "POST", body: data });
    await check("bs/request", data, await putBits(env.BITS, "bs/request", request.body!, { expectedLength: data.length }));
  });

  it("length mismatches and a source that fails midway store nothing", async () => {
    const small = data.subarray(0, 2 * MiB);
    expect(await rejection(putBits(env.BITS, "bs/fail/long", byteStream(small, 65_536), { length: small.length - 1 }))).toBeInstanceOf(BitsLengthMismatchError);
    expect(await rejection(putBits(env.BITS, "bs/fail/short", byteStream(small, 65_536), { length: small.length + 1 }))).toBeInstanceOf(BitsLengthMismatchError);
    expect(await rejection(putBits(env.BITS, "bs/fail/over", byteStream(small, 65_536), { expectedLength: small.length - MAX_OVERRUN - 2 }))).toBeInstanceOf(BitsLengthMismatchError);
    const lost = new Error("Network connection lost.");
    for (const options of [{ length: small.length }, { expectedLength: small.length }, {}]) {
      const err = await rejection(putBits(env.BITS, "bs/fail/lost", byteStream(small, 65_536, { bytes: MiB + 17, error: lost }), options));
      expect(err).toBe(lost);
    }
    expect(await listKeys(env.BITS, "bs/fail/")).toEqual([]);
  });
});

describe("ranged reads", () => {
  it("reads ranges pinned to the object's etag", async () => {
    const data = pseudoRandomBytes(1 * MiB, 10);
    await env.BITS.put("range/a", data);
    const reader = await openBitsReader(env.BITS, "range/a");
    expect(reader?.size).toBe(data.length);
    expect(equalBytes(await reader!.read(1000, 5000), data.subarray(1000, 6000))).toBe(true);
    expect(equalBytes(await reader!.read(data.length - 22, 22), data.subarray(data.length - 22))).toBe(true);
    expect((await reader!.read(5, 0)).length).toBe(0);
    await expect(reader!.read(data.length - 1, 2)).rejects.toThrow(RangeError);
    await expect(reader!.read(-1, 2)).rejects.toThrow(RangeError);
    await env.BITS.put("range/a", pseudoRandomBytes(1 * MiB, 11));
    await expect(reader!.read(0, 10)).rejects.toBeInstanceOf(BitsChangedError);
    await env.BITS.delete("range/a");
    await expect(reader!.read(0, 10)).rejects.toBeInstanceOf(BitsNotFoundError);
    expect(await openBitsReader(env.BITS, "range/none")).toBeNull();
  });
});

describe("downloads", () => {
  const data = pseudoRandomBytes(100_000, 12);
  const get = (headers: Record<string, string> = {}, method = "GET") => new Request("http://x/download", { method, headers });

  it("200 with Content-Length, ETag, Content-Type application/zip, Accept-Ranges", async () => {
    await env.BITS.put("dl/a", data);
    const head = await env.BITS.head("dl/a");
    const res = await bitsResponse(env.BITS, "dl/a", get(), { filename: "package.zip" });
    expect(res?.status).toBe(200);
    expect(res?.headers.get("content-length")).toBe(String(data.length));
    expect(res?.headers.get("etag")).toBe(head?.httpEtag);
    expect(res?.headers.get("content-type")).toBe("application/zip");
    expect(res?.headers.get("accept-ranges")).toBe("bytes");
    expect(res?.headers.get("content-disposition")).toContain('filename="package.zip"');
    expect(equalBytes(new Uint8Array(await res!.arrayBuffer()), data)).toBe(true);
    expect(await bitsResponse(env.BITS, "dl/missing", get())).toBeNull();
  });

  it("206 for a range, a suffix range and an open range", async () => {
    for (const [range, from, to] of [
      ["bytes=0-9", 0, 9],
      ["bytes=99990-", 99990, 99999],
      ["bytes=-5", 99995, 99999],
      ["bytes=50000-200000", 50000, 99999],
      ["bytes=-200000", 0, 99999],
    ] as const) {
      const res = await bitsResponse(env.BITS, "dl/a", get({ range }));
      expect(res?.status, range).toBe(206);
      expect(res?.headers.get("content-range"), range).toBe(`bytes ${from}-${to}/${data.length}`);
      expect(res?.headers.get("content-length"), range).toBe(String(to - from + 1));
      expect(equalBytes(new Uint8Array(await res!.arrayBuffer()), data.subarray(from, to + 1)), range).toBe(true);
    }
  });

  it("416 with Content-Range */size when unsatisfiable", async () => {
    for (const range of ["bytes=100000-", "bytes=200000-300000", "bytes=-0"]) {
      const res = await bitsResponse(env.BITS, "dl/a", get({ range }));
      expect(res?.status, range).toBe(416);
      expect(res?.headers.get("content-range")).toBe(`bytes */${data.length}`);
    }
  });

  it("ignores malformed and multiple ranges, and a Range whose If-Range does not match", async () => {
    const head = await env.BITS.head("dl/a");
    const cases: Record<string, string>[] = [{ range: "bytes=5-2" }, { range: "items=0-1" }, { range: "bytes=0-1,5-6" }, { range: "bytes=0-1", "if-range": '"other"' }];
    for (const headers of cases) {
      const res = await bitsResponse(env.BITS, "dl/a", get(headers));
      expect(res?.status, JSON.stringify(headers)).toBe(200);
      expect((await res!.arrayBuffer()).byteLength).toBe(data.length);
    }
    const matching = await bitsResponse(env.BITS, "dl/a", get({ range: "bytes=0-1", "if-range": head!.httpEtag }));
    expect(matching?.status).toBe(206);
    expect(parseRange("bytes=0-0", 0)).toBe("unsatisfiable");
    expect(parseRange(null, 10)).toBeNull();
  });

  it("304 when If-None-Match matches (strong, weak, list, *), 200 otherwise", async () => {
    const head = await env.BITS.head("dl/a");
    for (const inm of [head!.httpEtag, `W/${head!.httpEtag}`, `"x", ${head!.httpEtag}`, "*"]) {
      const res = await bitsResponse(env.BITS, "dl/a", get({ "if-none-match": inm }));
      expect(res?.status, inm).toBe(304);
      expect(res?.headers.get("etag")).toBe(head!.httpEtag);
      expect(res?.body).toBeNull();
    }
    const other = await bitsResponse(env.BITS, "dl/a", get({ "if-none-match": '"nope"' }));
    expect(other?.status).toBe(200);
    await other?.arrayBuffer();
  });

  it("HEAD has the headers and no body", async () => {
    const res = await bitsResponse(env.BITS, "dl/a", get({}, "HEAD"));
    expect(res?.status).toBe(200);
    expect(res?.headers.get("content-length")).toBe(String(data.length));
    expect(res?.body).toBeNull();
  });
});

describe("delete and copy", () => {
  it("deletes one key and many (in batches of 1000)", async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `del/${String(i).padStart(4, "0")}`);
    const real = [keys[0]!, keys[999]!, keys[1000]!, keys[2499]!];
    await Promise.all(real.map((k) => env.BITS.put(k, "x")));
    await env.BITS.put("del-keep", "x");
    await deleteBits(env.BITS, real[0]!);
    expect(await env.BITS.head(real[0]!)).toBeNull();
    expect(await listKeys(env.BITS, "del/")).toEqual(real.slice(1));
    const { bucket, log } = recordingBucket(env.BITS);
    await deleteBits(bucket, keys);
    expect(log.deletes).toEqual([1000, 1000, 500]);
    expect(await listKeys(env.BITS, "del/")).toEqual([]);
    expect(await env.BITS.head("del-keep")).not.toBeNull();
  });

  it("copies an object server-side with its hashes; null for a missing source", async () => {
    const data = pseudoRandomBytes(9 * MiB, 13);
    const original = await putBits(env.BITS, "copy/src", chunkedStream(data, 65536));
    const { bucket, log } = recordingBucket(env.BITS);
    const copy = await copyBits(bucket, "copy/src", "copy/dst");
    expect(copy).toMatchObject({ key: "copy/dst", size: data.length, sha1: original.sha1, sha256: original.sha256 });
    expect(log.puts).toEqual([-1]); // streamed
    await expectStoredExactly("copy/dst", data);
    await expectStoredExactly("copy/src", data);
    expect(await copyBits(env.BITS, "copy/none", "copy/x")).toBeNull();
    expect(await env.BITS.head("copy/x")).toBeNull();
  });

  it("reads back the whole object with readAll (sanity of the helpers)", async () => {
    const obj = await env.BITS.get("copy/dst");
    expect((await readAll(obj!.body)).length).toBe(9 * MiB);
  });
});
