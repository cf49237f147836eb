// The package zip assembler (src/bits/assemble.ts): uploaded entries and pool files as one stream of
// known length, with zip64 where needed and every pool file's CRC-32 checked on the way. The result
// is read back through the fixtures' own CRC and with the zip reader; the node test
// test/node/resource-matching.test.mjs reads assembled packages with Python's zipfile.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { assemblyStream, planAssembly, pooledDataOffsets, PooledFileError, SourceError, type PooledFile, type UploadedZip } from "../../src/bits/assemble";
import { openBitsReader, putBits } from "../../src/bits/store";
import { inspectZip, readZipEntry, ZipError, type ZipEntry } from "../../src/bits/zip";
import { dec, enc, pseudoRandomBytes } from "../helpers/bytes";
import { listKeys, recordingBucket } from "../helpers/r2";
import { buildZip, crc32 as fixtureCrc32, deflateRaw, manyEntryZip } from "../helpers/zip";

interface Read {
  entries: ZipEntry[];
  contents: Map<string, Uint8Array>;
  zip64: boolean;
}

/** Everything in the zip under `key`: entries and contents (each checked against its CRC). */
async function readBack(key: string): Promise<Read> {
  const reader = await openBitsReader(env.BITS, key);
  if (reader === null) throw new Error(`nothing under ${key}`);
  const entries: ZipEntry[] = [];
  const summary = await inspectZip(reader, { onEntry: (e) => entries.push(e) });
  const contents = new Map<string, Uint8Array>();
  for (const e of entries) contents.set(e.name, await readZipEntry(reader, e, 1 << 30));
  return { entries, contents, zip64: summary.zip64 };
}

let n = 0;
/** A pool file: its compressed bytes in R2 under a fresh key, as the pool stores them. */
async function poolFile(path: string, content: Uint8Array, method: 0 | 8, mode = 0o644): Promise<PooledFile> {
  const stored = method === 8 ? await deflateRaw(content) : content;
  const key = `pool/test/${++n}-${crypto.randomUUID()}`;
  await env.BITS.put(key, stored);
  return { path, mode, key, entry: { size: content.length, compressedSize: stored.length, crc32: fixtureCrc32(content), method } };
}

/** An uploaded zip in R2 with its central directory read. */
async function uploaded(zip: Uint8Array): Promise<UploadedZip> {
  const key = `uploads/${crypto.randomUUID()}`;
  const object = await env.BITS.put(key, zip);
  const reader = await openBitsReader(env.BITS, key);
  const entries: ZipEntry[] = [];
  const summary = await inspectZip(reader!, { onEntry: (e) => entries.push(e) });
  return { key, etag: object!.etag, entries, centralDirectoryOffset: summary.centralDirectoryOffset };
}

async function assemble(up: UploadedZip | undefined, pooled: PooledFile[], options = {}, bucket: R2Bucket = env.BITS) {
  const plan = planAssembly(up, pooled, options);
  const key = `packages/assembled/${crypto.randomUUID()}`;
  const stored = await putBits(bucket, key, assemblyStream(bucket, plan), { length: plan.length });
  return { plan, key, stored };
}

const big = pseudoRandomBytes(300_000, 7);
const text = enc.encode("line of text that compresses well\n".repeat(5000));

describe("assembly", () => {
  it("uploaded stored and deflated entries plus stored and deflated pool files: one put of the planned length, every file intact, directories dropped", async () => {
    const up = await uploaded(await buildZip([
      { name: "app/" },
      { name: "app/a.txt", data: "hello\n" },
      { name: "app/b.txt", data: "b".repeat(10_000), method: 8 },
      { name: "empty.txt", data: "" },
    ]));
    const pooled = [await poolFile("lib/big.bin", big, 0, 0o600), await poolFile("lib/text.txt", text, 8, 0o755)];
    const { bucket, log } = recordingBucket(env.BITS);
    const { plan, key, stored } = await assemble(up, pooled, {}, bucket);
    expect(log.puts).toEqual([-1]); // one put of a stream (known length), no multipart
    expect(log.created).toEqual([]);
    expect(stored.size).toBe(plan.length);
    const back = await readBack(key);
    expect([...back.contents.keys()]).toEqual(["app/a.txt", "app/b.txt", "empty.txt", "lib/big.bin", "lib/text.txt"]);
    expect(dec.decode(back.contents.get("app/a.txt"))).toBe("hello\n");
    expect(dec.decode(back.contents.get("app/b.txt"))).toBe("b".repeat(10_000));
    expect(back.contents.get("lib/big.bin")).toEqual(big);
    expect(back.contents.get("lib/text.txt")).toEqual(text);
    const modes = Object.fromEntries(back.entries.map((e) => [e.name, ((e.externalAttributes >>> 16) & 0o177777).toString(8)]));
    expect(modes).toEqual({ "app/a.txt": "100644", "app/b.txt": "100644", "empty.txt": "100644", "lib/big.bin": "100600", "lib/text.txt": "100755" });
    expect(back.entries.map((e) => e.madeBy >> 8)).toEqual([3, 3, 3, 3, 3]);
    expect(plan.uncompressedSize).toBe(6 + 10_000 + big.length + text.length);
    // The checksums are those of the stored bytes.
    const bytes = new Uint8Array(await (await env.BITS.get(key))!.arrayBuffer());
    expect(stored.sha1).toBe(Array.from(new Uint8Array(await crypto.subtle.digest("SHA-1", bytes)), (b) => b.toString(16).padStart(2, "0")).join(""));
  });

  it("a pool file at the path of an uploaded file replaces it (the reference adds matched files after unzipping)", async () => {
    const up = await uploaded(await buildZip([{ name: "a.txt", data: "uploaded" }, { name: "./b.txt", data: "uploaded b" }]));
    const { key } = await assemble(up, [await poolFile("b.txt", text, 8)]);
    const back = await readBack(key);
    expect([...back.contents.keys()]).toEqual(["a.txt", "b.txt"]);
    expect(back.contents.get("b.txt")).toEqual(text);
  });

  it("only pool files; only uploaded files; nothing at all: each a valid zip", async () => {
    const onlyPool = await assemble(undefined, [await poolFile("x/y.bin", big, 8)]);
    expect([...(await readBack(onlyPool.key)).contents.keys()]).toEqual(["x/y.bin"]);
    const up = await uploaded(await buildZip([{ name: "d/" }, { name: "d/f", data: "f", method: 8 }]));
    const onlyUploaded = await assemble(up, []);
    expect([...(await readBack(onlyUploaded.key)).contents.entries()].map(([k, v]) => [k, dec.decode(v)])).toEqual([["d/f", "f"]]);
    const empty = await assemble(undefined, []);
    expect(empty.plan.length).toBe(22);
    expect((await readBack(empty.key)).entries).toEqual([]);
  });

  it("zip64 (threshold lowered): sizes, offsets and the end records in zip64 form, and the result reads back the same", async () => {
    const up = await uploaded(await buildZip([{ name: "a.txt", data: "a".repeat(5000) }, { name: "b.txt", data: "b".repeat(3000), method: 8 }]));
    const pooled = [await poolFile("p.bin", big, 0), await poolFile("q.txt", text, 8)];
    const { plan, key } = await assemble(up, pooled, { zip64Threshold: 4096, zip64EntryThreshold: 3 });
    expect(plan.zip64).toBe(true);
    const back = await readBack(key);
    expect(back.zip64).toBe(true);
    expect(back.contents.get("a.txt")).toEqual(enc.encode("a".repeat(5000)));
    expect(back.contents.get("b.txt")).toEqual(enc.encode("b".repeat(3000)));
    expect(back.contents.get("p.bin")).toEqual(big);
    expect(back.contents.get("q.txt")).toEqual(text);
    // The real records: the EOCD saturated, then the zip64 EOCD and locator before it.
    const bytes = new Uint8Array(await (await env.BITS.get(key))!.arrayBuffer());
    const view = new DataView(bytes.buffer);
    const eocd = bytes.length - 22;
    expect(view.getUint32(eocd, true)).toBe(0x06054b50);
    expect(view.getUint16(eocd + 10, true)).toBe(0xffff);
    expect(view.getUint32(eocd + 16, true)).toBe(0xffffffff);
    expect(view.getUint32(eocd - 20, true)).toBe(0x07064b50);
    expect(view.getUint32(eocd - 76, true)).toBe(0x06064b50);
    // The first local header of a large entry carries its sizes in a zip64 extra field.
    expect(view.getUint32(18, true)).toBe(0xffffffff);
  });

  it("more than 65,535 entries: zip64 end records by count alone", async () => {
    const up = await uploaded(manyEntryZip(70_000));
    const { plan, key } = await assemble(up, [await poolFile("last.bin", big, 8)]);
    expect(plan.zip64).toBe(true);
    expect(plan.entries).toBe(70_001);
    const reader = await openBitsReader(env.BITS, key);
    const summary = await inspectZip(reader!);
    expect(summary).toMatchObject({ entries: 70_001, zip64: true });
  }, 120_000);

  it("the uploaded zip is read in one sequential ranged read, whatever its entry count", async () => {
    const up = await uploaded(await buildZip(Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, data: `file ${i}`, method: (i % 2 ? 8 : 0) as 0 | 8 }))));
    const gets: (R2GetOptions | undefined)[] = [];
    const spy = { ...recordingBucket(env.BITS).bucket, get: (k: string, o?: R2GetOptions) => (gets.push(o), env.BITS.get(k, o)) } as unknown as R2Bucket;
    const { key } = await assemble(up, [], {}, spy);
    expect(gets).toHaveLength(1);
    expect(gets[0]!.range).toEqual({ offset: 0, length: up.centralDirectoryOffset });
    expect((await readBack(key)).contents.size).toBe(50);
  });

  it("a pool file whose bytes do not match its CRC-32, a missing one, a short one: PooledFileError, and nothing stored", async () => {
    const good = await poolFile("good.bin", big, 8);
    const cases: [string, () => Promise<PooledFile>][] = [
      ["wrong bytes, deflated", async () => {
        const f = await poolFile("bad.txt", text, 8);
        await env.BITS.put(f.key, pseudoRandomBytes(f.entry.compressedSize, 3));
        return f;
      }],
      ["a flipped byte, stored", async () => {
        const f = await poolFile("bad.bin", big, 0);
        const bytes = big.slice();
        bytes[1000] = (bytes[1000]! + 1) & 0xff;
        await env.BITS.put(f.key, bytes);
        return f;
      }],
      ["the object is missing", async () => {
        const f = await poolFile("gone.bin", big, 0);
        await env.BITS.delete(f.key);
        return f;
      }],
      ["the object is shorter", async () => {
        const f = await poolFile("short.bin", big, 0);
        await env.BITS.put(f.key, big.subarray(0, 1000));
        return f;
      }],
      ["valid deflate of other content of the same length", async () => {
        const f = await poolFile("swapped.txt", text, 8);
        const other = text.slice();
        other[7] = 0x21;
        const stored = await deflateRaw(other);
        await env.BITS.put(f.key, stored);
        return { ...f, entry: { ...f.entry, compressedSize: stored.length } };
      }],
    ];
    for (const [name, make] of cases) {
      const bad = await make();
      const plan = planAssembly(undefined, [good, bad]);
      const key = `packages/corrupt/${crypto.randomUUID()}`;
      const err = await putBits(env.BITS, key, assemblyStream(env.BITS, plan), { length: plan.length }).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(PooledFileError);
      expect((err as PooledFileError).file.key, name).toBe(bad.key);
      expect(await listKeys(env.BITS, "packages/corrupt/"), name).toEqual([]);
    }
  });

  it("an uploaded entry whose local header is not where the central directory says: a ZipError, nothing stored", async () => {
    const zip = await buildZip([{ name: "a", data: "aaaa" }, { name: "b", data: "bbbb" }]);
    const up = await uploaded(zip);
    const lying = { ...up, entries: up.entries.map((e, i) => (i === 1 ? { ...e, localHeaderOffset: e.localHeaderOffset + 3 } : e)) };
    const plan = planAssembly(lying, []);
    const key = `packages/lying/${crypto.randomUUID()}`;
    const err = await putBits(env.BITS, key, assemblyStream(env.BITS, plan), { length: plan.length }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZipError);
    expect(await listKeys(env.BITS, "packages/lying/")).toEqual([]);
  });
});

describe("assembly from a source package (a previous package holding the pool files' bytes)", () => {
  const now = new Date("2024-05-01T12:00:00Z");
  /** Gets made through the bucket, by key. */
  function counting(): { bucket: R2Bucket; gets: { key: string; options: R2GetOptions | undefined }[] } {
    const gets: { key: string; options: R2GetOptions | undefined }[] = [];
    const bucket = { ...recordingBucket(env.BITS).bucket, get: (k: string, o?: R2GetOptions) => (gets.push({ key: k, options: o }), env.BITS.get(k, o)) } as unknown as R2Bucket;
    return { bucket, gets };
  }
  /** Twelve pool files; a package assembled from them; the files again, with that package as their source. */
  async function sourced() {
    const files: PooledFile[] = [];
    for (let i = 0; i < 12; i++) {
      const content = i % 3 === 0 ? pseudoRandomBytes(40_000 + i, 100 + i) : enc.encode(`file ${i} text\n`.repeat(3000 + i));
      files.push(await poolFile(`dir/f${i}`, content, (i % 2 ? 8 : 0) as 0 | 8));
    }
    const first = await assemble(undefined, files, { now });
    const withSource = pooledDataOffsets(first.plan).map(({ file, offset }) => ({ ...file, entry: { ...file.entry, source: { key: first.key, etag: first.stored.etag, offset } } }));
    return { files, first, withSource };
  }
  const bytesOf = async (key: string) => new Uint8Array(await (await env.BITS.get(key))!.arrayBuffer());

  it("reads the source with one ranged get (no pool object), and writes the same bytes as from the pool objects", async () => {
    const { first, withSource } = await sourced();
    const { bucket, gets } = counting();
    const again = await assemble(undefined, withSource, { now }, bucket);
    expect(gets).toHaveLength(1);
    expect(gets[0]!.key).toBe(first.key);
    expect(gets[0]!.options).toEqual({ range: { offset: withSource[0]!.entry.source!.offset, length: expect.any(Number) as number }, onlyIf: { etagMatches: first.stored.etag } });
    expect(await bytesOf(again.key)).toEqual(await bytesOf(first.key));
    const read = await readBack(again.key);
    expect(read.contents.size).toBe(12);
  });

  it("files of the source not wanted in between are read through; a wide gap starts a second get", async () => {
    const { first, withSource } = await sourced();
    const { bucket, gets } = counting();
    // Every other file: the gaps (one file each) are read and dropped, one get in all.
    const some = withSource.filter((_, i) => i % 2 === 0);
    const part = await assemble(undefined, some, { now }, bucket);
    expect(gets.map((g) => g.key)).toEqual([first.key]);
    const read = await readBack(part.key);
    expect([...read.contents.keys()]).toEqual(some.map((f) => f.path));
    // A gap above the bound (a 300 kB file of the source not wanted): two gets.
    const wide = [await poolFile("a", pseudoRandomBytes(70_000, 201), 0), await poolFile("gap", pseudoRandomBytes(300_000, 202), 0), await poolFile("b", pseudoRandomBytes(70_000, 203), 0)];
    const src = await assemble(undefined, wide, { now });
    const sourcedWide = pooledDataOffsets(src.plan).map(({ file, offset }) => ({ ...file, entry: { ...file.entry, source: { key: src.key, etag: src.stored.etag, offset } } }));
    const counted = counting();
    const out = await assemble(undefined, [sourcedWide[0]!, sourcedWide[2]!], { now }, counted.bucket);
    expect(counted.gets.map((g) => g.key)).toEqual([src.key, src.key]);
    expect([...(await readBack(out.key)).contents.keys()]).toEqual(["a", "b"]);
  });

  it("a source deleted or replaced (another etag): its files come from the pool objects, the same bytes", async () => {
    for (const change of ["deleted", "replaced"] as const) {
      const { files, first, withSource } = await sourced();
      const expected = await bytesOf(first.key);
      if (change === "deleted") await env.BITS.delete(first.key);
      else await env.BITS.put(first.key, new Uint8Array([...expected, 0])); // other content, another etag
      const { bucket, gets } = counting();
      const again = await assemble(undefined, withSource, { now }, bucket);
      expect(await bytesOf(again.key), change).toEqual(expected);
      // One failed get of the source, then each pool object once.
      expect(gets.map((g) => g.key), change).toEqual([first.key, ...files.map((f) => f.key)]);
    }
  });

  it("a source whose bytes do not match (same etag, other content at the offset): SourceError, not PooledFileError, and nothing stored", async () => {
    const { first, withSource } = await sourced();
    const bytes = await bytesOf(first.key);
    const corrupt = bytes.slice();
    const at = withSource[4]!.entry.source!.offset + 100;
    corrupt[at] = (corrupt[at]! + 1) & 0xff;
    const fake = `packages/fake/${crypto.randomUUID()}`;
    const put = await env.BITS.put(fake, corrupt);
    const pointing = withSource.map((f) => ({ ...f, entry: { ...f.entry, source: { ...f.entry.source!, key: fake, etag: put!.etag } } }));
    const plan = planAssembly(undefined, pointing, { now });
    const key = `packages/corrupt-source/${crypto.randomUUID()}`;
    const err = await putBits(env.BITS, key, assemblyStream(env.BITS, plan), { length: plan.length }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).file.path).toBe(withSource[4]!.path);
    expect(await listKeys(env.BITS, "packages/corrupt-source/")).toEqual([]);
  });
});
