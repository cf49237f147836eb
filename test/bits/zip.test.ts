import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bytesReader, type RangeReader } from "../../src/bits/range";
import { openBitsReader } from "../../src/bits/store";
import { crc32, inspectZip, readZipEntry, readZipFile, sniffArchive, sniffArchiveHead, ZipError, ZipTooLargeError, type ZipEntry, type ZipErrorReason } from "../../src/bits/zip";
import { concat, dec, enc, pseudoRandomBytes } from "../helpers/bytes";
import { buildZip, crc32 as fixtureCrc32, manyEntryZip, type FixtureEntry } from "../helpers/zip";

const GiB = 1024 * 1024 * 1024;
const LAUNCHER = '#!/bin/bash\n# launcher script of an executable jar\nexec java -jar "$0" "$@"\nexit 1\n';

const files: FixtureEntry[] = [
  { name: "app/" },
  { name: "app/lib/" },
  { name: "app/hello.txt", data: "hello world\n" },
  { name: "app/lib/data.bin", data: "0123456789".repeat(1000), method: 8 },
  { name: "manifest.yml", data: "---\nstack: cflinuxfs4\n", method: 8 },
];
const totalSize = 12 + 10_000 + 22;

/** A reader that records every read, to prove only the tail and the CD are read. */
function countingReader(inner: RangeReader): RangeReader & { reads: [number, number][]; bytes: () => number; largest: () => number } {
  const reads: [number, number][] = [];
  return {
    size: inner.size,
    reads,
    bytes: () => reads.reduce((n, [, l]) => n + l, 0),
    largest: () => Math.max(0, ...reads.map(([, l]) => l)),
    read(offset, length) {
      reads.push([offset, length]);
      return inner.read(offset, length);
    },
  };
}

async function stored(key: string, bytes: Uint8Array): Promise<RangeReader> {
  await env.BITS.put(key, bytes);
  const reader = await openBitsReader(env.BITS, key);
  if (reader === null) throw new Error("not stored");
  return reader;
}

async function zipError(p: Promise<unknown>, reason: ZipErrorReason, message?: RegExp): Promise<ZipError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ZipError);
  const z = err as ZipError;
  expect(z.reason).toBe(reason);
  if (message) expect(z.message).toMatch(message);
  return z;
}

describe("valid archives", () => {
  it("a plain zip with directory entries, read from R2", async () => {
    const zip = await buildZip(files);
    const summary = await inspectZip(await stored("zip/plain", zip));
    expect(summary).toMatchObject({ entries: 5, directories: 2, uncompressedSize: totalSize, zip64: false, prefixLength: 0, centralDirectorySize: expect.any(Number) });
    expect(summary.compressedSize).toBeLessThan(summary.uncompressedSize);
  });

  it("a zip64 archive (saturated EOCD, zip64 extra fields, zip64 EOCD record and locator)", async () => {
    const zip = await buildZip(files, { zip64: true });
    const summary = await inspectZip(await stored("zip/z64", zip));
    expect(summary).toMatchObject({ entries: 5, directories: 2, uncompressedSize: totalSize, zip64: true, prefixLength: 0 });
  });

  it("zip64 sizes beyond 4 GiB are summed", async () => {
    const zip = await buildZip([{ name: "big.bin", data: "tiny", method: 8, claimUncompressed: 5 * GiB }, { name: "b.txt", data: "b" }], { zip64: true });
    const summary = await inspectZip(bytesReader(zip));
    expect(summary.uncompressedSize).toBe(5 * GiB + 1);
  });

  it("an executable jar with a launcher script prepended (offsets not adjusted, like `cat stub app.zip`)", async () => {
    const zip = await buildZip(files, { prefix: LAUNCHER });
    const summary = await inspectZip(await stored("zip/jar", zip));
    expect(summary).toMatchObject({ entries: 5, uncompressedSize: totalSize, prefixLength: enc.encode(LAUNCHER).length });
    expect(dec.decode(zip.subarray(0, 11))).toBe("#!/bin/bash");
  });

  it("an executable jar whose offsets include the script (zip -A, Spring Boot)", async () => {
    const zip = await buildZip(files, { prefix: LAUNCHER, adjustOffsets: true });
    expect(await inspectZip(bytesReader(zip))).toMatchObject({ entries: 5, uncompressedSize: totalSize, prefixLength: 0 });
  });

  it("a zip64 archive with a prefix", async () => {
    const zip = await buildZip(files, { prefix: LAUNCHER, zip64: true });
    expect(await inspectZip(bytesReader(zip))).toMatchObject({ entries: 5, zip64: true, prefixLength: enc.encode(LAUNCHER).length });
  });

  it("an archive comment, even one containing an EOCD signature", async () => {
    const zip = await buildZip(files, { comment: "built by test PK\x05\x06 not a record" + "c".repeat(60_000) });
    expect(await inspectZip(bytesReader(zip))).toMatchObject({ entries: 5, uncompressedSize: totalSize });
  });

  it("an empty zip (22 bytes) parses with 0 entries", async () => {
    const zip = await buildZip([]);
    expect(zip.length).toBe(22);
    expect(await inspectZip(bytesReader(zip))).toMatchObject({ entries: 0, uncompressedSize: 0 });
  });

  it("reports every entry with its real offset", async () => {
    const zip = await buildZip(files, { prefix: LAUNCHER });
    const seen: ZipEntry[] = [];
    await inspectZip(bytesReader(zip), { onEntry: (e) => seen.push(e) });
    expect(seen.map((e) => [e.name, e.isDirectory])).toEqual([
      ["app/", true],
      ["app/lib/", true],
      ["app/hello.txt", false],
      ["app/lib/data.bin", false],
      ["manifest.yml", false],
    ]);
    for (const e of seen) expect(dec.decode(zip.subarray(e.localHeaderOffset, e.localHeaderOffset + 4))).toBe("PK\x03\x04");
  });

  it("a 100,000-entry central directory (entry count past 65535 without zip64) in bounded reads", async () => {
    const zip = manyEntryZip(100_000);
    const reader = countingReader(await stored("zip/many", zip));
    const seen: string[] = [];
    const summary = await inspectZip(reader, { onEntry: (e) => seen.length < 3 && seen.push(e.name) });
    expect(summary.entries).toBe(100_000);
    expect(summary.centralDirectorySize).toBe(100_000 * (46 + 12));
    expect(seen).toEqual(["d/000000.txt", "d/000001.txt", "d/000002.txt"]);
    expect(reader.largest()).toBeLessThanOrEqual(1024 * 1024); // never more than one chunk per read
    // The tail, the CD and one local header; not the 3 MB of local headers before the CD.
    expect(reader.bytes()).toBeLessThan(summary.centralDirectorySize + 70_000);
    expect(reader.bytes()).toBeLessThan(zip.length);
  });
});

describe("invalid archives", () => {
  it("garbage, an empty file and a short file: no end-of-central-directory record", async () => {
    await zipError(inspectZip(await stored("bad/garbage", pseudoRandomBytes(200_000, 2))), "not-a-zip", /end-of-central-directory signature not found/);
    await zipError(inspectZip(bytesReader(new Uint8Array(0))), "not-a-zip");
    await zipError(inspectZip(bytesReader(enc.encode("PK\x03\x04"))), "not-a-zip");
  });

  it("a zip cut off anywhere is rejected", async () => {
    const zip = await buildZip(files);
    for (let cut = 1; cut < zip.length; cut += 97) {
      const err = await inspectZip(bytesReader(zip.subarray(0, zip.length - cut))).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `cut ${cut}`).toBeInstanceOf(ZipError);
    }
  });

  it("bytes missing before the central directory (head of the file cut off)", async () => {
    const zip = await buildZip(files);
    await zipError(inspectZip(bytesReader(zip.subarray(100))), "inconsistent", /truncated or its offset is wrong/);
  });

  it("a corrupt central directory entry", async () => {
    const zip = await buildZip(files);
    const summary = await inspectZip(bytesReader(zip));
    const second = zip.slice();
    // Damage the second entry's signature.
    let o = summary.centralDirectoryOffset;
    o += 46 + (second[o + 28]! | (second[o + 29]! << 8));
    second[o] = 0x51;
    await zipError(inspectZip(bytesReader(second)), "inconsistent", /expected central file header signature not found \(file #2\)/);
  });

  it("an entry count that disagrees with the central directory", async () => {
    const zip = await buildZip(files);
    const wrong = zip.slice();
    wrong[wrong.length - 22 + 10] = 4; // total entries 5 -> 4
    wrong[wrong.length - 22 + 8] = 4;
    await zipError(inspectZip(bytesReader(wrong)), "inconsistent", /has 5 entries, the end record says 4/);
  });

  it("a central directory size that cuts an entry in half", async () => {
    const zip = await buildZip(files);
    const wrong = zip.slice();
    const view = new DataView(wrong.buffer);
    const e = wrong.length - 22;
    view.setUint32(e + 12, view.getUint32(e + 12, true) - 10, true);
    view.setUint32(e + 16, view.getUint32(e + 16, true) + 10, true); // keep cdOffset + cdSize
    await zipError(inspectZip(bytesReader(wrong)), "inconsistent");
  });

  it("a local header offset pointing past the central directory, or at no local header", async () => {
    const zip = await buildZip([{ name: "a.txt", data: "a" }]);
    const summary = await inspectZip(bytesReader(zip));
    const outside = zip.slice();
    new DataView(outside.buffer).setUint32(summary.centralDirectoryOffset + 42, summary.centralDirectoryOffset + 5, true);
    await zipError(inspectZip(bytesReader(outside)), "inconsistent", /outside the archive/);
    const nowhere = zip.slice();
    new DataView(nowhere.buffer).setUint32(summary.centralDirectoryOffset + 42, 3, true);
    await zipError(inspectZip(bytesReader(nowhere)), "inconsistent", /no local file header/);
  });

  it("a saturated EOCD without zip64 records", async () => {
    const zip = await buildZip(files, { zip64: true });
    // Drop the zip64 EOCD record and locator (76 bytes before the EOCD).
    const e = zip.length - 22;
    const stripped = concat(zip.subarray(0, e - 76), zip.subarray(e));
    await zipError(inspectZip(bytesReader(stripped)), "inconsistent", /zip64 end-of-central-directory locator not found/);
  });

  it("split archives", async () => {
    const zip = await buildZip(files);
    zip[zip.length - 22 + 4] = 1; // this disk = 1
    await zipError(inspectZip(bytesReader(zip)), "unsupported", /multi-disk/);
  });
});

describe("uncompressed size limit", () => {
  it("passes at the limit and fails one byte under it", async () => {
    const zip = await buildZip(files);
    expect((await inspectZip(bytesReader(zip), { maxUncompressedSize: totalSize })).uncompressedSize).toBe(totalSize);
    const err = await zipError(inspectZip(bytesReader(zip), { maxUncompressedSize: totalSize - 1 }), "too-large");
    expect(err).toBeInstanceOf(ZipTooLargeError);
    expect((err as ZipTooLargeError).limit).toBe(totalSize - 1);
  });

  it("a claimed 5 GiB zip64 entry is over a 1 GiB limit", async () => {
    const zip = await buildZip([{ name: "bomb.bin", data: new Uint8Array(1000), method: 8, claimUncompressed: 5 * GiB }], { zip64: true });
    const err = await zipError(inspectZip(await stored("zip/bomb", zip), { maxUncompressedSize: GiB }), "too-large", /over 1073741824 bytes/);
    expect((err as ZipTooLargeError).total).toBe(5 * GiB);
  });
});

describe("reading one entry", () => {
  it("reads a deflated manifest.yml from a prefixed zip in R2", async () => {
    const reader = await stored("zip/manifest", await buildZip(files, { prefix: LAUNCHER }));
    expect(dec.decode((await readZipFile(reader, "manifest.yml", 1024 * 1024))!)).toBe("---\nstack: cflinuxfs4\n");
    expect(dec.decode((await readZipFile(reader, "app/hello.txt", 100))!)).toBe("hello world\n");
    expect(await readZipFile(reader, "missing.yml", 1024)).toBeNull();
    await zipError(readZipFile(reader, "manifest.yml", 10), "too-large");
  });

  it("rejects an entry whose content fails its CRC, or that inflates past its size", async () => {
    const zip = await buildZip([{ name: "m.yml", data: "stack: x\n" }]);
    const entries: ZipEntry[] = [];
    await inspectZip(bytesReader(zip), { onEntry: (e) => entries.push(e) });
    const tampered = zip.slice();
    tampered[30 + 5] = 0x21; // change a content byte of the stored entry
    await zipError(readZipEntry(bytesReader(tampered), entries[0]!, 100), "inconsistent", /CRC/);
    const lying = { ...entries[0]!, uncompressedSize: 3 };
    await zipError(readZipEntry(bytesReader(zip), lying, 100), "inconsistent");
  });

  it("computes the same CRC-32 as the independent fixture writer", () => {
    const data = pseudoRandomBytes(5000, 3);
    expect(crc32(data)).toBe(fixtureCrc32(data));
    expect(crc32(enc.encode("123456789"))).toBe(0xcbf43926);
  });
});

describe("sniffing buildpack uploads by content", () => {
  const tarHeader = (magic: string) => {
    const h = new Uint8Array(1024);
    h.set(enc.encode("buildpack.toml"), 0);
    h.set(enc.encode(magic), 257);
    return h;
  };

  it("tells zip, prefixed zip, gzip, POSIX tar, empty and unknown apart", async () => {
    const zip = await buildZip(files);
    const gz = new Uint8Array(await new Response(new Blob([tarHeader("ustar\x0000")]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
    const cases: [string, Uint8Array, string][] = [
      ["zip", zip, "zip"],
      ["jar with launcher", await buildZip(files, { prefix: LAUNCHER }), "zip-prefixed"],
      ["empty zip", await buildZip([]), "zip-prefixed"],
      ["gzip", gz, "gzip"],
      ["ustar", tarHeader("ustar\x0000"), "tar"],
      ["GNU tar (the reference rejects it)", tarHeader("ustar  \x00"), "unknown"],
      ["garbage", pseudoRandomBytes(4096, 4), "unknown"],
      ["empty", new Uint8Array(0), "empty"],
    ];
    for (const [label, bytes, kind] of cases) {
      await env.BITS.put(`sniff/${label}`, bytes);
      const reader = await openBitsReader(env.BITS, `sniff/${label}`);
      expect(await sniffArchive(reader!), label).toBe(kind);
    }
    expect(sniffArchiveHead(zip.subarray(0, 4), zip.length)).toBe("zip");
    expect(sniffArchiveHead(gz.subarray(0, 3), gz.length)).toBe("gzip");
  });
});
