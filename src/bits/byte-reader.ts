// Reading a byte stream into buffers the caller owns and reuses.
//
// Why: a default reader hands out a fresh ArrayBuffer for every chunk. Over a 200 MB upload that is
// 200 MB of garbage, and a fresh isolate lets it pile up (well over 100 MB of RSS) before it collects.
// A BYOB reader fills the caller's buffer instead, so a long body flows through the same few
// megabytes. Request bodies in workerd are byte streams; other streams (a JS ReadableStream in a
// test, say) fall back to a default reader whose chunks are copied into the caller's buffer.

export class ByteReader {
  private readonly byob: ReadableStreamBYOBReader | undefined;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** The rest of the last default-reader chunk that did not fit the caller's buffer. */
  private pending: Uint8Array | undefined;
  private ended = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    try {
      this.byob = stream.getReader({ mode: "byob" });
    } catch {
      // Not a byte stream.
      this.reader = stream.getReader();
    }
  }

  /** True once the stream has ended (a read returned fewer bytes than asked for because of it). */
  get done(): boolean {
    return this.ended;
  }

  /**
   * Reads into `target` until it is full or the stream ends. Returns the filled prefix of `target`.
   *
   * A BYOB read transfers the buffer it fills: afterwards `target.buffer` is detached and the bytes
   * (and the whole buffer, for reuse) are reachable only through the returned view's `.buffer`.
   * Errors of the stream propagate.
   */
  async readInto(target: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    // Lengths are kept as numbers: a BYOB read detaches the views of the buffer it fills (their
    // length becomes 0), `target` included.
    const { byteOffset, length } = target;
    let buffer = target.buffer;
    let filled = 0;
    while (filled < length && !this.ended) {
      const got = await this.readSome(new Uint8Array(buffer, byteOffset + filled, length - filled));
      buffer = got.buffer;
      filled += got.length;
    }
    return new Uint8Array(buffer, byteOffset, filled);
  }

  /**
   * One read into `target`: a non-empty prefix of it with whatever arrived first, or an empty one
   * once the stream has ended. The same transfer rule as readInto applies.
   */
  async readSome(target: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    const { byteOffset, length } = target;
    if (length === 0) throw new RangeError("readSome needs room for at least one byte");
    let buffer = target.buffer;
    while (!this.ended) {
      if (this.byob !== undefined) {
        const { done, value } = await this.byob.read(new Uint8Array(buffer, byteOffset, length));
        if (value !== undefined) buffer = value.buffer;
        if (done) this.ended = true;
        else if (value.length > 0) return new Uint8Array(buffer, byteOffset, value.length);
        continue;
      }
      let chunk = this.pending;
      this.pending = undefined;
      if (chunk === undefined) {
        const { done, value } = await this.reader!.read();
        if (done) {
          this.ended = true;
          break;
        }
        chunk = asBytes(value);
      }
      const n = Math.min(chunk.length, length);
      new Uint8Array(buffer, byteOffset, n).set(chunk.subarray(0, n));
      if (n < chunk.length) this.pending = chunk.subarray(n);
      if (n > 0) return new Uint8Array(buffer, byteOffset, n);
    }
    return new Uint8Array(buffer, byteOffset, 0);
  }

  /** Cancels the stream (the rest is not wanted); never throws. */
  cancel(reason?: unknown): void {
    (this.byob ?? this.reader)!.cancel(reason).catch(() => undefined);
  }
}

/** A chunk as bytes; anything else in a byte stream is a TypeError. */
function asBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError("the stream must carry bytes");
}
