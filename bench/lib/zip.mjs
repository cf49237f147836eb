// A valid stored (uncompressed) zip of any size, generated on the fly and streamed: only one chunk
// exists at a time. Entry contents are a random block stamped with the entry and chunk number, so every
// chunk differs; the CRC-32 of each entry is computed in a first pass over the same bytes, so the local
// headers carry real CRCs and sizes (no data descriptors) and any unzip accepts the archive.
import { createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";

const CHUNK = 256 * 1024;
const ENTRY_SIZE = 16 * 1024 * 1024;
const LOCAL_HEADER = 30;
const CENTRAL_HEADER = 46;
const END_RECORD = 22;
// 2026-01-01 00:00:00 in MS-DOS date/time.
const DOS_TIME = 0;
const DOS_DATE = ((2026 - 1980) << 9) | (1 << 5) | 1;

export const MiB = 1024 * 1024;

/**
 * A stored zip holding `dataBytes` bytes of file content in entries of 16 MiB.
 * Returns { size, entries, chunks(): AsyncGenerator<Buffer> } with `size` the exact archive length.
 */
export function streamedZip(dataBytes) {
  if (dataBytes > 3.5 * 1024 * MiB) throw new RangeError("the bench zip has no zip64: keep it under 3.5 GiB");
  const base = randomBytes(CHUNK);
  const entries = [];
  for (let offset = 0, i = 0; offset < dataBytes; offset += ENTRY_SIZE, i++) {
    const size = Math.min(ENTRY_SIZE, dataBytes - offset);
    entries.push({ name: Buffer.from(`app/file-${String(i).padStart(5, "0")}.bin`), size, crc: 0 });
  }

  /** The bytes of entry i, chunk by chunk; `reuse` fills one buffer in place (for the CRC pass). */
  function* content(i, reuse) {
    const { size } = entries[i];
    for (let pos = 0, n = 0; pos < size; pos += CHUNK, n++) {
      const len = Math.min(CHUNK, size - pos);
      const chunk = reuse ?? Buffer.allocUnsafe(CHUNK);
      base.copy(chunk, 0, 0, len);
      if (len >= 8) {
        chunk.writeUInt32LE(i, 0);
        chunk.writeUInt32LE(n, 4);
      }
      yield len === CHUNK ? chunk : chunk.subarray(0, len);
    }
  }

  const scratch = Buffer.allocUnsafe(CHUNK);
  for (let i = 0; i < entries.length; i++) {
    let crc = 0;
    for (const chunk of content(i, scratch)) crc = crc32(chunk, crc);
    entries[i].crc = crc;
  }

  let cdSize = 0;
  let cdOffset = 0;
  for (const e of entries) {
    e.offset = cdOffset;
    cdOffset += LOCAL_HEADER + e.name.length + e.size;
    cdSize += CENTRAL_HEADER + e.name.length;
  }
  const size = cdOffset + cdSize + END_RECORD;

  function localHeader(e) {
    const h = Buffer.alloc(LOCAL_HEADER + e.name.length);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(10, 4); // version needed: 1.0 (stored)
    h.writeUInt16LE(0x0800, 6); // UTF-8 names
    h.writeUInt16LE(0, 8); // stored
    h.writeUInt16LE(DOS_TIME, 10);
    h.writeUInt16LE(DOS_DATE, 12);
    h.writeUInt32LE(e.crc, 14);
    h.writeUInt32LE(e.size, 18);
    h.writeUInt32LE(e.size, 22);
    h.writeUInt16LE(e.name.length, 26);
    h.writeUInt16LE(0, 28);
    e.name.copy(h, LOCAL_HEADER);
    return h;
  }

  function centralDirectory() {
    const cd = Buffer.alloc(cdSize + END_RECORD);
    let p = 0;
    for (const e of entries) {
      cd.writeUInt32LE(0x02014b50, p);
      cd.writeUInt16LE(0x0314, p + 4); // made by: Unix, 2.0
      cd.writeUInt16LE(10, p + 6);
      cd.writeUInt16LE(0x0800, p + 8);
      cd.writeUInt16LE(0, p + 10);
      cd.writeUInt16LE(DOS_TIME, p + 12);
      cd.writeUInt16LE(DOS_DATE, p + 14);
      cd.writeUInt32LE(e.crc, p + 16);
      cd.writeUInt32LE(e.size, p + 20);
      cd.writeUInt32LE(e.size, p + 24);
      cd.writeUInt16LE(e.name.length, p + 28);
      cd.writeUInt16LE(0, p + 30); // extra
      cd.writeUInt16LE(0, p + 32); // comment
      cd.writeUInt16LE(0, p + 34); // disk
      cd.writeUInt16LE(0, p + 36); // internal attributes
      cd.writeUInt32LE((0o100644 << 16) >>> 0, p + 38); // -rw-r--r--
      cd.writeUInt32LE(e.offset, p + 42);
      e.name.copy(cd, p + CENTRAL_HEADER);
      p += CENTRAL_HEADER + e.name.length;
    }
    cd.writeUInt32LE(0x06054b50, p);
    cd.writeUInt16LE(0, p + 4);
    cd.writeUInt16LE(0, p + 6);
    cd.writeUInt16LE(entries.length, p + 8);
    cd.writeUInt16LE(entries.length, p + 10);
    cd.writeUInt32LE(cdSize, p + 12);
    cd.writeUInt32LE(cdOffset, p + 16);
    cd.writeUInt16LE(0, p + 20);
    return cd;
  }

  return {
    size,
    entries: entries.length,
    async *chunks() {
      for (let i = 0; i < entries.length; i++) {
        yield localHeader(entries[i]);
        yield* content(i);
      }
      yield centralDirectory();
    },
  };
}

/**
 * The cf CLI's upload form around a stream of zip bytes: a `resources` field of `[]`, then the `bits`
 * file part. Returns { size, contentType, chunks() } with the exact body length.
 */
export function multipartUpload(zipSize, zipChunks) {
  const boundary = `bench-${randomBytes(12).toString("hex")}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="resources"\r\n\r\n[]\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="bits"; filename="application.zip"\r\nContent-Type: application/zip\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    size: head.length + zipSize + tail.length,
    contentType: `multipart/form-data; boundary=${boundary}`,
    async *chunks() {
      yield head;
      yield* zipChunks();
      yield tail;
    },
  };
}

/** Wraps an async chunk generator so that SHA-1, SHA-256 and the length of what passed are known after. */
export function hashing(chunks) {
  const sha1 = createHash("sha1");
  const sha256 = createHash("sha256");
  const result = { bytes: 0, sha1: "", sha256: "" };
  result.chunks = async function* () {
    for await (const chunk of chunks()) {
      sha1.update(chunk);
      sha256.update(chunk);
      result.bytes += chunk.length;
      yield chunk;
    }
    result.sha1 = sha1.digest("hex");
    result.sha256 = sha256.digest("hex");
  };
  return result;
}
