// Presigned R2 downloads: where R2's S3 credentials are configured, a download answers 302 to a
// short-lived presigned GET URL on R2's S3 endpoint instead of streaming the bytes through the
// Worker, as the reference does with a remote blobstore (cloud_controller_ng PackagesController#download
// redirects to the blob's signed public download URL).
import { AwsClient } from "aws4fetch";
import type { Bindings } from "../env";
import { contentDisposition } from "./store";

/** Default lifetime of a presigned URL: long enough to start the download, short enough not to be shared. */
const DEFAULT_PRESIGNED_URL_TTL_SECONDS = 300;
/** SigV4 allows 1 s to 7 days. */
const MAX_TTL_SECONDS = 604_800;

export interface PresignConfig {
  /** The account's S3 endpoint, e.g. https://<ACCOUNT_ID>.r2.cloudflarestorage.com (not a custom domain: the host is signed). */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  ttlSeconds: number;
}

export interface PresignRequest {
  key: string;
  /** Becomes `response-content-disposition`, so the file saved keeps its name. */
  filename?: string;
  /** The signing time; now unless given (tests fix it). */
  now?: Date;
}

/**
 * The presign configuration, or null when any part is missing (then downloads stream). The TTL
 * falls back to the default when absent or not a whole number of seconds in SigV4's range.
 */
function presignConfig(env: Bindings): PresignConfig | null {
  const { R2_ACCESS_KEY_ID: accessKeyId, R2_SECRET_ACCESS_KEY: secretAccessKey, R2_S3_ENDPOINT: endpoint, R2_BUCKET_NAME: bucket } = env;
  if (!accessKeyId || !secretAccessKey || !endpoint || !bucket) return null;
  return { endpoint, bucket, accessKeyId, secretAccessKey, ttlSeconds: ttlFrom(env.PRESIGNED_URL_TTL_SECONDS) };
}

function ttlFrom(value: string | undefined): number {
  if (value === undefined || !/^\d{1,6}$/.test(value.trim())) return DEFAULT_PRESIGNED_URL_TTL_SECONDS;
  const ttl = Number(value);
  return ttl >= 1 && ttl <= MAX_TTL_SECONDS ? ttl : DEFAULT_PRESIGNED_URL_TTL_SECONDS;
}

/**
 * A presigned GET URL for `key` (path style: endpoint/bucket/key), valid for the configured TTL.
 * `X-Amz-Content-Sha256=UNSIGNED-PAYLOAD` is in the (signed) query, as AWS's own presigner puts it:
 * S3 and R2 accept it, and the URL can be checked against the SDK's for the same request.
 */
export async function presignedGetUrl(config: PresignConfig, request: PresignRequest): Promise<string> {
  const url = new URL(`${config.endpoint.replace(/\/+$/, "")}/${encodeSegment(config.bucket)}/${request.key.split("/").map(encodeSegment).join("/")}`);
  url.searchParams.set("X-Amz-Expires", String(config.ttlSeconds));
  url.searchParams.set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD");
  if (request.filename !== undefined) url.searchParams.set("response-content-disposition", contentDisposition(request.filename));
  const client = new AwsClient({
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    service: "s3",
    region: "auto",
  });
  const signed = await client.sign(url.toString(), {
    method: "GET",
    aws: { signQuery: true, datetime: amzDate(request.now ?? new Date()) },
  });
  return signed.url;
}

/** RFC 3986 unreserved characters stay; everything else is percent-encoded, as S3 canonicalises a path segment. */
const encodeSegment = (segment: string): string =>
  encodeURIComponent(segment).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);

/** `20261202T130000Z`. */
const amzDate = (date: Date): string => date.toISOString().replace(/[:-]|\.\d{3}/g, "");

/**
 * The 302 to a presigned GET of `key` for a GET `request`, or null when downloads stream: without the
 * configuration, and for HEAD (a URL signed for GET is refused for HEAD, so HEAD answers the object's
 * headers from R2 itself). Range, If-None-Match and If-Range go with the client to R2, which honours them.
 * R2 is not asked whether the object exists: the answer takes the same time whatever the object's size.
 */
export async function presignedRedirect(env: Bindings, request: Request, key: string, filename: string): Promise<Response | null> {
  if (request.method !== "GET") return null;
  const config = presignConfig(env);
  if (config === null) return null;
  const location = await presignedGetUrl(config, { key, filename });
  return new Response(null, { status: 302, headers: { Location: location } });
}
