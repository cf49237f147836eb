// Buildpack bits: the multipart file part streamed into R2 (SHA-256 computed on the way, never held
// whole), the manifest's stack read from the stored zip with ranged reads, and the switch of the
// record to the new bits (the reference's lib/cloud_controller/upload_buildpack.rb, shared by the v2
// upload and the v3 job).
//
// Every upload gets a fresh R2 key, so a failed or identical upload never touches the live object.
// Whoever does not adopt the new object deletes it; whoever replaces an object deletes the old one.
import { parseAllDocuments } from "yaml";
import { randomStart, sweepOrphanedBits } from "../../bits/orphans";
import { BUILDPACKS_PREFIX, newBuildpackBitsKey } from "../../bits/keys";
import { BitsLengthMismatchError, BitsTooLargeError, deleteBits, openBitsReader, putBits, type StoredBits } from "../../bits/store";
import { sniffArchiveHead, inspectZip, readZipEntry, ZipError, type ArchiveKind, type ZipEntry } from "../../bits/zip";
import type { Db } from "../../db/client";
import type { Buildpack } from "../../db/schema";
import { ApiError } from "../../http/errors";
import { bodyLengthError, lengthIfLast, multipartBoundary, readMultipart } from "../../bits/multipart";
import { BuildpackWriteError, findBuildpack, referencedBitsKeys, replaceBits, stackExists, type AuditContext } from "./store";

/** No buildpack comes near this; a larger upload is refused as it streams in. */
const MAX_BUILDPACK_BYTES = 4 * 1024 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_TEXT_FIELD_BYTES = 64 * 1024;

interface ReceivedFile {
  stored: StoredBits;
  /** The basename the client gave. */
  filename: string;
}

interface ReceivedForm {
  file: ReceivedFile | null;
  /** Text fields by name (the last of a repeated one). */
  fields: Map<string, string>;
}

interface ReceiveOptions {
  /** The file part's field name: `buildpack` (v2) or `bits` (v3). */
  field: string;
  /** A text field that names the file instead of the part's filename (v2 `buildpack_name`). */
  nameField?: string;
  /** Checks the filename before any byte is stored; throws to refuse. */
  checkName?: (filename: string) => void;
  /** What to throw when the file is over MAX_BUILDPACK_BYTES. */
  tooLarge: () => ApiError;
}

/** `File.basename`: the part after the last slash or backslash. */
export const basename = (name: string) => name.split(/[/\\]/).pop() ?? "";

/**
 * Reads a multipart upload: the first part named `field` that carries a filename is streamed into
 * R2 under a fresh key; small text fields are kept. On any failure nothing stays in R2.
 */
export async function receiveUpload(request: Request, bucket: R2Bucket, buildpackGuid: string, options: ReceiveOptions): Promise<ReceivedForm> {
  const fields = new Map<string, string>();
  let file: ReceivedFile | null = null;
  try {
    // The Content-Type is read once: for the parser and for each part's expected length.
    const boundary = multipartBoundary(request.headers.get("content-type"));
    for await (const part of readMultipart(request, undefined, boundary)) {
      if (part.name === options.field && part.filename !== undefined) {
        if (file !== null) continue; // a second file is skipped, not stored
        const given = (options.nameField ? fields.get(options.nameField) : undefined) ?? part.filename;
        const filename = basename(given);
        options.checkName?.(filename);
        try {
          const stored = await putBits(bucket, newBuildpackBitsKey(buildpackGuid), part.body, {
            maxBytes: MAX_BUILDPACK_BYTES,
            expectedLength: lengthIfLast(request, part, boundary), // one known-length put when the file is last
            endedLast: () => part.last,
            contentType: "application/octet-stream",
          });
          file = { stored, filename };
        } catch (err) {
          if (err instanceof BitsTooLargeError) throw options.tooLarge();
          // The Content-Length promised bytes that never came: refused, nothing stored.
          if (err instanceof BitsLengthMismatchError) throw bodyLengthError(err.expected, err.received);
          throw err;
        }
      } else if (part.filename === undefined) {
        fields.set(part.name, await part.text(MAX_TEXT_FIELD_BYTES));
      }
    }
  } catch (err) {
    if (file !== null) await deleteBits(bucket, file.stored.key).catch(() => undefined);
    throw err;
  }
  return { file, fields };
}

/** What the first bytes of the stored file say it is. */
export async function sniffStored(bucket: R2Bucket, stored: StoredBits): Promise<ArchiveKind> {
  if (stored.size === 0) return "empty";
  const reader = await openBitsReader(bucket, stored.key);
  if (!reader) throw new Error(`stored bits ${stored.key} are missing`);
  return sniffArchiveHead(await reader.read(0, Math.min(reader.size, 512)), reader.size);
}

// ---------------------------------------------------------------------------------------------
// The manifest's stack

const zipError = (detail: string) => new ApiError("BuildpackZipError", detail);

/**
 * The `stack` of the zip's root `manifest.yml`, or undefined when there is none. Reads only the zip's
 * central directory and that one entry. 422 CF-BuildpackZipError when the zip or manifest is invalid.
 */
async function manifestStack(bucket: R2Bucket, key: string): Promise<string | undefined> {
  const reader = await openBitsReader(bucket, key);
  if (!reader) throw new Error(`stored bits ${key} are missing`);
  let manifest: ZipEntry | undefined;
  try {
    await inspectZip(reader, {
      onEntry: (e) => {
        if (manifest === undefined && e.name === "manifest.yml") manifest = e;
      },
    });
  } catch (err) {
    if (err instanceof ZipError) throw zipError("buildpack zipfile is not valid");
    throw err;
  }
  if (manifest === undefined) return undefined;
  if (manifest.uncompressedSize > MAX_MANIFEST_BYTES) throw zipError("buildpack manifest is too large");
  let bytes: Uint8Array;
  try {
    bytes = await readZipEntry(reader, manifest, MAX_MANIFEST_BYTES);
  } catch (err) {
    if (err instanceof ZipError) throw zipError(err.reason === "too-large" ? "buildpack manifest is too large" : "buildpack zipfile is not valid");
    throw err;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw zipError("buildpack manifest is not valid");
  }
  const stack = topLevelStack(text);
  if (stack === null) throw zipError("buildpack manifest is not valid");
  return stack;
}

/**
 * The `stack` of a manifest, read as the reference does (`YAML.safe_load`, then `manifest[:stack]`):
 * undefined when the document is empty or names no stack (null or ""), null when the text is not valid
 * YAML, not a mapping, or names a stack that is not a string.
 */
function topLevelStack(text: string): string | undefined | null {
  let manifest: unknown;
  try {
    // The first document, as Psych's safe_load; duplicate keys are allowed there (the last one wins).
    const documents = parseAllDocuments(text, { uniqueKeys: false });
    if (!Array.isArray(documents)) return undefined; // no document at all
    if (documents.some((d) => d.errors.length > 0)) return null;
    manifest = documents[0]?.toJS({ maxAliasCount: 100 });
  } catch {
    return null; // e.g. aliases expanding past the bound
  }
  if (manifest === null || manifest === undefined) return undefined;
  if (typeof manifest !== "object" || Array.isArray(manifest)) return null;
  const stack = (manifest as Record<string, unknown>)["stack"];
  if (stack === null || stack === undefined || stack === "") return undefined;
  return typeof stack === "string" ? stack : null;
}

// ---------------------------------------------------------------------------------------------
// Switching the record to the new bits

type ApplyResult = { changed: boolean; buildpack: Buildpack };

/**
 * Adopts uploaded bits for the buildpack: identical bits under the same filename change nothing;
 * otherwise the manifest's stack is checked and the record switched (compare-and-swap on the old
 * key), and the old object deleted. Throws ApiErrors for bad bits (the same in v2 and v3) and
 * BuildpackWriteError "not-found" / "locked" for the caller's API to word. The new object is
 * deleted whenever it is not adopted.
 */
export async function applyUploadedBits(
  db: Db,
  bucket: R2Bucket,
  initial: Buildpack,
  file: ReceivedFile,
  auditCtx: AuditContext,
): Promise<ApplyResult> {
  let adopted = false;
  try {
    let current = initial;
    for (let attempt = 0; ; attempt++) {
      if (current.locked) throw new BuildpackWriteError("locked");
      if (current.sha256 === file.stored.sha256 && current.filename === file.filename && current.bitsKey !== null && (await bucket.head(current.bitsKey)) !== null) {
        return { changed: false, buildpack: current };
      }
      const stack = current.lifecycle === "buildpack" ? await manifestStack(bucket, file.stored.key) : undefined;
      if (stack !== undefined) {
        if (!(await stackExists(db, stack))) throw new ApiError("BuildpackStackDoesNotExist", stack);
        if (current.stack !== null && current.stack !== stack) throw new ApiError("BuildpackStacksDontMatch", stack, current.stack);
      }
      try {
        const updated = await replaceBits(db, current, {
          key: file.stored.key,
          sha256: file.stored.sha256,
          filename: file.filename,
          ...(stack !== undefined && current.stack === null ? { stack } : {}),
        }, auditCtx);
        adopted = true;
        if (current.bitsKey !== null && current.bitsKey !== file.stored.key) await deleteBits(bucket, current.bitsKey);
        return { changed: true, buildpack: updated };
      } catch (err) {
        if (!(err instanceof BuildpackWriteError)) throw err;
        if (err.reason === "name-taken") {
          throw new ApiError("BuildpackNameStackLifecycleTaken", current.name, stack ?? current.stack, current.lifecycle);
        }
        if (err.reason === "stack-missing") throw new ApiError("BuildpackStackDoesNotExist", stack);
        if (err.reason !== "bits-changed" || attempt >= 2) throw err;
        // Another upload won the race: decide again against what it left.
        const now = await findBuildpack(db, current.guid);
        if (!now) throw new BuildpackWriteError("not-found");
        current = now;
      }
    }
  } finally {
    if (!adopted) await deleteBits(bucket, file.stored.key).catch(() => undefined);
  }
}

/** The scheduled sweep's part: buildpack objects no buildpack refers to (see src/bits/orphans.ts). */
export const sweepBuildpackBits = (db: Db, bucket: R2Bucket, now = Date.now(), startAfter = randomStart(BUILDPACKS_PREFIX)) =>
  sweepOrphanedBits(bucket, { prefix: BUILDPACKS_PREFIX, referenced: (keys) => referencedBitsKeys(db, keys), now, startAfter });
