// Downloads with R2's S3 credentials configured: 302 to a presigned GET URL on R2's S3 endpoint,
// after the same authorization and audit as the streamed download (PackagesController#download; the v2 buildpack download).
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { callWith, get, jsonOf, v3Error } from "../../helpers/api";
import { grant } from "../../helpers/fixtures";
import { adminAuth, auths, bearer, SCOPES } from "../../helpers/tokens";
import { makeWorld } from "../../helpers/world";
import { fileForm, plainZip } from "../buildpacks/helpers";
import { createBits, readyBitsPackage } from "./helpers";

const ENDPOINT = "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com";
const PRESIGN = {
  R2_ACCESS_KEY_ID: "test-access-key-id",
  R2_SECRET_ACCESS_KEY: "test-secret-access-key",
  R2_S3_ENDPOINT: ENDPOINT,
  R2_BUCKET_NAME: "cf-bits-api-test-bits",
  PRESIGNED_URL_TTL_SECONDS: "120",
};

let w: Awaited<ReturnType<typeof makeWorld>>;
beforeAll(async () => {
  w = await makeWorld();
});

const download = (guid: string, auth: string, overrides: Record<string, string> = PRESIGN, headers?: Record<string, string>) =>
  callWith(overrides, "GET", `/v3/packages/${guid}/download`, { auth, ...(headers ? { headers } : {}) });

async function downloadEvents(packageGuid: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE type = 'audit.app.package.download' AND data = ?")
    .bind(JSON.stringify({ package_guid: packageGuid })).first<{ n: number }>();
  return row?.n ?? 0;
}

async function bitsKeyOf(packageGuid: string): Promise<string> {
  const row = await env.DB.prepare("SELECT bits_key AS k FROM packages WHERE guid = ?").bind(packageGuid).first<{ k: string }>();
  return row!.k;
}

describe("package download with R2 credentials", () => {
  it("302 to a presigned GET of the package's object, with the configured lifetime, and one audit event", async () => {
    const pb = await readyBitsPackage(w.A.guid);
    const before = Date.now();
    const res = await download(pb.guid, await adminAuth());
    expect(res.status).toBe(302);
    expect(await res.text()).toBe("");
    const location = new URL(res.headers.get("Location")!);
    expect(location.origin).toBe(ENDPOINT);
    expect(location.pathname).toBe(`/cf-bits-api-test-bits/${await bitsKeyOf(pb.guid)}`);
    const q = location.searchParams;
    expect(q.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(q.get("X-Amz-Expires")).toBe("120");
    expect(q.get("X-Amz-SignedHeaders")).toBe("host");
    expect(q.get("X-Amz-Credential")).toMatch(/^test-access-key-id\/\d{8}\/auto\/s3\/aws4_request$/);
    expect(q.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(q.get("response-content-disposition")).toContain(`filename="package-${pb.guid}.zip"`);
    const signedAt = Date.parse(q.get("X-Amz-Date")!.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
    expect(Math.abs(signedAt - before)).toBeLessThan(60_000);
    // Never the secret, never the bearer token.
    expect(res.headers.get("Location")).not.toContain("test-secret-access-key");
    expect(res.headers.get("X-VCAP-Request-ID")).toBeTruthy();
    expect(await downloadEvents(pb.guid)).toBe(1);
  });

  it("the lifetime defaults to 300 s when unset or not a whole number of seconds in SigV4's range", async () => {
    const pb = await readyBitsPackage(w.A.guid);
    for (const ttl of [undefined, "", "0", "abc", "604801", "1.5"]) {
      const overrides: Record<string, string> = { ...PRESIGN };
      if (ttl === undefined) delete overrides.PRESIGNED_URL_TTL_SECONDS;
      else overrides.PRESIGNED_URL_TTL_SECONDS = ttl;
      const res = await download(pb.guid, await adminAuth(), overrides);
      expect(res.status).toBe(302);
      expect(new URL(res.headers.get("Location")!).searchParams.get("X-Amz-Expires")).toBe("300");
    }
  });

  it("a user who may not download gets no URL and leaves no audit event", async () => {
    const pb = await readyBitsPackage(w.A.guid);
    const auditor = `auditor-${crypto.randomUUID()}`;
    await grant(auditor, "space_auditor", { spaceGuid: w.S.guid });
    const asAuditor = await download(pb.guid, await bearer({ user: auditor, scopes: SCOPES.user }));
    expect(asAuditor.status).toBe(403);
    expect(asAuditor.headers.get("Location")).toBeNull();
    expect((await v3Error(asAuditor)).title).toBe("CF-NotAuthorized");

    const ga = await download(pb.guid, await auths.globalAuditor());
    expect(ga.status).toBe(403);
    expect(ga.headers.get("Location")).toBeNull();
    const stranger = await download(pb.guid, await auths.noRole());
    expect(stranger.status).toBe(404);
    expect(stranger.headers.get("Location")).toBeNull();
    const anonymous = await callWith(PRESIGN, "GET", `/v3/packages/${pb.guid}/download`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("Location")).toBeNull();
    const writeOnly = await download(pb.guid, await auths.writeOnly());
    expect(writeOnly.status).toBe(403);
    expect(await downloadEvents(pb.guid)).toBe(0);

    // A space developer may.
    const developer = `developer-${crypto.randomUUID()}`;
    await grant(developer, "space_developer", { spaceGuid: w.S.guid });
    const res = await download(pb.guid, await bearer({ user: developer, scopes: SCOPES.user }));
    expect(res.status).toBe(302);
    expect(await downloadEvents(pb.guid)).toBe(1);
  });

  it("a package without bits is still 422, with no URL and no event", async () => {
    const awaiting = await createBits(w.A.guid);
    const res = await download(awaiting.guid, await adminAuth());
    expect(res.status).toBe(422);
    expect(res.headers.get("Location")).toBeNull();
    expect(await downloadEvents(awaiting.guid)).toBe(0);
  });

  it("HEAD answers the object's headers from R2 (a presigned GET URL is not valid for HEAD)", async () => {
    const pb = await readyBitsPackage(w.A.guid);
    const res = await callWith(PRESIGN, "HEAD", `/v3/packages/${pb.guid}/download`, { auth: await adminAuth() });
    expect(res.status).toBe(200);
    expect(res.headers.get("Location")).toBeNull();
    expect(res.headers.get("Content-Length")).toBeTruthy();
    expect(res.headers.get("ETag")).toMatch(/^"[^"]+"$/);
  });

  it("without every part of the configuration it streams as before", async () => {
    const pb = await readyBitsPackage(w.A.guid);
    for (const missing of ["R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "R2_S3_ENDPOINT", "R2_BUCKET_NAME"] as const) {
      const res = await download(pb.guid, await adminAuth(), { ...PRESIGN, [missing]: "" });
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toBe("application/zip");
      await res.arrayBuffer();
    }
    const plain = await get(`/v3/packages/${pb.guid}/download`, await adminAuth());
    expect(plain.status).toBe(200);
    await plain.arrayBuffer();
  });
});

describe("v2 buildpack download with R2 credentials", () => {
  it("admins get a 302 to the buildpack's object; others never get a URL", async () => {
    const admin = await adminAuth();
    const created = await callWith({}, "POST", "/v2/buildpacks", { auth: admin, body: { name: `presigned-${crypto.randomUUID().slice(0, 8)}` } });
    expect(created.status).toBe(201);
    const guid = (await jsonOf<{ metadata: { guid: string } }>(created)).metadata.guid;
    const uploaded = await callWith({}, "PUT", `/v2/buildpacks/${guid}/bits`, { auth: admin, body: fileForm("buildpack", "presigned.zip", await plainZip()) });
    expect(uploaded.status).toBe(201);
    const key = (await env.DB.prepare("SELECT bits_key AS k FROM buildpacks WHERE guid = ?").bind(guid).first<{ k: string }>())!.k;

    const res = await callWith(PRESIGN, "GET", `/v2/buildpacks/${guid}/download`, { auth: admin });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("Location")!);
    expect(location.origin).toBe(ENDPOINT);
    expect(location.pathname).toBe(`/cf-bits-api-test-bits/${key}`);
    expect(location.searchParams.get("X-Amz-Expires")).toBe("120");
    expect(location.searchParams.get("response-content-disposition")).toContain('filename="presigned.zip"');

    const user = await callWith(PRESIGN, "GET", `/v2/buildpacks/${guid}/download`, { auth: await bearer({ scopes: SCOPES.user }) });
    expect(user.status).toBe(403);
    expect(user.headers.get("Location")).toBeNull();
    const anonymous = await callWith(PRESIGN, "GET", `/v2/buildpacks/${guid}/download`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("Location")).toBeNull();
  });

  it("a buildpack without bits is still 404", async () => {
    const admin = await adminAuth();
    const created = await callWith({}, "POST", "/v2/buildpacks", { auth: admin, body: { name: `nobits-${crypto.randomUUID().slice(0, 8)}` } });
    const guid = (await jsonOf<{ metadata: { guid: string } }>(created)).metadata.guid;
    const res = await callWith(PRESIGN, "GET", `/v2/buildpacks/${guid}/download`, { auth: admin });
    expect(res.status).toBe(404);
    expect(res.headers.get("Location")).toBeNull();
  });
});
