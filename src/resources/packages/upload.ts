// POST /v3/packages/:guid/upload, after the package was won for this request (store.acceptUpload):
// the multipart body is read part by part, the `bits` part streamed into R2 under this attempt's key
// with SHA-1 and SHA-256 computed on the way, then the zip's end records and central directory are
// checked through ranged reads. Nothing is ever held whole in memory.
//
// Outcomes:
// - refused (a bad form field, or a body that is not multipart before any bits arrived): the object
//   is deleted, the package goes back to AWAITING_UPLOAD, and the client gets the 4xx;
// - failed (the bits broke off, are too large, or are not a valid zip): the object is deleted and the
//   package is FAILED with data.error;
// - ready: READY with both checksums, then older packages of the app expire.
import type { Db } from "../../db/client";
import type { Package } from "../../db/schema";
import { ApiError, unprocessable } from "../../http/errors";
import { lengthIfLast, readMultipart } from "../../bits/multipart";
import { BitsTooLargeError, deleteBits, openBitsReader, putBits, type StoredBits } from "../../bits/store";
import { inspectZip, ZipError, ZipTooLargeError } from "../../bits/zip";
import { markFailed, markReady, reopenUpload } from "./store";
import { expirePackagesOfApp } from "./sweep";

/** The `resources` field is a small JSON list; more than this is not a resource list. */
const MAX_RESOURCES_FIELD_BYTES = 1024 * 1024;

const NON_EMPTY_RESOURCES =
  "Resources must be an empty list: this Cloud Controller keeps no resource cache (POST /v3/resource_matches matches nothing), so every file belongs in the 'bits' zip";
export const NOTHING_UPLOADED = "Upload must include either resources or bits";

/** The message of a package whose uncompressed size is over MAX_PACKAGE_SIZE (the reference's). */
const tooLargeMessage = (max: number) => `The app package is invalid: Package may not be larger than ${max} bytes`;
const BLOBSTORE_FAILURE = new ApiError("BlobstoreUnavailable").detail;

/**
 * The most raw bytes a `bits` part may have: its uncompressed limit with room for zip overhead (as the
 * reference's nginx allows 1536M in front of a 1 GiB package limit). The zip check enforces the real limit.
 */
const rawBitsLimit = (maxPackageSize: number) => maxPackageSize + Math.floor(maxPackageSize / 2) + 16 * 1024 * 1024;

type Received =
  | { kind: "stored"; bits: StoredBits }
  | { kind: "refused"; error: ApiError }
  | { kind: "failed"; error: string }
  | { kind: "blobstore"; cause: unknown };

interface UploadTarget {
  pkg: Package;
  bitsKey: string;
  bucket: R2Bucket;
  maxPackageSize: number;
}

/**
 * Receives and checks the bits, and leaves the package READY, FAILED or (refused) AWAITING_UPLOAD.
 * Throws the client's error when the request is refused, CF-BlobstoreUnavailable when R2 fails.
 */
export async function receivePackageUpload(db: Db, request: Request, target: UploadTarget): Promise<void> {
  const { pkg, bitsKey, bucket } = target;
  const received = await receiveParts(request, target);
  switch (received.kind) {
    case "refused":
      await deleteBits(bucket, bitsKey);
      await reopenUpload(db, pkg, bitsKey);
      throw received.error;
    case "failed":
      await fail(db, target, received.error);
      return;
    case "blobstore":
      console.error("package upload: blobstore failure", pkg.guid, received.cause instanceof Error ? received.cause.message : String(received.cause));
      await fail(db, target, BLOBSTORE_FAILURE);
      throw new ApiError("BlobstoreUnavailable");
  }

  const problem = await zipProblem(bucket, bitsKey, target.maxPackageSize);
  if (problem === "blobstore") {
    await fail(db, target, BLOBSTORE_FAILURE);
    throw new ApiError("BlobstoreUnavailable");
  }
  if (problem !== undefined) {
    await fail(db, target, problem);
    return;
  }
  const { sha1, sha256, size } = received.bits;
  if (!(await markReady(db, pkg.guid, "PROCESSING_UPLOAD", bitsKey, { sha1, sha256, size }))) {
    // Deleted, or failed by the sweep, while the bits were arriving: they belong to nobody.
    await deleteBits(bucket, bitsKey);
    return;
  }
  await expirePackagesOfApp(db, bucket, pkg.appGuid);
}

/** The object first (a crash in between leaves the package to the sweep), then the state. */
async function fail(db: Db, target: UploadTarget, error: string): Promise<void> {
  await deleteBits(target.bucket, target.bitsKey).catch(() => undefined);
  await markFailed(db, target.pkg.guid, "PROCESSING_UPLOAD", target.bitsKey, error);
}

async function receiveParts(request: Request, target: UploadTarget): Promise<Received> {
  let bits: StoredBits | undefined;
  let bitsStarted = false;
  let resources: string | undefined;
  const unknownFields: string[] = [];
  try {
    for await (const part of readMultipart(request)) {
      if (part.name === "bits") {
        if (bitsStarted) return { kind: "refused", error: unprocessable("Bits must be sent in one 'bits' part") };
        bitsStarted = true;
        // The cf CLI sends `bits` last with an exact Content-Length: one known-length put.
        bits = await putBits(target.bucket, target.bitsKey, part.body, {
          maxBytes: rawBitsLimit(target.maxPackageSize),
          expectedLength: lengthIfLast(request, part),
        });
      } else if (part.name === "resources") {
        if (resources !== undefined) return { kind: "refused", error: unprocessable("Resources must be sent in one 'resources' part") };
        resources = await part.text(MAX_RESOURCES_FIELD_BYTES);
        // Refused as soon as known: the bits that may follow are then never read.
        const problem = resourcesProblem(resources);
        if (problem !== undefined) return { kind: "refused", error: unprocessable(problem) };
      } else if (!unknownFields.includes(part.name)) {
        unknownFields.push(part.name); // not read: the parser skips it
      }
    }
  } catch (err) {
    if (err instanceof BitsTooLargeError) return { kind: "failed", error: tooLargeMessage(target.maxPackageSize) };
    if (!(err instanceof ApiError)) return { kind: "blobstore", cause: err };
    // A broken body: before any bits it is the client's error; once bits flowed, the upload failed.
    if (!bitsStarted) return { kind: "refused", error: err };
    return { kind: "failed", error: `The app upload is invalid: ${err.detail.replace(/^Request invalid due to parse error: /, "")}` };
  }
  if (unknownFields.length > 0) {
    return { kind: "refused", error: unprocessable(`Unknown field(s): ${unknownFields.map((f) => `'${f}'`).join(", ")}`) };
  }
  if (bits === undefined) return { kind: "refused", error: unprocessable(NOTHING_UPLOADED) };
  return { kind: "stored", bits };
}

/** `resources` may be absent or `[]`: this service matches no resources, so there is nothing to add. */
function resourcesProblem(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "Resources must be valid JSON.";
  }
  if (!Array.isArray(value)) return "Resources must be valid JSON.";
  if (value.length > 0) return NON_EMPTY_RESOURCES;
  return undefined;
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
