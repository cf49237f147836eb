// GET /v3/packages/:guid/download (PackagesController#download, C76-C78) and copies with
// ?source_guid= (PackageCopy, C23-C28).
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, get, jsonOf, v3Error } from "../../helpers/api";
import { makeApp } from "../../helpers/fixtures";
import { adminAuth, auths } from "../../helpers/tokens";
import { makeWorld } from "../../helpers/world";
import { digestHex } from "../../helpers/bytes";
import { appZip, bitsPart, createBits, createDocker, getPackage, multipart, packageKeys, readyBitsPackage, uploadZip, type PackageJson } from "./helpers";

let w: Awaited<ReturnType<typeof makeWorld>>;
beforeAll(async () => {
  w = await makeWorld();
});

const NOT_READY = "Cannot copy package whose state is not ready.";
const NOT_AUTHORIZED = { detail: "You are not authorized to perform the requested action", title: "CF-NotAuthorized", code: 10003 };

async function download(guid: string, auth?: string, headers?: Record<string, string>) {
  return get(`/v3/packages/${guid}/download`, auth ?? (await adminAuth()), headers);
}

describe("download", () => {
  it("C76 a READY package: 200 with the same bytes, Content-Length, ETag, application/zip, and an audit event", async () => {
    const zip = await appZip("downloaded\n");
    const pb = await readyBitsPackage(w.A.guid, zip);
    const res = await download(pb.guid);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/zip");
    expect(res.headers.get("Content-Length")).toBe(String(zip.length));
    expect(res.headers.get("ETag")).toMatch(/^"[^"]+"$/);
    expect(res.headers.get("Accept-Ranges")).toBe("bytes");
    expect(res.headers.get("X-VCAP-Request-ID")).toBeTruthy();
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(zip);
    const events = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE type = 'audit.app.package.download' AND data = ?")
      .bind(JSON.stringify({ package_guid: pb.guid })).first<{ n: number }>();
    expect(events?.n).toBe(1);
  });

  it("HEAD: the headers of a download, and no audit event (only GET records one)", async () => {
    const zip = await appZip("headed\n");
    const pb = await readyBitsPackage(w.A.guid, zip);
    const res = await call("HEAD", `/v3/packages/${pb.guid}/download`, { auth: await adminAuth() });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe(String(zip.length));
    expect(await res.text()).toBe("");
    const events = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE type = 'audit.app.package.download' AND data = ?")
      .bind(JSON.stringify({ package_guid: pb.guid })).first<{ n: number }>();
    expect(events?.n).toBe(0);
  });

  it("Range and If-None-Match", async () => {
    const zip = await appZip("ranged\n");
    const pb = await readyBitsPackage(w.A.guid, zip);
    const ranged = await download(pb.guid, undefined, { Range: "bytes=10-19" });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("Content-Range")).toBe(`bytes 10-19/${zip.length}`);
    expect(ranged.headers.get("Content-Length")).toBe("10");
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(zip.subarray(10, 20));
    const etag = (await download(pb.guid)).headers.get("ETag")!;
    const cached = await download(pb.guid, undefined, { "If-None-Match": etag });
    expect(cached.status).toBe(304);
    expect(await cached.text()).toBe("");
    const unsatisfiable = await download(pb.guid, undefined, { Range: `bytes=${zip.length + 10}-` });
    expect(unsatisfiable.status).toBe(416);
  });

  it("C77 role matrix: admin and admin_read_only 200; global_auditor 403; no role 404", async () => {
    const pb = await readyBitsPackage(w.A.guid);
    expect((await download(pb.guid, await auths.admin())).status).toBe(200);
    expect((await download(pb.guid, await auths.adminReadOnly())).status).toBe(200);
    const ga = await download(pb.guid, await auths.globalAuditor());
    expect(ga.status).toBe(403);
    expect(await v3Error(ga)).toEqual(NOT_AUTHORIZED);
    expect((await download(pb.guid, await auths.noRole())).status).toBe(404);
  });

  it("C78 AWAITING_UPLOAD 422 no bits; docker 422 not bits; unknown 404; write-only token 403", async () => {
    const awaiting = await createBits(w.A.guid);
    const noBits = await download(awaiting.guid);
    expect(noBits.status).toBe(422);
    expect(await v3Error(noBits)).toEqual({ detail: "Package has no bits to download.", title: "CF-UnprocessableEntity", code: 10008 });
    const docker = await download((await createDocker(w.D.guid)).guid);
    expect(docker.status).toBe(422);
    expect((await v3Error(docker)).detail).toBe("Package type must be bits.");
    expect((await download("a-bogus-guid")).status).toBe(404);
    expect((await download(awaiting.guid, await auths.writeOnly())).status).toBe(403);
  });
});

describe("copy", () => {
  async function copy(sourceGuid: string, appGuid: string, auth?: string) {
    return call("POST", `/v3/packages?source_guid=${sourceGuid}`, {
      auth: auth ?? (await adminAuth()),
      body: { relationships: { app: { data: { guid: appGuid } } } },
    });
  }

  it("C23 a docker package: 201 READY with the image, without credentials or metadata", async () => {
    const pd = await call("POST", "/v3/packages", {
      auth: await adminAuth(),
      body: {
        type: "docker", data: { image: "registry/image:latest", username: "u", password: "p" },
        relationships: { app: { data: { guid: w.D.guid } } }, metadata: { labels: { a: "b" } },
      },
    });
    const source = await jsonOf<PackageJson>(pd);
    const target = await makeApp({ spaceGuid: w.S.guid });
    const res = await copy(source.guid, target.guid);
    expect(res.status).toBe(201);
    const body = await jsonOf<PackageJson>(res);
    expect(body.type).toBe("docker");
    expect(body.state).toBe("READY");
    expect(body.data).toEqual({ image: "registry/image:latest", username: null, password: null });
    expect(body.relationships.app.data.guid).toBe(target.guid);
    expect(body.metadata).toEqual({ labels: {}, annotations: {} });
    expect(Object.keys(body.links)).toEqual(["self", "stage", "app"]);
    const event = await env.DB.prepare("SELECT data FROM audit_events WHERE type = 'audit.app.package.create' AND data LIKE ?")
      .bind(`%${body.guid}%`).first<{ data: string }>();
    expect(JSON.parse(event!.data)).toEqual({ package_guid: body.guid, request: { source_package_guid: source.guid } });
  });

  it("C24 a READY bits package: the copy has the same checksums and bytes (copied inside the request, so 201 shows READY, not COPYING)", async () => {
    const zip = await appZip("to be copied\n");
    const pb = await readyBitsPackage(w.A.guid, zip);
    const res = await copy(pb.guid, w.A2.guid);
    expect(res.status).toBe(201);
    const body = await jsonOf<PackageJson>(res);
    expect(body.type).toBe("bits");
    expect(body.state).toBe("READY");
    expect(body.data.checksum).toEqual(pb.data.checksum);
    expect(body.data.hash).toEqual(pb.data.hash);
    expect(await packageKeys(body.guid)).toHaveLength(1);
    const bytes = new Uint8Array(await (await get(`/v3/packages/${body.guid}/download`, await adminAuth())).arrayBuffer());
    expect(await digestHex("SHA-256", bytes)).toBe(await digestHex("SHA-256", zip));
    // The source keeps its own object.
    expect(await packageKeys(pb.guid)).toHaveLength(1);
  });

  /** Nothing a refused copy could leave: no package on the destination app, no audit event naming the source. */
  async function expectNoCopy(sourceGuid: string, appGuid: string) {
    const packages = await env.DB.prepare("SELECT guid FROM packages WHERE app_guid = ?").bind(appGuid).all<{ guid: string }>();
    expect(packages.results).toEqual([]);
    const events = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE type = 'audit.app.package.create' AND json_extract(data, '$.request.source_package_guid') = ?")
      .bind(sourceGuid).first<{ n: number }>();
    expect(events?.n).toBe(0);
  }

  it("only a READY source is copied: AWAITING_UPLOAD, FAILED and EXPIRED sources are 422, and nothing is created", async () => {
    const target = await makeApp({ spaceGuid: w.S.guid });
    const awaiting = await createBits(w.A.guid);
    const failed = await createBits(w.A.guid);
    expect((await uploadZip(failed.guid, new TextEncoder().encode("not a zip"))).status).toBe(200);
    expect((await getPackage(failed.guid)).state).toBe("FAILED");
    const expired = await readyBitsPackage(w.A.guid);
    await env.DB.prepare("UPDATE packages SET state = 'EXPIRED' WHERE guid = ?").bind(expired.guid).run();
    for (const source of [awaiting, failed, expired]) {
      const res = await copy(source.guid, target.guid);
      expect(res.status).toBe(422);
      expect(await v3Error(res)).toEqual({ detail: NOT_READY, title: "CF-UnprocessableEntity", code: 10008 });
      await expectNoCopy(source.guid, target.guid);
    }
  });

  it("a package still uploading can be neither copied nor downloaded: its bytes are unreachable until it is READY (and these, FAILED, never are)", async () => {
    const target = await makeApp({ spaceGuid: w.S.guid });
    const source = await createBits(w.A.guid);
    // Bytes that are no zip: the upload will fail them, and no copy may have taken them first.
    const { body, contentType } = multipart([bitsPart(new TextEncoder().encode("x".repeat(64 * 1024)))]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pulls++ === 0) return controller.enqueue(body.slice(0, body.length - 100));
        await gate;
        controller.enqueue(body.slice(body.length - 100));
        controller.close();
      },
    }, { highWaterMark: 0 });
    const uploading = call("POST", `/v3/packages/${source.guid}/upload`, {
      auth: await adminAuth(), body: stream, headers: { "Content-Type": contentType, "Content-Length": String(body.length) },
    });
    for (let i = 0; i < 100 && (await getPackage(source.guid)).state !== "PROCESSING_UPLOAD"; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await getPackage(source.guid)).state).toBe("PROCESSING_UPLOAD");

    const res = await copy(source.guid, target.guid);
    expect(res.status).toBe(422);
    expect(await v3Error(res)).toEqual({ detail: NOT_READY, title: "CF-UnprocessableEntity", code: 10008 });
    const downloaded = await download(source.guid);
    expect(downloaded.status).toBe(422);

    release();
    const done = await jsonOf<PackageJson>(await uploading);
    expect(done.state).toBe("FAILED");
    await expectNoCopy(source.guid, target.guid);
    expect(await packageKeys(source.guid)).toEqual([]);
  });

  it("C25 admin_read_only and global_auditor: 403", async () => {
    const pd = await createDocker(w.D.guid);
    for (const auth of [await auths.adminReadOnly(), await auths.globalAuditor()]) {
      const res = await copy(pd.guid, w.A2.guid, auth);
      expect(res.status).toBe(403);
      expect(await v3Error(res)).toEqual(NOT_AUTHORIZED);
    }
  });

  it("C26 a user without roles: 422 App is invalid", async () => {
    const pd = await createDocker(w.D.guid);
    const res = await copy(pd.guid, w.A2.guid, await auths.noRole());
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toBe("App is invalid. Ensure it exists and you have access to it.");
  });

  it("C27 an unknown source, an empty source_guid, or an unknown destination: 422", async () => {
    for (const source of ["bogus", ""]) {
      const res = await copy(source, w.A2.guid);
      expect(res.status).toBe(422);
      expect((await v3Error(res)).detail).toBe("Source package is invalid. Ensure it exists and you have access to it.");
    }
    const pd = await createDocker(w.D.guid);
    const res = await copy(pd.guid, "bogus");
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toBe("App is invalid. Ensure it exists and you have access to it.");
  });

  it("C28 into its own app: 422", async () => {
    const pd = await createDocker(w.D.guid);
    const res = await copy(pd.guid, w.D.guid);
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toBe("Source and destination app cannot be the same");
  });

  it("a malformed copy body is 400", async () => {
    const pd = await createDocker(w.D.guid);
    const res = await call("POST", `/v3/packages?source_guid=${pd.guid}`, {
      auth: await adminAuth(), body: "{nope", headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect((await v3Error(res)).title).toBe("CF-MessageParseError");
  });
});
