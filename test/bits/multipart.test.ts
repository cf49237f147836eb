import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/http/errors";
import { isMultipartFormData, lengthIfLast, multipartBoundary, parseMultipart, readMultipart, type MultipartLimits } from "../../src/bits/multipart";
import { byteStream, chunkedStream, concat, dec, enc, equalBytes, failingStream, pseudoRandomBytes } from "../helpers/bytes";

const B = "5b1d0c3e9f7a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b";

interface Parsed {
  name: string;
  filename: string | undefined;
  contentType: string | undefined;
  body: Uint8Array;
}

/** Reads every part fully (bytes), as a consumer would. */
async function parseAll(stream: ReadableStream<Uint8Array>, boundary = B, limits?: MultipartLimits): Promise<Parsed[]> {
  const out: Parsed[] = [];
  for await (const part of parseMultipart(stream, boundary, limits)) {
    const body = new Uint8Array(await new Response(part.body).arrayBuffer());
    out.push({ name: part.name, filename: part.filename, contentType: part.contentType, body });
  }
  return out;
}

/** The body the cf CLI sends: `resources` first, `bits` (package.zip) last, closing boundary + CRLF. */
function cliBody(resources: string, bits: Uint8Array, boundary = B): Uint8Array {
  return concat(
    `--${boundary}\r\nContent-Disposition: form-data; name="resources"\r\n\r\n${resources}\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="bits"; filename="package.zip"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    bits,
    `\r\n--${boundary}--\r\n`,
  );
}

async function expectParseError(p: Promise<unknown>, detail?: RegExp): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  const api = err as ApiError;
  expect(api.errorName).toBe("MessageParseError");
  expect(api.status).toBe(400);
  expect(api.code).toBe(1001);
  if (detail) expect(api.detail).toMatch(detail);
  return api;
}

describe("boundary from Content-Type", () => {
  it("reads token and quoted boundaries", () => {
    expect(multipartBoundary(`multipart/form-data; boundary=${B}`)).toBe(B);
    expect(multipartBoundary('Multipart/Form-Data ; charset=utf-8; boundary="a b:c"')).toBe("a b:c");
    expect(isMultipartFormData("multipart/form-data; boundary=x")).toBe(true);
    expect(isMultipartFormData("multipart/form-datax")).toBe(false);
    expect(isMultipartFormData(null)).toBe(false);
  });

  it("rejects a missing, empty, too long or invalid boundary, and other types, with CF-MessageParseError", () => {
    for (const ct of [null, "application/json", "multipart/form-data", "multipart/form-data; boundary=", 'multipart/form-data; boundary=""', `multipart/form-data; boundary=${"a".repeat(71)}`, "multipart/form-data; boundary=ends-with-space\\ "]) {
      expect(() => multipartBoundary(ct), String(ct)).toThrow(ApiError);
    }
    expect(multipartBoundary(`multipart/form-data; boundary=${"a".repeat(70)}`)).toHaveLength(70);
  });

  it("readMultipart refuses a request without a boundary or without a body", async () => {
    const noBoundary = new Request("http://x/", { method: "POST", headers: { "content-type": "multipart/form-data" }, body: "x" });
    expect(() => readMultipart(noBoundary)).toThrow(/no boundary/);
    const noBody = new Request("http://x/", { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${B}` } });
    expect(() => readMultipart(noBody)).toThrow(/empty/);
  });

  it("readMultipart refuses a content-encoded body (gzip, deflate, br, anything but identity)", () => {
    for (const encoding of ["gzip", "deflate", "br", "GZIP ", "x-custom"]) {
      const encoded = new Request("http://x/", { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${B}`, "content-encoding": encoding }, body: "x" });
      expect(() => readMultipart(encoded), encoding).toThrow(/must not be content-encoded/);
    }
    const identity = new Request("http://x/", { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${B}`, "content-encoding": "identity" }, body: "x" });
    expect(readMultipart(identity)).toBeDefined();
  });
});

describe("parsing", () => {
  const zip = pseudoRandomBytes(3000, 7);

  it("reads the cf CLI's body: resources first, bits last", async () => {
    const req = new Request("http://x/", { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${B}` }, body: cliBody("[]", zip) });
    const seen: string[] = [];
    let bits: Uint8Array | undefined;
    for await (const part of readMultipart(req)) {
      seen.push(part.name);
      if (part.name === "resources") expect(await part.text()).toBe("[]");
      if (part.name === "bits") {
        expect(part.filename).toBe("package.zip");
        expect(part.contentType).toBe("application/octet-stream");
        expect(part.headers.get("content-disposition")).toBe('form-data; name="bits"; filename="package.zip"');
        bits = new Uint8Array(await new Response(part.body).arrayBuffer());
      }
    }
    expect(seen).toEqual(["resources", "bits"]);
    expect(bits && equalBytes(bits, zip)).toBe(true);
  });

  it("reads the file part first and a field last (curl -F bits=@x -F resources=[])", async () => {
    const body = concat(
      `--${B}\r\nContent-Disposition: form-data; name="bits"; filename="app.zip"\r\nContent-Type: application/zip\r\n\r\n`,
      zip,
      `\r\n--${B}\r\nContent-Disposition: form-data; name="resources"\r\n\r\n[{"fn":"a"}]\r\n--${B}--\r\n`,
    );
    const parts = await parseAll(chunkedStream(body, 100));
    expect(parts.map((p) => [p.name, p.filename, p.contentType])).toEqual([
      ["bits", "app.zip", "application/zip"],
      ["resources", undefined, undefined],
    ]);
    expect(equalBytes(parts[0]!.body, zip)).toBe(true);
    expect(dec.decode(parts[1]!.body)).toBe('[{"fn":"a"}]');
  });

  it("once a part's body has ended, `last` tells whether the close delimiter follows it, for every chunking", async () => {
    const body = cliBody("[]", new TextEncoder().encode("zipped bytes"));
    for (const chunk of [1, 2, 7, body.length]) {
      const seen: [string, boolean | undefined, boolean | undefined][] = [];
      for await (const part of parseMultipart(chunkedStream(body, chunk), B)) {
        const before = part.last;
        await new Response(part.body).arrayBuffer();
        seen.push([part.name, before, part.last]);
      }
      expect(seen, String(chunk)).toEqual([["resources", undefined, false], ["bits", undefined, true]]);
    }
  });

  it("gives the same parts for a split at every byte position, and for one-byte chunks", async () => {
    const small = enc.encode("PK\x03\x04 binary \r\n-- not a boundary \r\n--5b1d partial boundary \r\r\n\n end");
    const body = cliBody('[{"path":"a","mode":"644"}]', small, B);
    const expected = await parseAll(chunkedStream(body, body.length));
    expect(expected.map((p) => p.name)).toEqual(["resources", "bits"]);
    expect(equalBytes(expected[1]!.body, small)).toBe(true);
    for (let k = 1; k < body.length; k++) {
      const parts = await parseAll(chunkedStream(body, [k, body.length]));
      expect(parts.length, `split at ${k}`).toBe(2);
      expect(dec.decode(parts[0]!.body), `split at ${k}`).toBe('[{"path":"a","mode":"644"}]');
      expect(equalBytes(parts[1]!.body, small), `split at ${k}`).toBe(true);
      expect(parts[1]!.filename).toBe("package.zip");
    }
    const bytewise = await parseAll(chunkedStream(body, 1));
    expect(equalBytes(bytewise[1]!.body, small)).toBe(true);
  });

  it("streams a large part in pieces no larger than an input chunk plus a delimiter", async () => {
    const big = pseudoRandomBytes(2 * 1024 * 1024 + 123, 3);
    const body = cliBody("[]", big);
    const sizes = [65536, 1000, 7, 32768];
    let pieces = 0;
    let largest = 0;
    const hash = new crypto.DigestStream("SHA-256");
    const writer = hash.getWriter();
    for await (const part of parseMultipart(chunkedStream(body, sizes), B)) {
      if (part.name !== "bits") continue;
      const reader = part.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        pieces++;
        largest = Math.max(largest, value.length);
        await writer.write(value);
      }
    }
    await writer.close();
    const got = new Uint8Array(await hash.digest);
    const want = new Uint8Array(await crypto.subtle.digest("SHA-256", big));
    expect(equalBytes(got, want)).toBe(true);
    expect(pieces).toBeGreaterThan(50);
    expect(largest).toBeLessThanOrEqual(65536 + `\r\n--${B}`.length);
  });

  it("ignores a preamble, transport padding and the epilogue; reads a part without headers' extras", async () => {
    const body = concat(
      `This is the preamble.\r\n--${B}  \t\r\ncontent-disposition: form-data; name=a\r\n\r\none\r\n--${B}\r\n`,
      `Content-Disposition: form-data; name="b"; filename="x \\"q\\".zip"; filename*=UTF-8''%E2%82%AC.zip\r\n\r\n\r\n--${B}--\r\nepilogue junk`,
    );
    const parts = await parseAll(chunkedStream(body, 5));
    expect(parts.map((p) => [p.name, p.filename, dec.decode(p.body)])).toEqual([
      ["a", undefined, "one"],
      ["b", "€.zip", ""],
    ]);
    const quoted = concat(`--${B}\r\nContent-Disposition: form-data; name="f"; filename="x \\"q\\".zip"\r\n\r\nz\r\n--${B}--`);
    expect((await parseAll(chunkedStream(quoted, 3)))[0]!.filename).toBe('x "q".zip');
  });

  it("skips parts the consumer does not read, and errors their body stream", async () => {
    const body = concat(`--${B}\r\nContent-Disposition: form-data; name="skip"\r\n\r\n`, pseudoRandomBytes(100000, 9), `\r\n--${B}\r\nContent-Disposition: form-data; name="keep"\r\n\r\nkept\r\n--${B}--\r\n`);
    const names: string[] = [];
    let skipped: ReadableStream<Uint8Array> | undefined;
    for await (const part of parseMultipart(chunkedStream(body, 4096), B)) {
      names.push(part.name);
      if (part.name === "skip") skipped = part.body;
      else expect(await part.text()).toBe("kept");
    }
    expect(names).toEqual(["skip", "keep"]);
    await expectParseError(new Response(skipped).arrayBuffer(), /was not read/);
  });

  it("caps text fields", async () => {
    const body = concat(`--${B}\r\nContent-Disposition: form-data; name="resources"\r\n\r\n${"x".repeat(5000)}\r\n--${B}\r\nContent-Disposition: form-data; name="n"\r\n\r\nnext\r\n--${B}--`);
    const it = parseMultipart(chunkedStream(body, 512), B);
    const first = await it.next();
    if (first.done) throw new Error("no part");
    await expectParseError(first.value.text(1000), /'resources' is larger than 1000 bytes/);
    const second = await it.next();
    if (second.done) throw new Error("no second part");
    expect(await second.value.text()).toBe("next");
    expect((await it.next()).done).toBe(true);
  });
});

describe("byte-stream input (request bodies): one reused input buffer, parts copied out", () => {
  /** Reads a part body with a BYOB reader into one reused buffer of `size` bytes. */
  async function readByob(body: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
    const reader = body.getReader({ mode: "byob" });
    let out = new Uint8Array(1024);
    let length = 0;
    let buffer = new ArrayBuffer(size);
    for (;;) {
      const { done, value } = await reader.read(new Uint8Array(buffer));
      if (value === undefined) break;
      if (length + value.length > out.length) {
        const grown = new Uint8Array(Math.max(out.length * 2, length + value.length));
        grown.set(out.subarray(0, length));
        out = grown;
      }
      out.set(value, length);
      length += value.length;
      buffer = value.buffer as ArrayBuffer;
      if (done) break;
    }
    return out.subarray(0, length);
  }

  const big = pseudoRandomBytes(700_000, 41); // larger than the parser's 256 KiB input buffer
  const body = cliBody('[{"fn":"x"}]', big);

  it("gives every consumer the same bytes for every input chunking: default readers that keep their chunks, BYOB readers of any buffer size", async () => {
    for (const sizes of [[65_536], [1, 7, 4096], [300_000], [body.length]]) {
      // Default reads get copies: a consumer keeping every chunk until the end sees no bytes change.
      const kept = await parseAll(byteStream(body, sizes));
      expect(kept.map((p) => p.name)).toEqual(["resources", "bits"]);
      expect(dec.decode(kept[0]!.body)).toBe('[{"fn":"x"}]');
      expect(equalBytes(kept[1]!.body, big), `default reads, input ${sizes}`).toBe(true);
      for (const size of [13, 1000, 65_536, 1 << 20]) {
        if (size === 13 && sizes[0] !== 65_536) continue; // tiny reads of 700 KB: once is enough
        let bits: Uint8Array | undefined;
        for await (const part of parseMultipart(byteStream(body, sizes), B)) {
          if (part.name === "bits") bits = await readByob(part.body, size);
        }
        expect(bits && equalBytes(bits, big), `BYOB reads of ${size}, input ${sizes}`).toBe(true);
      }
    }
  });

  it("a request body (workerd's own byte stream) parses the same, bodyOffset included", async () => {
    const request = new Request("http://x/", { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${B}`, "content-length": String(body.length) }, body });
    const seen: [string, number, number | undefined][] = [];
    for await (const part of readMultipart(request)) {
      const bytes = await readByob(part.body, 100_000);
      seen.push([part.name, part.bodyOffset, lengthIfLast(request, part)]);
      if (part.name === "bits") expect(equalBytes(bytes, big)).toBe(true);
    }
    expect(seen[1]).toEqual(["bits", body.length - big.length - `\r\n--${B}--\r\n`.length, big.length]);
  });

  it("a header block larger than the input buffer is read when the limit allows it (the buffer grows), refused otherwise", async () => {
    const pad = "p".repeat(400_000);
    const wide = concat(`--${B}\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: ${pad}\r\n\r\nvalue\r\n--${B}--\r\n`);
    const parts = await parseAll(byteStream(wide, 65_536), B, { maxHeaderBytes: 500_000 });
    expect(parts.map((p) => [p.name, dec.decode(p.body)])).toEqual([["a", "value"]]);
    await expectParseError(parseAll(byteStream(wide, 65_536)), /headers of a multipart part are larger/);
  });

  it("every truncation fails and a client going away fails with the parser's error, from BYOB part reads too", async () => {
    const small = cliBody("[]", pseudoRandomBytes(500, 42));
    const closeEnd = small.length - 2;
    for (let cut = 0; cut < closeEnd; cut += 3) {
      const read = (async () => {
        for await (const part of parseMultipart(byteStream(small.subarray(0, cut), 64), B)) await readByob(part.body, 100);
      })();
      await expectParseError(read);
    }
    const lost = byteStream(body, 8192, { bytes: 400_000, error: new Error("Network connection lost.") });
    const it = parseMultipart(lost, B);
    const first = await it.next();
    if (first.done) throw new Error("no part");
    await first.value.text();
    const bits = await it.next();
    if (bits.done) throw new Error("no bits part");
    const fromStream = await expectParseError(readByob(bits.value.body, 65_536), /ended before it was complete/);
    await expect(it.next()).rejects.toBe(fromStream);
  });
});

describe("malformed input ends in CF-MessageParseError", () => {
  const body = cliBody("[]", pseudoRandomBytes(500, 11));

  it("every truncation before the closing delimiter fails, at the iterator or the part stream", async () => {
    const closeEnd = body.length - 2; // after "--B--"; the final CRLF belongs to the epilogue
    for (let cut = 0; cut < closeEnd; cut++) {
      await expectParseError(parseAll(chunkedStream(body.subarray(0, cut), 64)));
    }
    expect((await parseAll(chunkedStream(body.subarray(0, closeEnd), 64))).length).toBe(2);
  });

  it("a missing closing boundary fails with a clear message", async () => {
    const noClose = concat(`--${B}\r\nContent-Disposition: form-data; name="bits"; filename="a.zip"\r\n\r\nPK...`);
    await expectParseError(parseAll(chunkedStream(noClose, 7)), /truncated/);
  });

  it("a part stream errors when the client goes away mid-part, with the same error from the iterator", async () => {
    const big = cliBody("[]", pseudoRandomBytes(200000, 5));
    const stream = failingStream(big, 8192, 100000, new Error("Network connection lost."));
    const it = parseMultipart(stream, B);
    const r = await it.next();
    if (r.done) throw new Error("no part");
    expect(await r.value.text()).toBe("[]");
    const bits = await it.next();
    if (bits.done) throw new Error("no bits part");
    const fromStream = await expectParseError(new Response(bits.value.body).arrayBuffer(), /ended before it was complete/);
    const fromIterator = await it.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(fromIterator).toBe(fromStream);
  });

  it("rejects garbage, huge headers, too many parts, bad header lines, parts without a name", async () => {
    await expectParseError(parseAll(chunkedStream(pseudoRandomBytes(100000, 1), 1000)), /no multipart boundary/);
    await expectParseError(parseAll(chunkedStream(enc.encode(""), 1))); // empty body
    const huge = concat(`--${B}\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: ${"p".repeat(20000)}\r\n\r\nv\r\n--${B}--`);
    await expectParseError(parseAll(chunkedStream(huge, 1000)), /headers of a multipart part are larger/);
    const endless = concat(`--${B}\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: ${"p".repeat(20000)}`);
    await expectParseError(parseAll(chunkedStream(endless, 1000)), /larger than/);
    const many = concat(...Array.from({ length: 101 }, (_, i) => `--${B}\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nv\r\n`), `--${B}--`);
    await expectParseError(parseAll(chunkedStream(many, 333)), /too many parts/);
    expect((await parseAll(chunkedStream(many, 333), B, { maxParts: 101 })).length).toBe(101);
    const badLine = concat(`--${B}\r\nContent-Disposition: form-data; name="a"\r\nno colon here\r\n\r\nv\r\n--${B}--`);
    await expectParseError(parseAll(chunkedStream(badLine, 10)), /malformed header/);
    const noName = concat(`--${B}\r\nContent-Disposition: form-data; filename="a.zip"\r\n\r\nv\r\n--${B}--`);
    await expectParseError(parseAll(chunkedStream(noName, 10)), /no name/);
    const noDisposition = concat(`--${B}\r\nContent-Type: text/plain\r\n\r\nv\r\n--${B}--`);
    await expectParseError(parseAll(chunkedStream(noDisposition, 10)), /no Content-Disposition/);
    const glued = concat(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--${B}X\r\n`);
    await expectParseError(parseAll(chunkedStream(glued, 10)), /not followed by a line break/);
  });
});

describe("part offsets and lengthIfLast (the known-length put of the last part)", () => {
  const zip = pseudoRandomBytes(5000, 13);

  /** Where each part's body starts and how long it is, by searching the raw body. */
  function locate(body: Uint8Array, needle: Uint8Array): number {
    for (let i = 0; i + needle.length <= body.length; i++) {
      let j = 0;
      while (j < needle.length && body[i + j] === needle[j]) j++;
      if (j === needle.length) return i;
    }
    return -1;
  }

  const requestOf = (body: Uint8Array, chunk: number, headers: Record<string, string> = { "content-length": String(body.length) }) =>
    new Request("http://x/", {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${B}`, ...headers },
      body: chunkedStream(body, chunk),
      // @ts-expect-error duplex is needed by some runtimes for a stream body
      duplex: "half",
    });

  async function offsetsAndLengths(request: Request): Promise<{ name: string; bodyOffset: number; lengthIfLast: number | undefined; length: number }[]> {
    const out = [];
    for await (const part of readMultipart(request)) {
      const length = (await new Response(part.body).arrayBuffer()).byteLength;
      out.push({ name: part.name, bodyOffset: part.bodyOffset, lengthIfLast: lengthIfLast(request, part), length });
    }
    return out;
  }

  it("the cf CLI's body: bodyOffset is where each body starts, and lengthIfLast of the last part is its exact length, for every chunking", async () => {
    const body = cliBody("[]", zip);
    const resourcesAt = locate(body, enc.encode("\r\n\r\n[]")) + 4;
    const bitsAt = locate(body, zip);
    for (const chunk of [1, 7, 100, 4096, body.length]) {
      const parts = await offsetsAndLengths(requestOf(body, chunk));
      expect(parts.map((p) => [p.name, p.bodyOffset, p.length]), `chunk ${chunk}`).toEqual([
        ["resources", resourcesAt, 2],
        ["bits", bitsAt, zip.length],
      ]);
      expect(parts[1]!.lengthIfLast).toBe(zip.length);
      // The first part is not the last: the expectation is longer than the part (it ends earlier).
      expect(parts[0]!.lengthIfLast).toBe(body.length - resourcesAt - `\r\n--${B}--\r\n`.length);
    }
  });

  it("counts a preamble; a missing final CRLF makes the last part 2 bytes longer than expected; an epilogue makes it shorter", async () => {
    const preamble = concat("This is the preamble.\r\n", cliBody("[]", zip));
    const [, bits] = await offsetsAndLengths(requestOf(preamble, 333));
    expect(bits!.bodyOffset).toBe(locate(preamble, zip));
    expect(bits!.lengthIfLast).toBe(zip.length);

    const noCrlf = cliBody("[]", zip).subarray(0, cliBody("[]", zip).length - 2);
    const [, short] = await offsetsAndLengths(requestOf(noCrlf, 333));
    expect(short!.length).toBe(zip.length);
    expect(short!.lengthIfLast).toBe(zip.length - 2);

    const epilogue = concat(cliBody("[]", zip), "an epilogue");
    const [, long] = await offsetsAndLengths(requestOf(epilogue, 333));
    expect(long!.lengthIfLast).toBe(zip.length + "an epilogue".length);
  });

  it("is undefined without a usable Content-Length: absent, malformed, chunked, content-encoded, too small", async () => {
    const body = cliBody("[]", zip);
    const cases: Record<string, string>[] = [
      {},
      { "content-length": "12a" },
      { "content-length": "-5" },
      { "content-length": "" },
      { "content-length": String(body.length), "transfer-encoding": "chunked" },
      { "content-length": "100" }, // shorter than where the bits start
    ];
    for (const headers of cases) {
      const [, bits] = await offsetsAndLengths(requestOf(body, 512, headers));
      expect(bits!.lengthIfLast, JSON.stringify(headers)).toBeUndefined();
    }
    const identity = await offsetsAndLengths(requestOf(body, 512, { "content-length": String(body.length), "content-encoding": "identity" }));
    expect(identity[1]!.lengthIfLast).toBe(zip.length);
    // (readMultipart refuses an encoded body; lengthIfLast alone still answers undefined for one.)
    const encoded = requestOf(body, 512, { "content-length": String(body.length), "content-encoding": "gzip" });
    expect(lengthIfLast(encoded, { bodyOffset: identity[1]!.bodyOffset })).toBeUndefined();
  });
});
