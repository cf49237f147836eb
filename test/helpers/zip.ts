// A tiny zip writer for test fixtures (self-contained: its own CRC-32, so it checks the one in
// src/bits/zip.ts rather than sharing it). Runs in workerd and in Node 22.
//
// Supports stored and deflated entries, directory entries, forced zip64 records (EOCD fields
// saturated, zip64 extra fields, zip64 EOCD + locator), fake "claimed" uncompressed sizes, an
// archive comment, and a prefix (a launcher script) either with offsets left relative to the zip
// (`cat stub.sh app.zip`) or adjusted to the whole file (`zip -A`, executable jars).

export interface FixtureEntry {
  name: string;
  /** Content; a directory entry (name ending in '/') has none. */
  data?: Uint8Array | string;
  /** 0 stored (default), 8 deflate. */
  method?: 0 | 8;
  /** Record this uncompressed size in the CD instead of the real one (a claimed zip bomb). */
  claimUncompressed?: number;
}

export interface BuildZipOptions {
  /** Bytes before the first local header. */
  prefix?: Uint8Array | string;
  /** Offsets count from the start of the file (true) or from the start of the zip (false, default). */
  adjustOffsets?: boolean;
  /** Write zip64 extra fields, the zip64 EOCD record and locator, and saturate the EOCD fields. */
  zip64?: boolean;
  comment?: string;
}

const enc = new TextEncoder();
const bytes = (d: Uint8Array | string | undefined): Uint8Array => (d === undefined ? new Uint8Array(0) : typeof d === "string" ? enc.encode(d) : d);

class Writer {
  private parts: Uint8Array[] = [];
  length = 0;
  bytes(b: Uint8Array): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  u16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    return this.bytes(b);
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.bytes(b);
  }
  u64(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    return this.bytes(b);
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

let table: Uint32Array | undefined;
export function crc32(data: Uint8Array): number {
  table ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = ~0;
  for (const b of data) crc = table[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

export async function deflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function buildZip(entries: readonly FixtureEntry[], options: BuildZipOptions = {}): Promise<Uint8Array> {
  const prefix = bytes(options.prefix);
  const base = options.adjustOffsets ? prefix.length : 0;
  const z64 = options.zip64 === true;
  const body = new Writer();
  const central = new Writer();
  for (const e of entries) {
    const name = enc.encode(e.name);
    const data = bytes(e.data);
    const method = e.method ?? 0;
    const stored = method === 8 ? await deflateRaw(data) : data;
    const crc = crc32(data);
    const offset = base + body.length;
    const usize = e.claimUncompressed ?? data.length;
    const flags = 0x0800; // UTF-8 names
    // Local header
    body.u32(0x04034b50).u16(z64 ? 45 : 20).u16(flags).u16(method).u16(0).u16(0x21).u32(crc);
    if (z64) body.u32(0xffffffff).u32(0xffffffff);
    else body.u32(stored.length).u32(usize);
    body.u16(name.length).u16(z64 ? 20 : 0).bytes(name);
    if (z64) body.u16(1).u16(16).u64(usize).u64(stored.length);
    body.bytes(stored);
    // Central directory entry
    central.u32(0x02014b50).u16(0x031e).u16(z64 ? 45 : 20).u16(flags).u16(method).u16(0).u16(0x21).u32(crc);
    if (z64) central.u32(0xffffffff).u32(0xffffffff);
    else central.u32(stored.length).u32(usize);
    const isDir = e.name.endsWith("/");
    central.u16(name.length).u16(z64 ? 28 : 0).u16(0).u16(0).u16(0).u32(isDir ? (0o40755 << 16) | 0x10 : 0o100644 << 16);
    central.u32(z64 ? 0xffffffff : offset).bytes(name);
    if (z64) central.u16(1).u16(24).u64(usize).u64(stored.length).u64(offset);
  }
  const cdOffset = base + body.length;
  const cd = central.concat();
  const tail = new Writer();
  if (z64) {
    const z64Offset = cdOffset + cd.length;
    tail.u32(0x06064b50).u64(44).u16(0x031e).u16(45).u32(0).u32(0).u64(entries.length).u64(entries.length).u64(cd.length).u64(cdOffset);
    tail.u32(0x07064b50).u32(0).u64(z64Offset).u32(1);
  }
  const comment = bytes(options.comment);
  tail.u32(0x06054b50).u16(0).u16(0);
  if (z64) tail.u16(0xffff).u16(0xffff).u32(0xffffffff).u32(0xffffffff);
  else tail.u16(entries.length & 0xffff).u16(entries.length & 0xffff).u32(cd.length).u32(cdOffset);
  tail.u16(comment.length).bytes(comment);
  return new Writer().bytes(prefix).bytes(body.concat()).bytes(cd).bytes(tail.concat()).concat();
}

/** A zip with `count` empty stored files `d/000000.txt` ... (no data: local headers + CD only). */
export function manyEntryZip(count: number): Uint8Array {
  const nameOf = (i: number) => `d/${String(i).padStart(6, "0")}.txt`;
  const nameLen = nameOf(0).length;
  const localLen = 30 + nameLen;
  const centralLen = 46 + nameLen;
  const out = new Uint8Array(count * (localLen + centralLen) + 22);
  const view = new DataView(out.buffer);
  const crc = crc32(new Uint8Array(0));
  for (let i = 0; i < count; i++) {
    const name = enc.encode(nameOf(i));
    let o = i * localLen;
    view.setUint32(o, 0x04034b50, true);
    view.setUint16(o + 4, 20, true);
    view.setUint32(o + 14, crc, true);
    view.setUint16(o + 26, nameLen, true);
    out.set(name, o + 30);
    o = count * localLen + i * centralLen;
    view.setUint32(o, 0x02014b50, true);
    view.setUint16(o + 4, 0x031e, true);
    view.setUint16(o + 6, 20, true);
    view.setUint32(o + 16, crc, true);
    view.setUint16(o + 28, nameLen, true);
    view.setUint32(o + 38, (0o100644 << 16) >>> 0, true);
    view.setUint32(o + 42, i * localLen, true);
    out.set(name, o + 46);
  }
  const e = count * (localLen + centralLen);
  view.setUint32(e, 0x06054b50, true);
  view.setUint16(e + 8, count & 0xffff, true);
  view.setUint16(e + 10, count & 0xffff, true);
  view.setUint32(e + 12, count * centralLen, true);
  view.setUint32(e + 16, count * localLen, true);
  return out;
}
