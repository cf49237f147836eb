// Zip checks that read only what they need of a stored object, through ranged reads: the tail with
// the end-of-central-directory record (EOCD), the zip64 records, and the central directory (CD) in
// bounded chunks. The entries' data is never read, except by readZipEntry for one small file.
//
// Accepted: everything `unzip` accepts that is not split over several disks: zip64 archives,
// directory entries, archive comments, and self-extracting archives / executable jars with a
// launcher script before the first entry, whether or not their offsets were adjusted for it (the
// prefix is the distance between where the CD ends and where the end records say it ends).
//
// Failures are ZipError (reason + a message in unzip's words); ZipTooLargeError when the total
// uncompressed size is over the caller's limit. Errors of the reader (R2) propagate as they are.
import type { RangeReader } from "./range";

export type ZipErrorReason =
  /** No end-of-central-directory record: not a zip at all, or cut off at the end. */
  | "not-a-zip"
  /** The records contradict each other or point outside the file (truncated or corrupt). */
  | "inconsistent"
  /** Split archives, encryption, unknown compression, sizes beyond 2^53. */
  | "unsupported"
  /** Over a caller's limit (ZipTooLargeError, or an entry larger than readZipEntry's maxBytes). */
  | "too-large";

export class ZipError extends Error {
  override readonly name: string = "ZipError";
  constructor(readonly reason: ZipErrorReason, message: string) {
    super(message);
  }
}

/** The sum of the entries' uncompressed sizes is over `limit` (`total` is at least that much). */
export class ZipTooLargeError extends ZipError {
  override readonly name = "ZipTooLargeError";
  constructor(readonly limit: number, readonly total: number) {
    super("too-large", `the uncompressed size of the zip is over ${limit} bytes`);
  }
}

export interface ZipEntry {
  /** Decoded as UTF-8 (ASCII names read the same in every zip encoding). */
  name: string;
  isDirectory: boolean;
  /** 0 stored, 8 deflate, ... */
  method: number;
  /** General purpose flags (bit 0: encrypted, bit 11: UTF-8 name). */
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Where the entry's local header is in the object (the prefix already added). */
  localHeaderOffset: number;
}

interface ZipSummary {
  /** Entries in the central directory, directories included. */
  entries: number;
  directories: number;
  /** Sum of all entries' uncompressed sizes. */
  uncompressedSize: number;
  compressedSize: number;
  zip64: boolean;
  /** Bytes before the archive proper (a launcher script, an SFX stub), 0 for a plain zip. */
  prefixLength: number;
  /** Where the CD starts in the object, and its length. */
  centralDirectoryOffset: number;
  centralDirectorySize: number;
}

interface InspectZipOptions {
  /** Sum of uncompressed sizes allowed; more is a ZipTooLargeError (raised as soon as it is passed). */
  maxUncompressedSize?: number;
  /** Bytes of CD read at a time; default 1 MiB. */
  chunkSize?: number;
  /** Called for every CD entry, in order. */
  onEntry?: (entry: ZipEntry) => void;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const ZIP64_EOCD_SIZE = 56;
const ZIP64_LOCATOR_SIZE = 20;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
/** The EOCD plus the longest comment. */
const MAX_TAIL = EOCD_SIZE + 0xffff;

const u16 = (b: Uint8Array, o: number) => (b[o] as number) | ((b[o + 1] as number) << 8);
const u32 = (b: Uint8Array, o: number) => (u16(b, o) | (u16(b, o + 2) << 16)) >>> 0;
function u64(b: Uint8Array, o: number): number {
  const v = u32(b, o) + u32(b, o + 4) * 0x1_0000_0000;
  if (!Number.isSafeInteger(v)) throw new ZipError("unsupported", "zip64 value beyond 2^53");
  return v;
}

interface EndRecords {
  zip64: boolean;
  entries: number;
  cdSize: number;
  cdOffset: number;
  /** Where the records that follow the CD start: the zip64 EOCD, else the EOCD. */
  cdEnd: number;
}

/** Finds and reads the EOCD and, when present, the zip64 locator and EOCD. */
async function readEndRecords(reader: RangeReader): Promise<EndRecords> {
  const size = reader.size;
  if (size < EOCD_SIZE) throw new ZipError("not-a-zip", "end-of-central-directory signature not found");
  const tailLength = Math.min(size, MAX_TAIL);
  const tailStart = size - tailLength;
  const tail = await reader.read(tailStart, tailLength);

  // Search backwards; prefer a record whose comment ends exactly at the end of the file, else the
  // last record whose comment fits in the file.
  let found = -1;
  let fits = -1;
  for (let i = tailLength - EOCD_SIZE; i >= 0; i--) {
    if (tail[i] !== 0x50 || u32(tail, i) !== SIG_EOCD) continue;
    const end = i + EOCD_SIZE + u16(tail, i + 20);
    if (end === tailLength) {
      found = i;
      break;
    }
    if (end < tailLength && fits < 0) fits = i;
  }
  if (found < 0) found = fits;
  if (found < 0) throw new ZipError("not-a-zip", "end-of-central-directory signature not found");
  const eocdPos = tailStart + found;
  const e = tail.subarray(found, found + EOCD_SIZE);
  const disk = u16(e, 4);
  const cdDisk = u16(e, 6);
  const classic: EndRecords = { zip64: false, entries: u16(e, 10), cdSize: u32(e, 12), cdOffset: u32(e, 16), cdEnd: eocdPos };
  const saturated = disk === 0xffff || cdDisk === 0xffff || u16(e, 8) === 0xffff || classic.entries === 0xffff || classic.cdSize === 0xffffffff || classic.cdOffset === 0xffffffff;

  // The zip64 locator sits right before the EOCD.
  const locPos = eocdPos - ZIP64_LOCATOR_SIZE;
  let loc: Uint8Array | undefined;
  if (locPos >= 0) {
    loc = locPos >= tailStart ? tail.subarray(locPos - tailStart, locPos - tailStart + ZIP64_LOCATOR_SIZE) : await reader.read(locPos, ZIP64_LOCATOR_SIZE);
    if (u32(loc, 0) !== SIG_ZIP64_LOCATOR) loc = undefined;
  }
  if (loc === undefined) {
    if (saturated && (disk !== 0 || cdDisk !== 0)) throw new ZipError("unsupported", "multi-disk (split) zip archives are not supported");
    if (saturated) throw new ZipError("inconsistent", "zip64 end-of-central-directory locator not found");
    if (disk !== 0 || cdDisk !== 0) throw new ZipError("unsupported", "multi-disk (split) zip archives are not supported");
    return classic;
  }
  if (u32(loc, 4) !== 0 || u32(loc, 16) > 1) throw new ZipError("unsupported", "multi-disk (split) zip archives are not supported");

  // The zip64 EOCD normally ends right at the locator; a prefix shifts its recorded offset.
  const recorded = u64(loc, 8);
  for (const pos of new Set([locPos - ZIP64_EOCD_SIZE, recorded])) {
    if (pos < 0 || pos + ZIP64_EOCD_SIZE > locPos) continue;
    const z = await reader.read(pos, ZIP64_EOCD_SIZE);
    if (u32(z, 0) !== SIG_ZIP64_EOCD) continue;
    if (u32(z, 16) !== 0 || u32(z, 20) !== 0) throw new ZipError("unsupported", "multi-disk (split) zip archives are not supported");
    return { zip64: true, entries: u64(z, 32), cdSize: u64(z, 40), cdOffset: u64(z, 48), cdEnd: pos };
  }
  if (saturated) throw new ZipError("inconsistent", "zip64 end-of-central-directory record not found");
  // A locator signature that belongs to something else: the classic record is complete.
  return classic;
}

/**
 * Checks the archive's structure and sums its entries: finds the EOCD (and the zip64 records),
 * works out the prefix, parses the whole CD in chunks, and verifies that the first entry's local
 * header is where the CD says. Reads about 64 KiB plus the CD, never the entries' data.
 */
export async function inspectZip(reader: RangeReader, options: InspectZipOptions = {}): Promise<ZipSummary> {
  const end = await readEndRecords(reader);
  const maxTotal = options.maxUncompressedSize ?? Number.POSITIVE_INFINITY;
  const chunkSize = Math.max(options.chunkSize ?? 1024 * 1024, 64 * 1024);

  // Where the CD really is: it ends where the end records begin, unless something sits between.
  const prefix = end.cdEnd - (end.cdOffset + end.cdSize);
  if (prefix < 0) throw new ZipError("inconsistent", "the central directory is truncated or its offset is wrong (missing bytes before it)");
  let cdStart = end.cdOffset + prefix;
  let shift = prefix;
  if (end.cdSize > 0 && prefix > 0) {
    const sig = u32(await reader.read(cdStart, 4), 0);
    if (sig !== SIG_CENTRAL && end.cdOffset + 4 <= end.cdEnd && u32(await reader.read(end.cdOffset, 4), 0) === SIG_CENTRAL) {
      cdStart = end.cdOffset;
      shift = 0;
    }
  }
  if (end.entries === 0 && end.cdSize === 0) {
    return { entries: 0, directories: 0, uncompressedSize: 0, compressedSize: 0, zip64: end.zip64, prefixLength: shift, centralDirectoryOffset: cdStart, centralDirectorySize: 0 };
  }
  if (end.cdSize < CENTRAL_SIZE) throw new ZipError("inconsistent", "the central directory is truncated");

  const cdEnd = cdStart + end.cdSize;
  const decoder = options.onEntry ? new TextDecoder() : undefined;
  let entries = 0;
  let directories = 0;
  let uncompressed = 0;
  let compressed = 0;
  let firstLocal = Number.POSITIVE_INFINITY;
  let carry: Uint8Array = new Uint8Array(0);
  let pos = cdStart;
  while (pos < cdEnd || carry.length > 0) {
    if (pos < cdEnd) {
      const chunk = await reader.read(pos, Math.min(chunkSize, cdEnd - pos));
      pos += chunk.length;
      if (carry.length === 0) carry = chunk;
      else {
        const joined = new Uint8Array(carry.length + chunk.length);
        joined.set(carry);
        joined.set(chunk, carry.length);
        carry = joined;
      }
    }
    let o = 0;
    for (;;) {
      if (carry.length - o < CENTRAL_SIZE) break;
      if (u32(carry, o) !== SIG_CENTRAL) {
        throw new ZipError("inconsistent", `expected central file header signature not found (file #${entries + 1})`);
      }
      const nameLen = u16(carry, o + 28);
      const extraLen = u16(carry, o + 30);
      const commentLen = u16(carry, o + 32);
      const entryLen = CENTRAL_SIZE + nameLen + extraLen + commentLen;
      if (carry.length - o < entryLen) break;
      const entry = parseCentralEntry(carry.subarray(o, o + entryLen), nameLen, extraLen, shift, entries + 1);
      entries++;
      if (entry.isDirectory) directories++;
      uncompressed += entry.uncompressedSize;
      compressed += entry.compressedSize;
      if (uncompressed > maxTotal) throw new ZipTooLargeError(maxTotal, uncompressed);
      if (entry.localHeaderOffset + LOCAL_SIZE > cdStart) {
        throw new ZipError("inconsistent", `the local header of file #${entries} lies outside the archive`);
      }
      firstLocal = Math.min(firstLocal, entry.localHeaderOffset);
      if (options.onEntry && decoder) {
        options.onEntry({ ...entry, name: decoder.decode(carry.subarray(o + CENTRAL_SIZE, o + CENTRAL_SIZE + nameLen)) });
      }
      o += entryLen;
    }
    carry = carry.subarray(o);
    if (pos >= cdEnd && carry.length > 0) {
      throw new ZipError("inconsistent", `the central directory is truncated (file #${entries + 1} is incomplete)`);
    }
  }

  const expected = end.entries;
  if (entries !== expected && (end.zip64 || entries < 0x10000 || entries % 0x10000 !== expected)) {
    throw new ZipError("inconsistent", `the central directory has ${entries} entries, the end record says ${expected}`);
  }
  if (u32(await reader.read(firstLocal, 4), 0) !== SIG_LOCAL) {
    throw new ZipError("inconsistent", "no local file header where the central directory says the first entry starts");
  }
  return {
    entries,
    directories,
    uncompressedSize: uncompressed,
    compressedSize: compressed,
    zip64: end.zip64,
    prefixLength: shift,
    centralDirectoryOffset: cdStart,
    centralDirectorySize: end.cdSize,
  };
}

/** One CD entry (without decoding its name); sizes and offset from the zip64 extra field when saturated. */
function parseCentralEntry(b: Uint8Array, nameLen: number, extraLen: number, shift: number, index: number): Omit<ZipEntry, "name"> {
  let compressedSize = u32(b, 20);
  let uncompressedSize = u32(b, 24);
  let localHeaderOffset = u32(b, 42);
  const diskStart = u16(b, 34);
  if (compressedSize === 0xffffffff || uncompressedSize === 0xffffffff || localHeaderOffset === 0xffffffff || diskStart === 0xffff) {
    const extra = b.subarray(CENTRAL_SIZE + nameLen, CENTRAL_SIZE + nameLen + extraLen);
    let z: Uint8Array | undefined;
    for (let i = 0; i + 4 <= extra.length; ) {
      const id = u16(extra, i);
      const len = u16(extra, i + 2);
      if (id === 0x0001) {
        z = extra.subarray(i + 4, Math.min(extra.length, i + 4 + len));
        break;
      }
      i += 4 + len;
    }
    let p = 0;
    const next = (): number => {
      if (z === undefined || p + 8 > z.length) throw new ZipError("inconsistent", `file #${index} lacks its zip64 extra field`);
      const v = u64(z, p);
      p += 8;
      return v;
    };
    if (uncompressedSize === 0xffffffff) uncompressedSize = next();
    if (compressedSize === 0xffffffff) compressedSize = next();
    if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
    if (diskStart === 0xffff && (z === undefined || p + 4 > z.length)) throw new ZipError("inconsistent", `file #${index} lacks its zip64 extra field`);
    if (diskStart === 0xffff && z !== undefined && u32(z, p) !== 0) throw new ZipError("unsupported", "multi-disk (split) zip archives are not supported");
  } else if (diskStart !== 0) {
    throw new ZipError("unsupported", "multi-disk (split) zip archives are not supported");
  }
  return {
    isDirectory: nameLen > 0 && (b[CENTRAL_SIZE + nameLen - 1] === 0x2f || b[CENTRAL_SIZE + nameLen - 1] === 0x5c),
    method: u16(b, 10),
    flags: u16(b, 8),
    crc32: u32(b, 16),
    compressedSize,
    uncompressedSize,
    localHeaderOffset: localHeaderOffset + shift,
  };
}

/**
 * The content of one (small) entry, checked against its CRC-32. Stored and deflated entries only.
 * An entry whose uncompressed size is over `maxBytes` is a ZipError "too-large" without reading it.
 */
export async function readZipEntry(reader: RangeReader, entry: ZipEntry, maxBytes: number): Promise<Uint8Array> {
  if (entry.uncompressedSize > maxBytes) throw new ZipError("too-large", `${entry.name} is larger than ${maxBytes} bytes`);
  if (entry.flags & 1) throw new ZipError("unsupported", `${entry.name} is encrypted`);
  if (entry.method !== 0 && entry.method !== 8) throw new ZipError("unsupported", `${entry.name} uses compression method ${entry.method}`);
  // A deflated body is never much larger than its content; refuse to fetch more than that.
  if (entry.compressedSize > entry.uncompressedSize + (entry.uncompressedSize >>> 6) + 1024) {
    throw new ZipError("inconsistent", `${entry.name} has an impossible compressed size`);
  }
  if (entry.localHeaderOffset + LOCAL_SIZE > reader.size) throw new ZipError("inconsistent", `the local header of ${entry.name} is missing`);
  const local = await reader.read(entry.localHeaderOffset, LOCAL_SIZE);
  if (u32(local, 0) !== SIG_LOCAL) throw new ZipError("inconsistent", `the local header of ${entry.name} is missing`);
  const dataStart = entry.localHeaderOffset + LOCAL_SIZE + u16(local, 26) + u16(local, 28);
  if (dataStart + entry.compressedSize > reader.size) throw new ZipError("inconsistent", `${entry.name} is truncated`);
  const raw = await reader.read(dataStart, entry.compressedSize);
  let data: Uint8Array;
  if (entry.method === 0) data = raw;
  else {
    try {
      data = await inflateRaw(raw, entry.uncompressedSize);
    } catch (e) {
      if (e instanceof ZipError) throw e;
      throw new ZipError("inconsistent", `${entry.name} cannot be inflated`);
    }
  }
  if (data.length !== entry.uncompressedSize) throw new ZipError("inconsistent", `${entry.name} has the wrong size`);
  if (crc32(data) !== entry.crc32) throw new ZipError("inconsistent", `${entry.name} fails its CRC check`);
  return data;
}

/** The content of the entry named exactly `name`, or null when there is none (see readZipEntry). */
export async function readZipFile(reader: RangeReader, name: string, maxBytes: number): Promise<Uint8Array | null> {
  let found: ZipEntry | undefined;
  await inspectZip(reader, {
    onEntry: (e) => {
      if (found === undefined && e.name === name) found = e;
    },
  });
  return found === undefined ? null : readZipEntry(reader, found, maxBytes);
}

async function inflateRaw(raw: Uint8Array, expected: number): Promise<Uint8Array> {
  const out = new Uint8Array(expected);
  let filled = 0;
  const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (filled + value.length > expected) {
      await reader.cancel();
      throw new ZipError("inconsistent", "an entry inflates to more than its recorded size");
    }
    out.set(value, filled);
    filled += value.length;
  }
  return out.subarray(0, filled);
}

let crcTable: Uint32Array | undefined;
/** CRC-32 (IEEE), as zip uses it. */
export function crc32(data: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = (crcTable[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Content sniffing (buildpack uploads)

/**
 * What an upload is, by content:
 * - "zip": starts with a local file header `PK\x03\x04` (what the reference requires of a
 *   buildpack-lifecycle buildpack);
 * - "zip-prefixed": does not start with one, but has an EOCD (self-extracting archive, executable
 *   jar with a launcher script, an empty zip): a valid zip the reference's magic check rejects;
 * - "gzip": starts with `1F 8B 08`; "tar": `ustar\0` + `00` at offset 257 (POSIX ustar). These two
 *   are what the reference accepts for a cnb-lifecycle buildpack (GNU tar's `ustar  \0` is not);
 * - "empty": no bytes; "unknown": anything else.
 */
export type ArchiveKind = "zip" | "zip-prefixed" | "gzip" | "tar" | "empty" | "unknown";

/** The kind by the first bytes alone (give at least 265 bytes, or the whole file when shorter). */
export function sniffArchiveHead(head: Uint8Array, size: number = head.length): Exclude<ArchiveKind, "zip-prefixed"> {
  if (size === 0) return "empty";
  if (head.length >= 4 && u32(head, 0) === SIG_LOCAL) return "zip";
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return "gzip";
  const USTAR = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30];
  if (head.length >= 265 && USTAR.every((c, i) => head[257 + i] === c)) return "tar";
  return "unknown";
}

/** The kind of a stored object: its first 512 bytes, and its tail when those say nothing. */
export async function sniffArchive(reader: RangeReader): Promise<ArchiveKind> {
  const kind = sniffArchiveHead(await reader.read(0, Math.min(reader.size, 512)), reader.size);
  if (kind !== "unknown") return kind;
  try {
    await readEndRecords(reader);
    return "zip-prefixed";
  } catch (e) {
    if (e instanceof ZipError) return "unknown";
    throw e;
  }
}
