// GET /v3/packages/:guid/download: a 302 to a presigned R2 URL where R2's S3 credentials are
// configured, else the stored zip streamed from R2 (Content-Length, ETag, Range, If-None-Match), after
// the reference's checks (PackagesController#download).
import type { Package } from "../../db/schema";
import { unprocessable } from "../../http/errors";
import type { Bindings } from "../../env";
import { presignedRedirect } from "../../bits/presign";
import { bitsResponse } from "../../bits/store";

const NOT_BITS = "Package type must be bits.";
const NO_BITS = "Package has no bits to download.";

/** 422 unless the package is a READY bits package with stored bits. Returns the key to serve. */
export function downloadableKey(pkg: Package): string {
  if (pkg.type !== "bits") throw unprocessable(NOT_BITS);
  if (pkg.state !== "READY" || pkg.bitsKey === null) throw unprocessable(NO_BITS);
  return pkg.bitsKey;
}

/**
 * The redirect, else the streaming answer; a vanished object (deleted or expired meanwhile) is "no
 * bits" too when streaming (a redirect leaves that to R2's 404).
 */
export async function packageDownload(env: Bindings, key: string, request: Request, pkg: Package): Promise<Response> {
  const filename = `package-${pkg.guid}.zip`;
  const redirect = await presignedRedirect(env, request, key, filename);
  if (redirect !== null) return redirect;
  const response = await bitsResponse(env.BITS, key, request, { contentType: "application/zip", filename });
  if (response === null) throw unprocessable(NO_BITS);
  return response;
}
