// The `resources` part of a package upload: the files the client matched (POST /v3/resource_matches)
// and did not put in the `bits` zip. Checked as the reference checks them
// (lib/cloud_controller/blobstore/fingerprints_collection.rb, FilePathChecker.safe_path?), but here
// before anything is stored: a refused list leaves the package AWAITING_UPLOAD.
import { ApiError, unprocessable } from "../../http/errors";

/** One matched file, checked. */
export interface MatchedResource {
  /** '/'-separated, relative, with "." and ".." resolved (never above the package's root). */
  path: string;
  /** Unix permission bits. */
  mode: number;
  /** Lower-case hex. */
  sha1: string;
}

/** FingerprintsCollection::DEFAULT_FILE_MODE. */
const DEFAULT_FILE_MODE = 0o744;
/** A zip stores a name in at most 65,535 bytes. */
const MAX_PATH_BYTES = 0xffff;

export const INVALID_JSON = "Resources must be valid JSON.";
const invalidResources = () => new ApiError("AppBitsUploadInvalid", "invalid :resources");

/**
 * The matched files of a `resources` part, in order. Throws the client's error: 422 "Resources must be
 * valid JSON." (not JSON), 400 CF-AppBitsUploadInvalid "invalid :resources" (not an array, or an entry
 * without a path or a SHA-1), 400 CF-AppResourcesFileModeInvalid (a mode without both 0600 bits),
 * 400 CF-AppResourcesFilePathInvalid (a path that leaves the package). Entries in the v3 form
 * (`path`, `checksum.value`, `size_in_bytes`, `mode`) or the v2 form (`fn`, `sha1`, `size`, `mode`),
 * as app/messages/package_upload_message.rb accepts both.
 */
export function parseResources(text: string): MatchedResource[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw unprocessable(INVALID_JSON);
  }
  if (!Array.isArray(value)) throw invalidResources();
  return value.map((raw: unknown) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw invalidResources();
    const r = raw as Record<string, unknown>;
    const checksum = r.checksum;
    const path = r.path ?? r.fn;
    const sha1 = typeof checksum === "object" && checksum !== null ? (checksum as Record<string, unknown>).value : r.sha1;
    if (typeof path !== "string" || typeof sha1 !== "string" || !/^[0-9a-f]{40}$/i.test(sha1)) throw invalidResources();
    // The reference parses the mode before it checks the path (FingerprintsCollection#each).
    const mode = parseMode(r.mode, path);
    const safe = safePath(path);
    if (safe === null) throw new ApiError("AppResourcesFilePathInvalid", `File path '${path}' is not safe.`);
    return { path: safe, mode, sha1: sha1.toLowerCase() };
  });
}

/** FingerprintsCollection#parse_mode: octal, default 0744, owner read and write required. */
function parseMode(raw: unknown, path: string): number {
  let mode = DEFAULT_FILE_MODE;
  if (raw !== undefined && raw !== null) {
    // Ruby's String#to_i(8): the leading octal digits, 0 when there are none.
    const digits = typeof raw === "string" ? /^\s*([0-7]+)/.exec(raw)?.[1] : undefined;
    mode = digits === undefined ? 0 : parseInt(digits, 8);
  }
  if ((mode & 0o600) !== 0o600) {
    throw new ApiError("AppResourcesFileModeInvalid", `File mode '${raw === undefined || raw === null ? "" : String(raw)}' with path '${path}' is invalid. Minimum file mode is '0600'`);
  }
  return mode & 0o7777;
}

/**
 * The path with "." and ".." resolved, or null when it is not safe: absolute (also a drive letter or
 * a leading backslash), climbing above the root (with either separator: unzip on some systems reads
 * a backslash as one), containing NUL, or naming nothing. The reference joins the path to a root
 * and refuses what expands outside it (FilePathChecker.safe_path?); an absolute path is refused here
 * too, as unzip would strip its leading slash and place the file somewhere else than listed.
 */
export function safePath(path: string): string | null {
  if (path === "" || path.includes("\0") || /^[\\/]/.test(path) || /^[A-Za-z]:/.test(path)) return null;
  let depth = 0;
  for (const segment of path.split(/[\\/]/)) {
    if (segment === "..") depth--;
    else if (segment !== "" && segment !== ".") depth++;
    if (depth < 0) return null;
  }
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  const normalized = out.join("/");
  if (normalized === "" || new TextEncoder().encode(normalized).length > MAX_PATH_BYTES) return null;
  return normalized;
}
