// Runs under node's test runner (npm test): the presigned download URL the Worker builds with
// aws4fetch (src/bits/presign.ts, bundled for node) carries the same SigV4 signature as the AWS SDK's
// own presigner computes for the same GET at the same instant: an independent implementation.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { build } from "esbuild";

const endpoint = "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com";
const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const now = new Date("2026-12-02T13:04:05Z");

/** The AWS SDK's presigned GetObject URL, without the SDK's own additions that are not part of a plain GET. */
async function sdkUrl({ bucket, key, ttl, disposition }) {
  // WHEN_REQUIRED: no x-amz-checksum-* parameters; the build-step middleware drops the SDK's `x-id=GetObject` hint.
  const client = new S3Client({ region: "auto", endpoint, forcePathStyle: true, credentials, responseChecksumValidation: "WHEN_REQUIRED", requestChecksumCalculation: "WHEN_REQUIRED" });
  client.middlewareStack.add((next) => (args) => {
    delete args.request.query["x-id"];
    return next(args);
  }, { step: "build", name: "dropOperationHint" });
  const command = new GetObjectCommand({ Bucket: bucket, Key: key, ...(disposition ? { ResponseContentDisposition: disposition } : {}) });
  return getSignedUrl(client, command, { expiresIn: ttl, signingDate: now });
}

const sortedQuery = (url) => [...new URL(url).searchParams].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe("presigned download URLs", () => {
  const dir = mkdtempSync(join(tmpdir(), "cf-bits-presign-"));
  let presign;

  before(async () => {
    const outfile = join(dir, "presign.mjs");
    await build({
      entryPoints: ["src/bits/presign.ts"], bundle: true, platform: "node", format: "esm", target: "node22", outfile, logLevel: "silent",
    });
    presign = await import(pathToFileURL(outfile).href);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const config = (over = {}) => ({ endpoint, bucket: "cf-bits-api-production-bits", ...credentials, ttlSeconds: 300, ...over });

  it("signs a package download as the AWS SDK does", async () => {
    const key = "packages/8f5a1c7e-2b3d-4e5f-8a9b-0c1d2e3f4a5b/1733144645-abc";
    const ours = await presign.presignedGetUrl(config(), { key, filename: "package-8f5a1c7e.zip", now });
    const theirs = await sdkUrl({
      bucket: "cf-bits-api-production-bits", key, ttl: 300,
      disposition: 'attachment; filename="package-8f5a1c7e.zip"; filename*=UTF-8\'\'package-8f5a1c7e.zip',
    });
    assert.equal(new URL(ours).origin + new URL(ours).pathname, new URL(theirs).origin + new URL(theirs).pathname);
    assert.deepEqual(sortedQuery(ours), sortedQuery(theirs));
    const q = new URL(ours).searchParams;
    assert.equal(q.get("X-Amz-Expires"), "300");
    assert.equal(q.get("X-Amz-Date"), "20261202T130405Z");
    assert.equal(q.get("X-Amz-Credential"), "AKIDEXAMPLE/20261202/auto/s3/aws4_request");
    assert.match(q.get("X-Amz-Signature"), /^[0-9a-f]{64}$/);
  });

  it("agrees on keys and names that need escaping, and on another lifetime", async () => {
    const key = "buildpacks/guid/ruby buildpack+v1(2)!*'.zip";
    const filename = "ruby buildpäck \"v1\".zip";
    const ours = await presign.presignedGetUrl(config({ ttlSeconds: 60 }), { key, filename, now });
    const disposition = `attachment; filename="ruby buildp_ck _v1_.zip"; filename*=UTF-8''${encodeURIComponent(filename)}`;
    const theirs = await sdkUrl({ bucket: "cf-bits-api-production-bits", key, ttl: 60, disposition });
    assert.equal(new URL(ours).pathname, new URL(theirs).pathname);
    assert.deepEqual(sortedQuery(ours), sortedQuery(theirs));
    assert.equal(new URL(ours).searchParams.get("X-Amz-Expires"), "60");
  });

  it("a different secret gives a different signature (the comparison can fail)", async () => {
    const key = "packages/p/k";
    const ours = await presign.presignedGetUrl(config({ secretAccessKey: "another-secret" }), { key, now });
    const theirs = await sdkUrl({ bucket: "cf-bits-api-production-bits", key, ttl: 300 });
    assert.notEqual(new URL(ours).searchParams.get("X-Amz-Signature"), new URL(theirs).searchParams.get("X-Amz-Signature"));
  });
});
