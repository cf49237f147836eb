// POST /v3/packages/:guid/upload, after the package was won for this request (store.acceptUpload):
// the multipart body is read part by part, the `bits` part streamed into R2 under this attempt's key
// with SHA-1 and SHA-256 computed on the way, then the zip's end records and central directory are
// checked through ranged reads. Nothing is ever held whole in memory.
//
// With a non-empty `resources` part (files matched in the resource pool) the uploaded zip is only a
// staging object: the package is assembled from its entries and the pool files (./assembly.ts).
//
// Outcomes:
// - refused (a bad form field, or a body that is not multipart before any bits arrived): the objects
//   are deleted, the package goes back to AWAITING_UPLOAD, and the client gets the 4xx;
// - failed (the bits broke off, are too large, or are not a valid zip; a matched file is not in the
//   pool or is corrupt): the objects are deleted and the package is FAILED with data.error;
// - ready: READY with both checksums, then older packages of the app expire.
import type { Identity } from "../../auth/token";
import type { Db } from "../../db/client";
import type { Package } from "../../db/schema";
import type { Bindings } from "../../env";
import { ApiError, unprocessable } from "../../http/errors";
import { bodyLengthError, lengthIfLast, readMultipart } from "../../bits/multipart";
import { BitsLengthMismatchError, BitsTooLargeError, deleteBits, openBitsReader, putBits, type StoredBits } from "../../bits/store";
import { newPackageBitsKey } from "../../bits/keys";
import { inspectZip, ZipError, ZipTooLargeError } from "../../bits/zip";
import { assemblePackage } from "./assembly";
import { parseResources, type MatchedResource } from "./resources";
import { markFailed, markReady, reopenUpload } from "./store";
import { expirePackagesOfApp } from "./sweep";
import type { PoolMessage } from "../../pool/fill";

/**
 * The `resources` field is a JSON list of the matched files (about 150 bytes each): 4 MiB is over
 * 25,000 of them. More is not a resource list.
 */
const MAX_RESOURCES_FIELD_BYTES = 4 * 1024 * 1024;

export const NOTHING_UPLOADED = "Upload must include either resources or bits";

/** The message of a package whose uncompressed size is over MAX_PACKAGE_SIZE (the reference's). */
export const tooLargeMessage = (max: number) => `The app package is invalid: Package may not be larger than ${max} bytes`;
export const BLOBSTORE_FAILURE = new ApiError("BlobstoreUnavailable").detail;

/**
 * The most raw bytes a `bits` part may have: its uncompressed limit with room for zip overhead (as the
 * reference's nginx allows 1536M in front of a 1 GiB package limit). The zip check enforces the real limit.
 */
const rawBitsLimit = (maxPackageSize: number) => maxPackageSize + Math.floor(maxPackageSize / 2) + 16 * 1024 * 1024;

type Received =
  | { kind: "stored"; bits: StoredBits | undefined; resources: MatchedResource[] }
  | { kind: "refused"; error: ApiError }
  | { kind: "failed"; error: string }
  | { kind: "blobstore"; cause: unknown };

export interface UploadTarget {
  pkg: Package;
  /** The key acceptUpload gave the package. */
  bitsKey: string;
  /** Where the bits go when matched resources are announced before them (the package is then assembled at bitsKey). */
  stagingKey: string;
  bucket: R2Bucket;
  maxPackageSize: number;
  env: Bindings;
  who: Identity;
  organizationGuid: string;
  /** Where the READY package's files go to be pooled (src/pool/fill.ts). */
  pool: Queue<PoolMessage>;
  /** The multipart boundary, read from the Content-Type once by the route. */
  boundary: string;
}

/** A target for `pkg` whose upload was accepted under `bitsKey`. */
export function uploadTarget(input: Omit<UploadTarget, "stagingKey">): UploadTarget {
  return { ...input, stagingKey: newPackageBitsKey(input.pkg.guid) };
}

/**
 * Receives and checks the bits, and leaves the package READY, FAILED or (refused) AWAITING_UPLOAD.
 * Throws the client's error when the request is refused, CF-BlobstoreUnavailable when R2 fails. When
 * the package was deleted meanwhile it returns having removed its object; presenting it is then 404.
 */
export async function receivePackageUpload(db: Db, request: Request, target: UploadTarget): Promise<void> {
  const { pkg, bitsKey, bucket } = target;
  const received = await receiveParts(request, target);
  switch (received.kind) {
    case "refused":
      await deleteBits(bucket, [bitsKey, target.stagingKey]);
      await reopenUpload(db, pkg, bitsKey);
      throw received.error;
    case "failed":
      await fail(db, target, received.error);
      return;
    case "blobstore":
      console.error("package upload: blobstore failure", pkg.guid, received.cause instanceof Error ? received.cause.message : String(received.cause));
      await failOnBlobstore(db, target);
      return;
  }
  if (received.resources.length > 0) {
    await assemblePackage(db, target, received.bits, received.resources);
    return;
  }
  if (received.bits === undefined) throw new Error("unreachable: neither bits nor resources");

  const problem = await zipProblem(bucket, bitsKey, target.maxPackageSize);
  if (problem === "blobstore") {
    await failOnBlobstore(db, target);
    return;
  }
  if (problem !== undefined) {
    await fail(db, target, problem);
    return;
  }
  const { sha1, sha256, size } = received.bits;
  if (!(await markReady(db, pkg.guid, "PROCESSING_UPLOAD", bitsKey, { sha1, sha256, size }, target.pool))) {
    // Deleted, or failed by the sweep, while the bits were arriving: they belong to nobody.
    await deleteBits(bucket, bitsKey);
    return;
  }
  await expirePackagesOfApp(db, bucket, pkg.appGuid);
}

/**
 * The objects first (a crash in between leaves the package to the sweep), then the state. False when
 * the package was no longer this upload's (deleted, with its app perhaps, or failed by the sweep).
 * `bitsKey`: the key the package names now (assembly may have moved it); `others`: a staged upload.
 */
export async function fail(db: Db, target: UploadTarget, error: string, bitsKey = target.bitsKey, others: readonly string[] = []): Promise<boolean> {
  await deleteBits(target.bucket, [bitsKey, target.stagingKey, ...others]).catch(() => undefined);
  return markFailed(db, target.pkg.guid, "PROCESSING_UPLOAD", bitsKey, error);
}

/**
 * R2 failed (or the object vanished): 502 CF-BlobstoreUnavailable, unless the package is no longer
 * this upload's. A package deleted meanwhile (its object with it) is what R2 tripped over; the caller
 * then answers what the package is now: 404 when it is gone, as the reference for a missing package.
 */
async function failOnBlobstore(db: Db, target: UploadTarget): Promise<void> {
  if (await fail(db, target, BLOBSTORE_FAILURE)) throw new ApiError("BlobstoreUnavailable");
}

async function receiveParts(request: Request, target: UploadTarget): Promise<Received> {
  let bits: StoredBits | undefined;
  let bitsStarted = false;
  /** The length the `bits` part has if it is the last part, and whether any part followed it. */
  let expectedLength: number | undefined;
  let partsAfterBits = 0;
  let resources: MatchedResource[] | undefined;
  const unknownFields: string[] = [];
  try {
    for await (const part of readMultipart(request, undefined, target.boundary)) {
      if (bitsStarted) partsAfterBits++;
      if (part.name === "bits") {
        if (bitsStarted) return { kind: "refused", error: unprocessable("Bits must be sent in one 'bits' part") };
        bitsStarted = true;
        // With matched resources announced, the zip is staged and the package assembled from it
        // (bits sent before `resources` are stored at bitsKey; assembly then moves the package).
        const key = resources !== undefined && resources.length > 0 ? target.stagingKey : target.bitsKey;
        // The cf CLI sends `bits` last with an exact Content-Length: one known-length put.
        expectedLength = lengthIfLast(request, part, target.boundary);
        bits = await putBits(target.bucket, key, part.body, {
          maxBytes: rawBitsLimit(target.maxPackageSize),
          expectedLength,
          endedLast: () => part.last,
        });
      } else if (part.name === "resources") {
        if (resources !== undefined) return { kind: "refused", error: unprocessable("Resources must be sent in one 'resources' part") };
        // Refused as soon as known: the bits that may follow are then never read.
        try {
          resources = parseResources(await part.text(MAX_RESOURCES_FIELD_BYTES));
        } catch (err) {
          if (err instanceof ApiError && err.errorName !== "MessageParseError") return { kind: "refused", error: err };
          throw err;
        }
      } else if (!unknownFields.includes(part.name)) {
        unknownFields.push(part.name); // not read: the parser skips it
      }
    }
  } catch (err) {
    if (err instanceof BitsTooLargeError) return { kind: "failed", error: tooLargeMessage(target.maxPackageSize) };
    // The Content-Length promised bytes that never came (or fewer than came): the request is refused.
    if (err instanceof BitsLengthMismatchError) return { kind: "refused", error: bodyLengthError(err.expected, err.received) };
    if (!(err instanceof ApiError)) return { kind: "blobstore", cause: err };
    // A broken body: before any bits it is the client's error; once bits flowed, the upload failed.
    if (!bitsStarted) return { kind: "refused", error: err };
    return { kind: "failed", error: `The app upload is invalid: ${err.detail.replace(/^Request invalid due to parse error: /, "")}` };
  }
  if (unknownFields.length > 0) {
    return { kind: "refused", error: unprocessable(`Unknown field(s): ${unknownFields.map((f) => `'${f}'`).join(", ")}`) };
  }
  // `resources: []` alone uploads nothing (app/messages/package_upload_message.rb).
  if (bits === undefined && (resources === undefined || resources.length === 0)) return { kind: "refused", error: unprocessable(NOTHING_UPLOADED) };
  // The last part ends where the Content-Length says: a shorter `bits` part means bytes were missing.
  if (bits !== undefined && partsAfterBits === 0 && expectedLength !== undefined && bits.size < expectedLength) return { kind: "refused", error: bodyLengthError(expectedLength, bits.size) };
  return { kind: "stored", bits, resources: resources ?? [] };
}

/** What is wrong with the stored zip (the message for data.error), "blobstore" if R2 failed, or undefined. */
async function zipProblem(bucket: R2Bucket, key: string, maxPackageSize: number): Promise<string | "blobstore" | undefined> {
  try {
    const reader = await openBitsReader(bucket, key);
    if (reader === null) return "blobstore";
    await inspectZip(reader, { maxUncompressedSize: maxPackageSize });
    return undefined;
  } catch (err) {
    if (err instanceof ZipTooLargeError) return tooLargeMessage(maxPackageSize);
    if (err instanceof ZipError) return `The app upload is invalid: Invalid zip archive (${err.message}).`;
    console.error("package upload: zip check failed", key, err instanceof Error ? err.message : String(err));
    return "blobstore";
  }
}
