// Random access to stored bits, as the zip checks need it: a size and ranged reads.
// `openBitsReader` in store.ts gives one over R2; `bytesReader` one over bytes in memory.

export interface RangeReader {
  /** Total size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes from `offset`; throws when the range is outside [0, size). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A RangeReader over bytes already in memory (small bodies, tests). */
export function bytesReader(bytes: Uint8Array): RangeReader {
  return {
    size: bytes.length,
    read(offset, length) {
      checkRange(offset, length, bytes.length);
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
  };
}

/** Throws a RangeError unless [offset, offset+length) lies within [0, size). */
export function checkRange(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new RangeError(`range ${offset}+${length} is outside the object of ${size} bytes`);
  }
}
