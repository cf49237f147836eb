// What is in R2, and an R2Bucket that records what a caller does with it.

/** Every key in the bucket under `prefix`. */
export async function listKeys(bucket: R2Bucket, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, ...(cursor ? { cursor } : {}) });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys;
}

export interface R2Log {
  /** Sizes of single puts with a byte value (-1 for a stream). */
  puts: number[];
  /** Sizes of every uploaded multipart part, in order. */
  parts: number[];
  created: { key: string; uploadId: string }[];
  aborted: number;
  completed: number;
  /** Number of keys in each delete call. */
  deletes: number[];
}

const sizeOf = (v: unknown): number => (ArrayBuffer.isView(v) ? v.byteLength : v instanceof ArrayBuffer ? v.byteLength : typeof v === "string" ? v.length : -1);

/** An R2Bucket that forwards to `inner` and records puts and multipart activity. */
export function recordingBucket(inner: R2Bucket): { bucket: R2Bucket; log: R2Log } {
  const log: R2Log = { puts: [], parts: [], created: [], aborted: 0, completed: 0, deletes: [] };
  const wrap = (u: R2MultipartUpload): R2MultipartUpload => ({
    key: u.key,
    uploadId: u.uploadId,
    uploadPart: (n, v, o) => {
      log.parts.push(sizeOf(v));
      return u.uploadPart(n, v, o);
    },
    abort: () => {
      log.aborted++;
      return u.abort();
    },
    complete: (parts) => {
      log.completed++;
      return u.complete(parts);
    },
  });
  const bucket = {
    head: (k: string) => inner.head(k),
    get: (k: string, o?: R2GetOptions) => inner.get(k, o),
    put: (k: string, v: Parameters<R2Bucket["put"]>[1], o?: R2PutOptions) => {
      log.puts.push(sizeOf(v));
      return inner.put(k, v, o);
    },
    delete: (k: string | string[]) => {
      log.deletes.push(typeof k === "string" ? 1 : k.length);
      return inner.delete(k);
    },
    list: (o?: R2ListOptions) => inner.list(o),
    createMultipartUpload: async (k: string, o?: R2MultipartOptions) => {
      const u = await inner.createMultipartUpload(k, o);
      log.created.push({ key: u.key, uploadId: u.uploadId });
      return wrap(u);
    },
    resumeMultipartUpload: (k: string, id: string) => wrap(inner.resumeMultipartUpload(k, id)),
  };
  return { bucket: bucket as unknown as R2Bucket, log };
}
