// GET /v3/packages/:guid/download: the stored zip streamed from R2 (Content-Length, ETag, Range,
// If-None-Match), after the reference's checks (PackagesController#download).
import type { Package } from "../../db/schema";
import { unprocessable } from "../../http/errors";
import { bitsResponse } from "../../bits/store";

const NOT_BITS = "Package type must be bits.";
const NO_BITS = "Package has no bits to download.";

/** 422 unless the package is a READY bits package with stored bits. Returns the key to serve. */
export function downloadableKey(pkg: Package): string {
  if (pkg.type !== "bits") throw unprocessable(NOT_BITS);
  if (pkg.state !== "READY" || pkg.bitsKey === null) throw unprocessable(NO_BITS);
  return pkg.bitsKey;
}

/** The streaming answer; a vanished object (deleted or expired meanwhile) is "no bits" too. */
export async function packageDownload(bucket: R2Bucket, key: string, request: Request, pkg: Package): Promise<Response> {
  const response = await bitsResponse(bucket, key, request, { contentType: "application/zip", filename: `package-${pkg.guid}.zip` });
  if (response === null) throw unprocessable(NO_BITS);
  return response;
}
