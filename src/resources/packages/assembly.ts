// A package uploaded with matched resources: its zip is assembled from the uploaded entries (if any
// `bits` came) and the pool's files, inside the request, as lib/cloud_controller/packager/
// shared_bits_packer.rb does in its job. The uploaded zip is a staging object; the package's object
// is written once, by one put of known length (src/bits/assemble.ts), and deleted on any failure.
//
// - A matched SHA-1 the pool does not hold (pruned, or removed as corrupt, between match and upload):
//   FAILED, nothing stored. The reference's job fails the same way.
// - A pool file whose bytes fail their CRC-32 or size check, or whose object is gone: the put is
//   aborted, the entry leaves the pool (so the next match does not offer it), and the package is
//   FAILED with the reference's CF-ResourceChecksumMismatch message.
// - A pool file read from its source package (a previous package holding the same bytes) that does
//   not match: the put is aborted and the package assembled again from the pool objects alone.
// - A matched path that an uploaded entry also has: the pool file wins, as in the reference, which
//   unzips the upload and then copies the matched files over it.
import { assemblyStream, planAssembly, pooledDataOffsets, PooledFileError, SourceError, type AssemblyPlan, type PooledFile, type UploadedZip } from "../../bits/assemble";
import { newPackageBitsKey } from "../../bits/keys";
import { BitsNotFoundError, deleteBits, openBitsReader, putBits, type StoredBits } from "../../bits/store";
import { inspectZip, ZipError, type ZipEntry } from "../../bits/zip";
import type { Db } from "../../db/client";
import { ApiError } from "../../http/errors";
import { poolKey, pooledForUpload, recordSources, removePooled, touchPooled, type PoolEntry } from "../../pool/store";
import type { MatchedResource } from "./resources";
import { markReady, moveUpload } from "./store";
import { expirePackagesOfApp } from "./sweep";
import { BLOBSTORE_FAILURE, fail, tooLargeMessage, type UploadTarget } from "./upload";

/** SHA-1s per pool lookup (one statement each; a bound JSON value stays far below D1's limits). */
const LOOKUP_BATCH = 5000;

export const CHECKSUM_MISMATCH = new ApiError("ResourceChecksumMismatch").detail;

/** The data.error of a package whose matched files the pool no longer holds. */
export function notPooledMessage(missing: readonly MatchedResource[]): string {
  const first = missing[0]!;
  const more = missing.length > 1 ? ` and ${missing.length - 1} more` : "";
  return `The app upload is invalid: the resource cache does not hold the matched file '${first.path}' (sha1 ${first.sha1})${more}; match the resources again and retry the package upload.`;
}

/**
 * Assembles the package from `uploaded` (the stored `bits`, if any) and the matched `resources`, and
 * leaves it READY or FAILED. Throws CF-BlobstoreUnavailable (the package FAILED) when R2 fails.
 */
export async function assemblePackage(db: Db, target: UploadTarget, uploaded: StoredBits | undefined, resources: readonly MatchedResource[]): Promise<void> {
  const { pkg, bucket } = target;
  let packageKey = target.bitsKey;
  // The staged upload, which is deleted at the end whatever happens.
  const uploadedKey = uploaded?.key;
  const others = uploadedKey === undefined || uploadedKey === packageKey ? [] : [uploadedKey];
  const failWith = (error: string) => fail(db, target, error, packageKey, uploadedKey === undefined ? [] : [uploadedKey]);
  try {
    const pooled = await lookUp(db, target, resources);
    const missing = resources.filter((r) => !pooled.has(r.sha1));
    if (missing.length > 0) {
      await failWith(notPooledMessage(missing));
      return;
    }

    let zip: UploadedZip | undefined;
    if (uploaded !== undefined) {
      const read = await readUploaded(bucket, uploaded.key);
      if (typeof read === "string") {
        await failWith(read);
        return;
      }
      zip = read;
    }
    // The last resource listed for a path wins (the reference copies them in order).
    const byPath = new Map<string, PooledFile<PoolEntry>>();
    for (const r of resources) {
      const entry = pooled.get(r.sha1)!;
      byPath.delete(r.path);
      byPath.set(r.path, { path: r.path, mode: r.mode, key: poolKey(entry.scope, entry.sha1), entry });
    }
    const files = [...byPath.values()];
    let plan = planAssembly(zip, files);
    if (plan.uncompressedSize > target.maxPackageSize) {
      await failWith(tooLargeMessage(target.maxPackageSize));
      return;
    }

    if (uploadedKey === packageKey) {
      // The bits came before `resources` and sit at the package's key: the package moves to a new one.
      const next = newPackageBitsKey(pkg.guid);
      if (!(await moveUpload(db, pkg.guid, packageKey, next))) {
        await deleteBits(bucket, [packageKey, target.stagingKey]);
        return;
      }
      others.push(packageKey);
      packageKey = next;
    }

    let stored: StoredBits;
    try {
      try {
        stored = await putBits(bucket, packageKey, assemblyStream(bucket, plan), { length: plan.length });
      } catch (err) {
        if (!(err instanceof SourceError)) throw err;
        console.error("package assembly: source package does not match, assembling from the pool", pkg.guid, err.file.entry.source?.key, err.reason);
        plan = planAssembly(zip, files.map((f) => ({ ...f, entry: { ...f.entry, source: undefined } })));
        stored = await putBits(bucket, packageKey, assemblyStream(bucket, plan), { length: plan.length });
      }
    } catch (err) {
      if (err instanceof PooledFileError) {
        const { entry } = err.file as PooledFile<PoolEntry>;
        console.error("package assembly: corrupt pool entry removed", pkg.guid, entry.scope, entry.sha1, err.reason);
        await removePooled(db, bucket, entry);
        await failWith(CHECKSUM_MISMATCH);
        return;
      }
      if (err instanceof ZipError) {
        await failWith(`The app upload is invalid: Invalid zip archive (${err.message}).`);
        return;
      }
      throw err;
    }
    await deleteBits(bucket, [...others, target.stagingKey]);
    if (!(await markReady(db, pkg.guid, "PROCESSING_UPLOAD", packageKey, stored, target.pool))) {
      // Deleted, or failed by the sweep, meanwhile: the object belongs to nobody.
      await deleteBits(bucket, packageKey);
      return;
    }
    await touchPooled(db, [...new Map(files.map((f) => [`${f.entry.scope}/${f.entry.sha1}`, f.entry])).values()]);
    await recordSources(db, packageKey, stored.etag, sourcesIn(plan));
    await expirePackagesOfApp(db, bucket, pkg.appGuid);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    console.error("package assembly: blobstore failure", pkg.guid, err instanceof Error ? err.message : String(err));
    // As upload.ts's failOnBlobstore: 502 unless the package is no longer this upload's.
    if (await failWith(BLOBSTORE_FAILURE)) throw new ApiError("BlobstoreUnavailable");
  }
}

/** The pool files of the package as sources for the next assembly: where each one's bytes start in it. */
function sourcesIn(plan: AssemblyPlan): { scope: string; sha1: string; offset: number }[] {
  return pooledDataOffsets<PoolEntry>(plan).map(({ file, offset }) => ({ scope: file.entry.scope, sha1: file.entry.sha1, offset }));
}

/** The pool entries this upload may use, by SHA-1 (one statement per 5,000). */
async function lookUp(db: Db, target: UploadTarget, resources: readonly MatchedResource[]): Promise<Map<string, PoolEntry>> {
  const sha1s = [...new Set(resources.map((r) => r.sha1))];
  const found = new Map<string, PoolEntry>();
  for (let i = 0; i < sha1s.length; i += LOOKUP_BATCH) {
    const part = await pooledForUpload(db, target.env, target.who, target.organizationGuid, sha1s.slice(i, i + LOOKUP_BATCH));
    for (const [sha1, entry] of part) found.set(sha1, entry);
  }
  return found;
}

/** The uploaded zip's entries, or the data.error when it is not a valid zip. */
async function readUploaded(bucket: R2Bucket, key: string): Promise<UploadedZip | string> {
  const reader = await openBitsReader(bucket, key);
  if (reader === null) throw new BitsNotFoundError(key);
  const entries: ZipEntry[] = [];
  try {
    const summary = await inspectZip(reader, { onEntry: (e) => entries.push(e) });
    return { key, etag: reader.etag, entries, centralDirectoryOffset: summary.centralDirectoryOffset };
  } catch (err) {
    if (err instanceof ZipError) return `The app upload is invalid: Invalid zip archive (${err.message}).`;
    throw err;
  }
}
