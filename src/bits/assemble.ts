// A package zip assembled from the entries of an uploaded zip and files of the resource pool, as one
// stream whose length is known before its first byte (so it goes to R2 as one put of known length).
//
// Nothing is re-compressed: each entry gets a fresh local header (no data descriptor; method, CRC-32
// and sizes from the uploaded zip's central directory, or from the pool entry) followed by its
// compressed bytes copied as they are; then a new central directory, with zip64 records where a
// size, an offset or the entry count needs them. Directory entries of the upload are dropped, as the
// reference does (`zip -d` in lib/cloud_controller/packager/shared_bits_packer.rb).
//
// The uploaded entries are copied in offset order, in ONE sequential (ranged) read of the uploaded
// object. A pool file whose bytes a previous package also holds (its recorded source: key, etag,
// offset) is read from there: the pool files are grouped by source and ordered by offset, and each
// source is read by as few ranged gets (pinned to the etag) as the gaps allow; a source gone or replaced
// sends its files to their own pool objects, one get each. While a pool file is copied its CRC-32 and size
// are checked (inflated on the side by zlib, which verifies both; nothing kept): a mismatch, a missing or
// short object errors the stream with PooledFileError before the central directory, so a put of the
// stream's known length never completes (from a source: SourceError, after which assembling again
// from the pool objects is sound). Memory is flat: bytes pass through one reused buffer into
// the reader's own buffers (a byte stream answering BYOB reads), whatever the package's size.
import { ByteReader } from "./byte-reader";
import { BitsChangedError, BitsNotFoundError } from "./store";
import { ZipError, type ZipEntry } from "./zip";

/** What a pool file contributes: its compressed bytes as a zip stores them, and their facts. */
export interface PoolPart {
  size: number;
  compressedSize: number;
  crc32: number;
  /** 0 stored, 8 deflate. */
  method: number;
  /** A package object that also holds these compressed bytes, at `offset` (read there when it can be). */
  source?: { key: string; etag: string; offset: number } | undefined;
}

/** A file of the package taken from the pool. */
export interface PooledFile<E extends PoolPart = PoolPart> {
  /** The path in the package ('/'-separated, already checked and normalized). */
  path: string;
  /** Unix permission bits (e.g. 0o644). */
  mode: number;
  /** The R2 key of the pool object. */
  key: string;
  entry: E;
}

/**
 * A pool file's bytes read from its source package did not match (short, or not its CRC-32 and size):
 * the assembly stops (bytes went out already); assembling again from the pool objects is sound.
 */
export class SourceError extends Error {
  override readonly name = "SourceError";
  constructor(readonly file: PooledFile, readonly reason: string) {
    super(`the source of the pooled file ${file.path} (${file.entry.source?.key ?? ""}) does not match: ${reason}`);
  }
}

/** A pool file whose object is missing, or whose bytes do not match its size or CRC-32. */
export class PooledFileError<E extends PoolPart = PoolPart> extends Error {
  override readonly name = "PooledFileError";
  constructor(readonly file: PooledFile<E>, readonly reason: string) {
    super(`the pooled file ${file.path} (${file.key}) is corrupt: ${reason}`);
  }
}

export interface UploadedZip {
  /** The uploaded object, pinned to its etag. */
  key: string;
  etag: string;
  /** Its central directory entries (src/bits/zip.ts inspectZip), directories included. */
  entries: readonly ZipEntry[];
  /** Where its central directory starts: the entries' data all lie before. */
  centralDirectoryOffset: number;
}

export interface AssemblyOptions {
  /** Sizes and offsets from this value on are written as zip64 (default 0xFFFFFFFF; lower only in tests). */
  zip64Threshold?: number;
  /** Entry counts from this value on need the zip64 end records (default 0xFFFF; lower only in tests). */
  zip64EntryThreshold?: number;
  /** The modification time of pool files (default now). */
  now?: Date;
}

/** One entry of the output. */
interface Item {
  name: Uint8Array;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  modTime: number;
  modDate: number;
  versionMadeBy: number;
  versionNeeded: number;
  internalAttributes: number;
  externalAttributes: number;
  /** Where its new local header goes. */
  offset: number;
  localZip64: boolean;
  source: { uploaded: ZipEntry } | { pooled: PooledFile };
}

export interface AssemblyPlan {
  /** Bytes of the assembled zip. */
  length: number;
  /** Sum of the entries' uncompressed sizes (what MAX_PACKAGE_SIZE limits). */
  uncompressedSize: number;
  /** Entries in the assembled zip. */
  entries: number;
  zip64: boolean;
  readonly items: readonly Item[];
  readonly uploaded: UploadedZip | undefined;
  readonly centralDirectoryOffset: number;
  readonly centralDirectorySize: number;
  readonly zip64Threshold: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const LOCAL_SIZE = 30;
const CENTRAL_SIZE = 46;
const ZIP64_EOCD_SIZE = 56;
const ZIP64_LOCATOR_SIZE = 20;
const EOCD_SIZE = 22;
/** A local zip64 extra field carries both sizes. */
const LOCAL_ZIP64_EXTRA = 4 + 16;
const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
/** Version made by: unix (3), spec 2.0; 4.5 with zip64. */
const UNIX = 3 << 8;
const S_IFREG = 0o100000;

const encoder = new TextEncoder();

/** MS-DOS time and date (the zip format's) of `d`, in UTC. */
function dosDateTime(d: Date): { time: number; date: number } {
  const year = Math.min(Math.max(d.getUTCFullYear(), 1980), 2107);
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/**
 * The layout of the package zip: the uploaded file entries in their offset order (directories, and
 * files at a path a pool file takes, left out), then the pool files; every offset and the total
 * length. Reads nothing.
 */
export function planAssembly(uploaded: UploadedZip | undefined, pooled: readonly PooledFile[], options: AssemblyOptions = {}): AssemblyPlan {
  const threshold = options.zip64Threshold ?? 0xffffffff;
  const entryThreshold = options.zip64EntryThreshold ?? 0xffff;
  const { time, date } = dosDateTime(options.now ?? new Date());
  const taken = new Set(pooled.map((p) => p.path));
  const items: Item[] = [];
  const files = (uploaded?.entries ?? []).filter((e) => !e.isDirectory && !taken.has(normalizedName(e.name)));
  files.sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (const e of files) {
    items.push({
      name: e.rawName,
      flags: e.flags & ~FLAG_DATA_DESCRIPTOR,
      method: e.method,
      crc32: e.crc32,
      compressedSize: e.compressedSize,
      size: e.uncompressedSize,
      modTime: e.modTime,
      modDate: e.modDate,
      versionMadeBy: e.madeBy,
      versionNeeded: e.versionNeeded,
      internalAttributes: e.internalAttributes,
      externalAttributes: e.externalAttributes,
      offset: 0,
      localZip64: false,
      source: { uploaded: e },
    });
  }
  for (const p of bySource(pooled)) {
    const name = encoder.encode(p.path);
    items.push({
      name,
      flags: name.some((b) => b >= 0x80) ? FLAG_UTF8 : 0,
      method: p.entry.method,
      crc32: p.entry.crc32,
      compressedSize: p.entry.compressedSize,
      size: p.entry.size,
      modTime: time,
      modDate: date,
      versionMadeBy: UNIX | 20,
      versionNeeded: p.entry.method === 8 ? 20 : 10,
      internalAttributes: 0,
      externalAttributes: ((S_IFREG | (p.mode & 0o7777)) << 16) >>> 0,
      offset: 0,
      localZip64: false,
      source: { pooled: p },
    });
  }

  let offset = 0;
  let cdSize = 0;
  let uncompressed = 0;
  for (const item of items) {
    item.offset = offset;
    item.localZip64 = item.size >= threshold || item.compressedSize >= threshold;
    const cdZip64 = centralZip64Fields(item, threshold);
    if (item.localZip64 || cdZip64 > 0) {
      item.versionNeeded = Math.max(item.versionNeeded, 45);
      if ("pooled" in item.source) item.versionMadeBy = UNIX | 45;
    }
    offset += LOCAL_SIZE + item.name.length + (item.localZip64 ? LOCAL_ZIP64_EXTRA : 0) + item.compressedSize;
    cdSize += CENTRAL_SIZE + item.name.length + (cdZip64 > 0 ? 4 + 8 * cdZip64 : 0);
    uncompressed += item.size;
  }
  const zip64 = items.length >= entryThreshold || offset >= threshold || cdSize >= threshold;
  return {
    length: offset + cdSize + (zip64 ? ZIP64_EOCD_SIZE + ZIP64_LOCATOR_SIZE : 0) + EOCD_SIZE,
    uncompressedSize: uncompressed,
    entries: items.length,
    zip64,
    items,
    uploaded,
    centralDirectoryOffset: offset,
    centralDirectorySize: cdSize,
    zip64Threshold: threshold,
  };
}

/**
 * The pool files grouped by source package (in the order each source first appears) and by offset in
 * it, so a source's bytes are read in runs; files without a source keep their order, after the rest.
 */
function bySource<E extends PoolPart>(pooled: readonly PooledFile<E>[]): PooledFile<E>[] {
  const group = new Map<string, number>();
  for (const p of pooled) if (p.entry.source && !group.has(p.entry.source.key)) group.set(p.entry.source.key, group.size);
  const rank = (p: PooledFile<E>) => (p.entry.source ? group.get(p.entry.source.key)! : group.size);
  return pooled.slice().sort((a, b) => rank(a) - rank(b) || (a.entry.source?.offset ?? 0) - (b.entry.source?.offset ?? 0));
}

/** Where each pool file's compressed bytes start in the assembled zip (for recording it as their source). */
export function pooledDataOffsets<E extends PoolPart>(plan: AssemblyPlan): { file: PooledFile<E>; offset: number }[] {
  const out: { file: PooledFile<E>; offset: number }[] = [];
  for (const item of plan.items) {
    if (!("pooled" in item.source)) continue;
    out.push({ file: item.source.pooled as PooledFile<E>, offset: item.offset + LOCAL_SIZE + item.name.length + (item.localZip64 ? LOCAL_ZIP64_EXTRA : 0) });
  }
  return out;
}

/** A name as a path is compared with the pool files' paths ("./a//b" is "a/b"). */
export function normalizedName(name: string): string {
  return name.split("/").filter((s) => s !== "" && s !== ".").join("/");
}

/** How many 8-byte fields the entry's central zip64 extra field holds (uncompressed, compressed, offset). */
function centralZip64Fields(item: Item, threshold: number): number {
  return (item.size >= threshold ? 1 : 0) + (item.compressedSize >= threshold ? 1 : 0) + (item.offset >= threshold ? 1 : 0);
}

class Out {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  pos = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
  }
  u16(v: number) {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }
  u32(v: number) {
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }
  u64(v: number) {
    this.view.setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
  }
  raw(b: Uint8Array) {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }
}

function localHeader(item: Item): Uint8Array {
  const out = new Out(LOCAL_SIZE + item.name.length + (item.localZip64 ? LOCAL_ZIP64_EXTRA : 0));
  out.u32(SIG_LOCAL);
  out.u16(item.versionNeeded);
  out.u16(item.flags);
  out.u16(item.method);
  out.u16(item.modTime);
  out.u16(item.modDate);
  out.u32(item.crc32);
  out.u32(item.localZip64 ? 0xffffffff : item.compressedSize);
  out.u32(item.localZip64 ? 0xffffffff : item.size);
  out.u16(item.name.length);
  out.u16(item.localZip64 ? LOCAL_ZIP64_EXTRA : 0);
  out.raw(item.name);
  if (item.localZip64) {
    out.u16(0x0001);
    out.u16(16);
    out.u64(item.size);
    out.u64(item.compressedSize);
  }
  return out.bytes;
}

function centralHeader(item: Item, threshold: number): Uint8Array {
  const fields = centralZip64Fields(item, threshold);
  const extra = fields > 0 ? 4 + 8 * fields : 0;
  const out = new Out(CENTRAL_SIZE + item.name.length + extra);
  out.u32(SIG_CENTRAL);
  out.u16(item.versionMadeBy);
  out.u16(item.versionNeeded);
  out.u16(item.flags);
  out.u16(item.method);
  out.u16(item.modTime);
  out.u16(item.modDate);
  out.u32(item.crc32);
  out.u32(item.compressedSize >= threshold ? 0xffffffff : item.compressedSize);
  out.u32(item.size >= threshold ? 0xffffffff : item.size);
  out.u16(item.name.length);
  out.u16(extra);
  out.u16(0); // comment length
  out.u16(0); // disk number start
  out.u16(item.internalAttributes);
  out.u32(item.externalAttributes);
  out.u32(item.offset >= threshold ? 0xffffffff : item.offset);
  out.raw(item.name);
  if (fields > 0) {
    out.u16(0x0001);
    out.u16(8 * fields);
    if (item.size >= threshold) out.u64(item.size);
    if (item.compressedSize >= threshold) out.u64(item.compressedSize);
    if (item.offset >= threshold) out.u64(item.offset);
  }
  return out.bytes;
}

function endRecords(plan: AssemblyPlan): Uint8Array {
  const { entries, centralDirectoryOffset: cdOffset, centralDirectorySize: cdSize, zip64 } = plan;
  const out = new Out((zip64 ? ZIP64_EOCD_SIZE + ZIP64_LOCATOR_SIZE : 0) + EOCD_SIZE);
  if (zip64) {
    out.u32(SIG_ZIP64_EOCD);
    out.u64(ZIP64_EOCD_SIZE - 12);
    out.u16(UNIX | 45);
    out.u16(45);
    out.u32(0);
    out.u32(0);
    out.u64(entries);
    out.u64(entries);
    out.u64(cdSize);
    out.u64(cdOffset);
    out.u32(SIG_ZIP64_LOCATOR);
    out.u32(0);
    out.u64(cdOffset + cdSize);
    out.u32(1);
  }
  out.u32(SIG_EOCD);
  out.u16(0);
  out.u16(0);
  out.u16(zip64 ? 0xffff : entries);
  out.u16(zip64 ? 0xffff : entries);
  out.u32(zip64 ? 0xffffffff : cdSize);
  out.u32(zip64 ? 0xffffffff : cdOffset);
  out.u16(0);
  return out.bytes;
}

/** Pool object gets in flight ahead of the copy. */
const PREFETCH = 8;

/** The size of the buffers the copied bytes pass through, and how many there are. */
const COPY_BUFFER = 256 * 1024;
const COPY_BUFFERS = 8;
/**
 * Bytes between two pool files in their source package read through and dropped rather than ending
 * the ranged get (the next file's local header, a file not wanted); a wider gap starts a new get.
 */
const MAX_SOURCE_GAP = 256 * 1024;
/** Pool files whose checks may still run while the copy goes on. */
const MAX_CHECKS = 4;
/** The buffer a check's inflated output is read into and dropped. */
const DRAIN_BUFFER = 64 * 1024;

/**
 * Checks a pool file's bytes as they pass, natively: they are fed to a gzip decompressor as the body of
 * a gzip member whose trailer carries the expected CRC-32 and size, so zlib inflates them and verifies
 * both (a stored file's bytes are framed as deflate stored blocks). Nothing of the output is kept and
 * no JavaScript loop runs over the bytes (a byte-by-byte CRC in JavaScript cost seconds per 50 MB in
 * workerd on buffers filled by BYOB reads).
 */
class ContentCheck {
  private size = 0;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly reading: Promise<void>;

  constructor(readonly file: PooledFile, private readonly spare: ArrayBuffer[]) {
    const stream = new DecompressionStream("gzip");
    this.writer = stream.writable.getWriter();
    this.writer.closed.catch(() => undefined);
    this.reading = this.drain(new ByteReader(stream.readable as ReadableStream<Uint8Array>));
    this.reading.catch(() => undefined); // raced in put(), awaited in finish()
    // A gzip member header: deflate, no flags, no time, unknown OS.
    this.chain = this.put(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]));
    this.chain.catch(() => undefined); // its failure surfaces in finish()
  }

  /** The writes so far, in order: each waits for the one before. */
  private chain: Promise<void>;

  private async drain(reader: ByteReader): Promise<void> {
    // One of the assembly's spare buffers, given back at the end: a fresh one per pool file would be
    // 64 KiB of garbage per file, thousands of them before V8 collects.
    let buffer = new Uint8Array(this.spare.pop() ?? new ArrayBuffer(DRAIN_BUFFER));
    try {
      for (;;) {
        const got = await reader.readSome(buffer);
        buffer = new Uint8Array(got.buffer);
        if (got.length === 0) return;
        this.size += got.length;
        // More than the recorded size is wrong already; stop inflating a bomb there.
        if (this.size > this.file.entry.size) throw new PooledFileError(this.file, "its content is longer than recorded");
      }
    } finally {
      // Detached when a read failed mid-way: then it is lost, not returned.
      if (buffer.buffer.byteLength === DRAIN_BUFFER) this.spare.push(buffer.buffer);
    }
  }

  private async put(bytes: Uint8Array): Promise<void> {
    // The inflater errors both sides on bad data; the reading side may fail first (too long).
    await Promise.race([this.writer.write(bytes), this.reading.then(() => new Promise<never>(() => undefined))]).catch((e: unknown) => {
      throw e instanceof PooledFileError ? e : new PooledFileError(this.file, "its bytes do not inflate to its CRC-32 and size");
    });
  }

  /**
   * Queues `bytes` after the writes before; resolves once zlib has consumed them (the caller may then
   * reuse their buffer). The copy does not wait for it: checking runs beside the copy.
   */
  write(bytes: Uint8Array): Promise<void> {
    const stored = this.file.entry.method !== 8;
    this.chain = this.chain.then(async () => {
      if (!stored) return this.put(bytes);
      // Stored: deflate stored blocks of at most 65,535 bytes, each after its 5-byte header.
      for (let o = 0; o < bytes.length; o += 0xffff) {
        const n = Math.min(0xffff, bytes.length - o);
        await this.put(new Uint8Array([0, n & 0xff, n >>> 8, ~n & 0xff, (~n >>> 8) & 0xff]));
        await this.put(bytes.subarray(o, o + n));
      }
    });
    return this.chain;
  }

  /** After the last write: the trailer with the expected CRC-32 and size, and zlib's verdict. */
  finish(): Promise<void> {
    return this.chain.then(async () => {
      const { entry } = this.file;
      const end = new Uint8Array(entry.method === 8 ? 8 : 13);
      const view = new DataView(end.buffer);
      let o = 0;
      if (entry.method !== 8) {
        end.set([1, 0, 0, 0xff, 0xff]); // the final, empty, stored block
        o = 5;
      }
      view.setUint32(o, entry.crc32 >>> 0, true);
      view.setUint32(o + 4, entry.size >>> 0, true);
      await this.put(end);
      try {
        await this.writer.close();
        await this.reading;
      } catch (e) {
        throw e instanceof PooledFileError ? e : new PooledFileError(this.file, "its bytes do not inflate to its CRC-32 and size");
      }
      if (this.size !== entry.size) throw new PooledFileError(this.file, `its content has ${this.size} bytes, not ${entry.size}`);
    });
  }

  abort(): void {
    this.writer.abort().catch(() => undefined);
  }
}

/**
 * The bytes of the assembled zip, exactly `plan.length` of them, as a byte stream. Errors: a
 * PooledFileError (see above); a ZipError "inconsistent" when an uploaded entry's local header is
 * not where its central directory entry says; BitsNotFoundError / BitsChangedError when the uploaded
 * object went away or changed; R2's own failures as they are.
 */
export function assemblyStream(bucket: R2Bucket, plan: AssemblyPlan): ReadableStream<Uint8Array> {
  const run = new Assembly(bucket, plan);
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: 64 * 1024,
    async pull(controller) {
      const request = controller.byobRequest;
      const view = request?.view;
      if (request === null || request === undefined || view === null || view === undefined) throw new TypeError("assemblyStream needs byte reads");
      const target = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      let n: number;
      try {
        n = await run.fill(target);
      } catch (err) {
        // An errored stream is never cancelled: release the open sources here.
        await run.close();
        throw err;
      }
      if (n === 0) {
        controller.close();
        request.respond(0);
        return;
      }
      request.respond(n);
    },
    async cancel() {
      await run.close();
    },
  });
}

/** The state of one assembly: where it is, and the open source. */
class Assembly {
  /**
   * The buffers copied bytes pass through, reused (a BYOB read moves a buffer; the view that comes
   * back replaces it). One is free again once its bytes went out and its check consumed them.
   */
  private readonly free: Uint8Array<ArrayBuffer>[] = Array.from({ length: COPY_BUFFERS }, () => new Uint8Array(COPY_BUFFER));
  private readonly waiting: (() => void)[] = [];
  /** For skipping and reading headers of the uploaded zip. */
  private scratch = new Uint8Array(COPY_BUFFER);
  /** Bytes ready to go out (a header, or copied bytes in one of the buffers). */
  private pending: Uint8Array = new Uint8Array(0);
  /** Called once `pending` has gone out. */
  private sent: (() => void) | undefined;
  /** Pool files' checks still running (at most MAX_CHECKS), oldest first. */
  private readonly checks: Promise<void>[] = [];
  private failure: unknown;
  /** Next item whose local header is due; then the central directory; then the end records. */
  private next = 0;
  private phase: "entries" | "central" | "end" | "done" = "entries";
  private cdNext = 0;
  /** The copy under way: its source, bytes left, and the check of a pool file. */
  private copy: { reader: ByteReader; left: number; check: ContentCheck | undefined; fromSource: boolean } | undefined;
  /** The ranged get of a source package under way: where it stands and where it ends. */
  private run: { key: string; etag: string; reader: ByteReader; pos: number; end: number } | undefined;
  /** Source packages gone or replaced: their files come from the pool objects. */
  private readonly deadSources = new Set<string>();
  /** The one read of the uploaded object, and where it stands. */
  private uploaded: { reader: ByteReader; pos: number } | undefined;
  private written = 0;
  /** Pool object gets started ahead, by item index. */
  private readonly prefetched = new Map<number, Promise<R2ObjectBody | null>>();
  /** Drain buffers of finished checks, for the next ones. */
  private readonly spare: ArrayBuffer[] = [];

  constructor(private readonly bucket: R2Bucket, private readonly plan: AssemblyPlan) {}

  /** Fills the start of `target` with the next bytes; 0 at the end. */
  async fill(target: Uint8Array): Promise<number> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (this.pending.length > 0) {
        const n = Math.min(this.pending.length, target.length);
        target.set(this.pending.subarray(0, n));
        this.pending = this.pending.subarray(n);
        this.written += n;
        if (this.pending.length === 0) {
          this.sent?.();
          this.sent = undefined;
        }
        return n;
      }
      if (this.copy !== undefined) {
        await this.copyMore(Math.min(target.length, COPY_BUFFER));
        continue;
      }
      if (!(await this.advance())) return 0;
    }
  }

  private async acquire(): Promise<Uint8Array<ArrayBuffer>> {
    while (this.free.length === 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.free.pop()!;
  }

  private release(buffer: Uint8Array<ArrayBuffer>): void {
    this.free.push(buffer);
    this.waiting.shift()?.();
  }

  /** A pool file's check, running beside the copy; its failure fails the assembly. */
  private async track(check: Promise<void>): Promise<void> {
    check.catch((e: unknown) => {
      this.failure ??= e;
    });
    this.checks.push(check);
    if (this.checks.length > MAX_CHECKS) await this.checks.shift()!.catch(() => undefined);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Moves to the next piece of output; false when all is written. */
  private async advance(): Promise<boolean> {
    const { plan } = this;
    if (this.phase === "entries") {
      const item = plan.items[this.next];
      if (item === undefined) {
        // Every pool file's check has passed before the central directory (so the put's last byte) goes out.
        await Promise.all(this.checks.splice(0));
        if (this.failure !== undefined) throw this.failure;
        this.phase = "central";
        await this.closeUploaded();
        this.closeRun();
        return true;
      }
      this.next++;
      await this.startCopy(item);
      this.pending = localHeader(item);
      return true;
    }
    if (this.phase === "central") {
      const item = plan.items[this.cdNext++];
      if (item === undefined) {
        this.phase = "end";
        return true;
      }
      this.pending = centralHeader(item, plan.zip64Threshold);
      return true;
    }
    if (this.phase === "end") {
      this.phase = "done";
      this.pending = endRecords(plan);
      return true;
    }
    if (this.written !== plan.length) throw new Error(`assembled ${this.written} bytes, planned ${plan.length}`);
    return false;
  }

  private async startCopy(item: Item): Promise<void> {
    if ("uploaded" in item.source) {
      const entry = item.source.uploaded;
      const input = await this.uploadedAt(entry.localHeaderOffset);
      const header = await input.reader.readInto(new Uint8Array(LOCAL_SIZE));
      input.pos += header.length;
      const view = new DataView(header.buffer, header.byteOffset, header.length);
      if (header.length < LOCAL_SIZE || view.getUint32(0, true) !== SIG_LOCAL) {
        throw new ZipError("inconsistent", `no local file header where the central directory says ${entry.name} starts`);
      }
      await this.skipUploaded(input, view.getUint16(26, true) + view.getUint16(28, true));
      if (input.pos + entry.compressedSize > (this.plan.uploaded?.centralDirectoryOffset ?? 0)) {
        throw new ZipError("inconsistent", `${entry.name} runs into the central directory`);
      }
      input.pos += entry.compressedSize;
      this.copy = { reader: input.reader, left: entry.compressedSize, check: undefined, fromSource: false };
      return;
    }
    const file = item.source.pooled;
    const run = await this.sourceRun(this.next - 1);
    if (run !== undefined) {
      this.copy = { reader: run, left: file.entry.compressedSize, check: new ContentCheck(file, this.spare), fromSource: true };
      return;
    }
    this.closeRun();
    const object = await this.poolObject(this.next - 1);
    if (object === null) throw new PooledFileError(file, "its object is missing");
    if (object.size !== file.entry.compressedSize) {
      await object.body.cancel().catch(() => undefined);
      throw new PooledFileError(file, `its object has ${object.size} bytes, not ${file.entry.compressedSize}`);
    }
    this.copy = { reader: new ByteReader(object.body), left: file.entry.compressedSize, check: new ContentCheck(file, this.spare), fromSource: false };
  }

  /** Whether item `index` reads from a live source package (else from its pool object). */
  private fromSource(index: number): boolean {
    const source = this.plan.items[index]?.source;
    return source !== undefined && "pooled" in source && source.pooled.entry.source !== undefined && !this.deadSources.has(source.pooled.entry.source.key);
  }

  /**
   * The reader positioned at item `index`'s bytes in its source package: the get under way when the
   * bytes lie ahead of it within its span (the bytes between read and dropped), else a new ranged get
   * pinned to the recorded etag, spanning the following items of the same source whose gaps are at most
   * MAX_SOURCE_GAP. Undefined when the item has no source or the source is gone or replaced (then it
   * and the source's other files come from the pool objects).
   */
  private async sourceRun(index: number): Promise<ByteReader | undefined> {
    if (!this.fromSource(index)) return undefined;
    const { items } = this.plan;
    const file = (items[index]!.source as { pooled: PooledFile }).pooled;
    const src = file.entry.source!;
    let run = this.run;
    if (run === undefined || run.key !== src.key || run.etag !== src.etag || src.offset < run.pos || src.offset - run.pos > MAX_SOURCE_GAP || src.offset + file.entry.compressedSize > run.end) {
      this.closeRun();
      let end = src.offset + file.entry.compressedSize;
      for (let i = index + 1; i < items.length; i++) {
        const s = items[i]!.source;
        const o = "pooled" in s ? s.pooled.entry.source : undefined;
        if (o === undefined || o.key !== src.key || o.etag !== src.etag || o.offset < end || o.offset - end > MAX_SOURCE_GAP) break;
        end = o.offset + (s as { pooled: PooledFile }).pooled.entry.compressedSize;
      }
      const object = await this.bucket.get(src.key, { range: { offset: src.offset, length: end - src.offset }, onlyIf: { etagMatches: src.etag } });
      if (object === null || !("body" in object)) {
        this.deadSources.add(src.key);
        return undefined;
      }
      run = this.run = { key: src.key, etag: src.etag, reader: new ByteReader(object.body), pos: src.offset, end };
    }
    let gap = src.offset - run.pos;
    while (gap > 0) {
      const got = await run.reader.readInto(this.scratch.subarray(0, Math.min(gap, this.scratch.length)) as Uint8Array<ArrayBuffer>);
      this.scratch = new Uint8Array(got.buffer);
      if (got.length === 0) throw new SourceError(file, "its source package is shorter than recorded");
      gap -= got.length;
    }
    run.pos = src.offset + file.entry.compressedSize;
    return run.reader;
  }

  private closeRun(): void {
    const run = this.run;
    this.run = undefined;
    if (run !== undefined && !run.reader.done) run.reader.cancel(undefined);
  }

  /**
   * The pool object of item `index`, its get started up to PREFETCH items ahead: one get per pool file
   * costs a round trip each, which for thousands of small files would dominate the copy. A started get
   * holds only its first bytes until it is read.
   */
  private poolObject(index: number): Promise<R2ObjectBody | null> {
    const { items } = this.plan;
    for (let i = index; i < Math.min(items.length, index + PREFETCH); i++) {
      const source = items[i]!.source;
      if (!("pooled" in source) || this.prefetched.has(i) || this.fromSource(i)) continue;
      const getting = this.bucket.get(source.pooled.key);
      getting.catch(() => undefined); // awaited when its turn comes, or its body cancelled by close()
      this.prefetched.set(i, getting);
    }
    // An item whose source was found gone after the gets ahead were started: its own get now.
    const getting = this.prefetched.get(index) ?? this.bucket.get((this.plan.items[index]!.source as { pooled: PooledFile }).pooled.key);
    this.prefetched.delete(index);
    return getting;
  }

  /** Copies up to `max` bytes of the current copy into `pending`, through a free buffer. */
  private async copyMore(max: number): Promise<void> {
    const copy = this.copy!;
    if (copy.left === 0) {
      this.copy = undefined;
      if (copy.check !== undefined && copy.fromSource) {
        // The run's reader goes on to the next file; a mismatch here is the source's, not the pool's.
        const { file } = copy.check;
        await this.track(copy.check.finish().catch((e: unknown) => {
          throw new SourceError(file, e instanceof PooledFileError ? e.reason : String(e));
        }));
      } else if (copy.check !== undefined) {
        // A pool object holds exactly these bytes; nothing more is wanted from it.
        if (!copy.reader.done) copy.reader.cancel(undefined);
        await this.track(copy.check.finish());
      }
      return;
    }
    const buffer = await this.acquire();
    let got: Uint8Array<ArrayBuffer>;
    try {
      got = await copy.reader.readInto(buffer.subarray(0, Math.min(max, copy.left)));
    } catch (e) {
      this.release(new Uint8Array(COPY_BUFFER));
      throw e;
    }
    const whole = new Uint8Array(got.buffer); // a BYOB read moved the buffer
    if (got.length === 0) {
      this.release(whole);
      if (copy.check !== undefined && copy.fromSource) throw new SourceError(copy.check.file, "its source package is shorter than recorded");
      if (copy.check !== undefined) throw new PooledFileError(copy.check.file, "its object is shorter than recorded");
      throw new BitsChangedError(this.plan.uploaded?.key ?? "");
    }
    copy.left -= got.length;
    const sent = new Promise<void>((resolve) => (this.sent = resolve));
    const consumed = copy.check?.write(got);
    // Free again once out and, for a pool file, once zlib has consumed it (or failed).
    void Promise.allSettled([sent, consumed]).then(() => this.release(whole));
    this.pending = got;
  }

  /** The uploaded object's one read, positioned at `offset` (which only ever grows). */
  private async uploadedAt(offset: number): Promise<{ reader: ByteReader; pos: number }> {
    const up = this.plan.uploaded;
    if (up === undefined) throw new Error("no uploaded zip");
    if (this.uploaded === undefined) {
      const length = up.centralDirectoryOffset - offset;
      const object = await this.bucket.get(up.key, { range: { offset, length }, onlyIf: { etagMatches: up.etag } });
      if (object === null) throw new BitsNotFoundError(up.key);
      if (!("body" in object)) throw new BitsChangedError(up.key);
      this.uploaded = { reader: new ByteReader(object.body), pos: offset };
    }
    const input = this.uploaded;
    if (offset < input.pos) throw new ZipError("inconsistent", "two entries of the uploaded zip overlap");
    await this.skipUploaded(input, offset - input.pos);
    return input;
  }

  private async skipUploaded(input: { reader: ByteReader; pos: number }, count: number): Promise<void> {
    let left = count;
    while (left > 0) {
      const got = await input.reader.readInto(this.scratch.subarray(0, Math.min(left, this.scratch.length)) as Uint8Array<ArrayBuffer>);
      this.scratch = new Uint8Array(got.buffer);
      if (got.length === 0) throw new ZipError("inconsistent", "the uploaded zip is shorter than its central directory says");
      left -= got.length;
      input.pos += got.length;
    }
  }

  private async closeUploaded(): Promise<void> {
    const input = this.uploaded;
    this.uploaded = undefined;
    if (input !== undefined && !input.reader.done) input.reader.cancel(undefined);
  }

  /** Stops what is open (the consumer gave up). */
  async close(): Promise<void> {
    for (const getting of this.prefetched.values()) void getting.then((o) => o?.body.cancel().catch(() => undefined), () => undefined);
    this.prefetched.clear();
    this.copy?.check?.abort();
    if (!this.copy?.fromSource) this.copy?.reader.cancel(undefined);
    this.copy = undefined;
    this.closeRun();
    await this.closeUploaded();
    this.phase = "done";
  }
}
