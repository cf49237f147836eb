// POST /v3/packages/:guid/upload (PackagesController#upload, cases C68-C75, and the contract's Bits rules):
// processed inside the request, one winner per package, nothing left behind on failure.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { database } from "../../../src/db/client";
import { housekeeping } from "../../../src/housekeeping";
import { sweepPackages, STUCK_PACKAGE_TIMEOUT_MS } from "../../../src/resources/packages/sweep";
import { partialKeyOf } from "../../../src/bits/keys";
import { call, get, jsonOf, ORIGIN, v3Error } from "../../helpers/api";
import { makeApp } from "../../helpers/fixtures";
import { adminAuth, auths } from "../../helpers/tokens";
import { buildZip } from "../../helpers/zip";
import { chunkedStream, digestHex, pseudoRandomBytes } from "../../helpers/bytes";
import { makeWorld } from "../../helpers/world";
import { appZip, bitsPart, createBits, createDocker, getPackage, multipart, packageKeys, readyBitsPackage, uploadParts, uploadZip, type PackageJson } from "./helpers";

let w: Awaited<ReturnType<typeof makeWorld>>;
beforeAll(async () => {
  w = await makeWorld();
});

const ALREADY_UPLOADED = {
  detail: "Bits may be uploaded only once. Create a new package to upload different bits.",
  title: "CF-PackageBitsAlreadyUploaded",
  code: 150004,
};
const NOT_AUTHORIZED = { detail: "You are not authorized to perform the requested action", title: "CF-NotAuthorized", code: 10003 };

async function auditEvents(type: string, packageGuid: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE type = ? AND data LIKE ?").bind(type, `%${packageGuid}%`).first<{ n: number }>();
  return row?.n ?? 0;
}

/** After a refused upload: still AWAITING_UPLOAD, nothing in R2, and a later upload still works. */
async function expectUntouched(guid: string) {
  const pkg = await getPackage(guid);
  expect(pkg.state).toBe("AWAITING_UPLOAD");
  expect(pkg.updated_at).toBeNull();
  expect(await packageKeys(guid)).toEqual([]);
  expect(await auditEvents("audit.app.package.upload", guid)).toBe(0);
}

describe("upload", () => {
  it("C68 a zip: 200 READY with sha1 and sha256 of the uploaded bytes, and an audit event", async () => {
    const zip = await appZip();
    const pkg = await createBits(w.A.guid);
    const res = await uploadZip(pkg.guid, zip);
    expect(res.status).toBe(200);
    const body = await jsonOf<PackageJson>(res);
    // Contract: processed inside the request, so the answer is the final state.
    expect(body.state).toBe("READY");
    expect(body.data).toEqual({
      hash: { type: "sha1", value: await digestHex("SHA-1", zip) },
      checksum: { type: "sha256", value: await digestHex("SHA-256", zip) },
      error: null,
    });
    expect(body.updated_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(await auditEvents("audit.app.package.upload", pkg.guid)).toBe(1);
    const keys = await packageKeys(pkg.guid);
    expect(keys).toHaveLength(1);
    const stored = await env.BITS.get(keys[0]!);
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(zip);
  });

  it("C69 resources in the v2 and the v3 form are accepted; files the pool does not hold fail the package (FAILED, nothing stored); [] is accepted", async () => {
    const v2 = JSON.stringify([{ fn: "path/to/content.txt", size: 123, sha1: "b907173290db6a155949ab4dc9b2d019dea0c901" }]);
    const v3 = JSON.stringify([{ path: "path/to/content.txt", size_in_bytes: 123, checksum: { value: "b907173290db6a155949ab4dc9b2d019dea0c901" } }]);
    for (const resources of [v2, v3]) {
      const pkg = await createBits(w.A.guid);
      const res = await uploadParts(pkg.guid, [{ name: "resources", data: resources }, bitsPart(await appZip())]);
      expect(res.status).toBe(200);
      const body = await jsonOf<PackageJson>(res);
      expect(body.state).toBe("FAILED");
      expect(body.data.error).toMatch(/does not hold the matched file 'path\/to\/content.txt'/);
      expect(await packageKeys(pkg.guid)).toEqual([]);
    }
    const pkg = await createBits(w.A.guid);
    const ok = await uploadParts(pkg.guid, [{ name: "resources", data: "[]" }, bitsPart(await appZip())]);
    expect(ok.status).toBe(200);
    expect((await jsonOf<PackageJson>(ok)).state).toBe("READY");
  });

  it("C70 bad resources JSON, an unknown field, or neither bits nor resources: 422 and the package stays uploadable", async () => {
    const pkg = await createBits(w.A.guid);
    const cases: [Parameters<typeof uploadParts>[1], string][] = [
      [[{ name: "resources", data: "[abcddf]" }, bitsPart(await appZip())], "Resources must be valid JSON."],
      [[{ name: "cached_resources", data: "[]" }, bitsPart(await appZip())], "Unknown field(s): 'cached_resources'"],
      [[bitsPart(await appZip()), { name: "cached_resources", data: "[]" }], "Unknown field(s): 'cached_resources'"],
      [[], "Upload must include either resources or bits"],
      [[{ name: "resources", data: "[]" }], "Upload must include either resources or bits"],
    ];
    for (const [parts, detail] of cases) {
      const res = await uploadParts(pkg.guid, parts);
      expect(res.status, detail).toBe(422);
      expect(await v3Error(res)).toEqual({ detail, title: "CF-UnprocessableEntity", code: 10008 });
      await expectUntouched(pkg.guid);
    }
    const empty = await call("POST", `/v3/packages/${pkg.guid}/upload`, { auth: await adminAuth() });
    expect(empty.status).toBe(422);
    expect((await v3Error(empty)).detail).toBe("Upload must include either resources or bits");
    expect((await uploadZip(pkg.guid, await appZip())).status).toBe(200);
  });

  it("a content-encoded body (Content-Encoding: gzip, really compressed or not) is 400 CF-MessageParseError and the package stays uploadable", async () => {
    const pkg = await createBits(w.A.guid);
    const { body, contentType } = multipart([{ name: "resources", data: "[]" }, bitsPart(await appZip())]);
    const gzipped = new Uint8Array(await new Response(new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
    for (const [name, data] of [["plain bytes labelled gzip", body], ["gzipped bytes", gzipped]] as const) {
      const res = await call("POST", `/v3/packages/${pkg.guid}/upload`, {
        auth: await adminAuth(),
        body: data,
        headers: { "Content-Type": contentType, "Content-Encoding": "gzip", "Content-Length": String(data.length) },
      });
      expect(res.status, name).toBe(400);
      expect(await v3Error(res)).toEqual({
        detail: "Request invalid due to parse error: the multipart body must not be content-encoded (Content-Encoding: gzip)",
        title: "CF-MessageParseError",
        code: 1001,
      });
      await expectUntouched(pkg.guid);
    }
    expect((await uploadZip(pkg.guid, await appZip())).status).toBe(200);
  });

  it("C71 docker package 422, READY package 400 PackageBitsAlreadyUploaded, unknown package 404", async () => {
    const docker = await createDocker(w.D.guid);
    const res = await uploadZip(docker.guid, await appZip());
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toBe("Package type must be bits.");

    const ready = await readyBitsPackage(w.A2.guid);
    const again = await uploadZip(ready.guid, await appZip("other"));
    expect(again.status).toBe(400);
    expect(await v3Error(again)).toEqual(ALREADY_UPLOADED);
    expect(await packageKeys(ready.guid)).toHaveLength(1);

    const missing = await uploadZip("not-real", await appZip());
    expect(missing.status).toBe(404);
    expect((await v3Error(missing)).detail).toBe("Package not found");
  });

  it("C73 role matrix: admin 200; admin_read_only and global_auditor 403; no role 404; read-only token 403", async () => {
    const pkg = await createBits(w.A.guid);
    for (const auth of [await auths.adminReadOnly(), await auths.globalAuditor(), await auths.readOnly()]) {
      const res = await uploadZip(pkg.guid, await appZip(), auth);
      expect(res.status).toBe(403);
      expect(await v3Error(res)).toEqual(NOT_AUTHORIZED);
    }
    const noRole = await uploadZip(pkg.guid, await appZip(), await auths.noRole());
    expect(noRole.status).toBe(404);
    await expectUntouched(pkg.guid);
    expect((await uploadZip(pkg.guid, await appZip(), await adminAuth())).status).toBe(200);
  });

  it("C74 a file that is not a zip: FAILED with data.error 'Invalid zip archive', and no object left", async () => {
    const pkg = await createBits(w.A.guid);
    const res = await uploadZip(pkg.guid, new TextEncoder().encode("this is not a zip file at all"));
    expect(res.status).toBe(200);
    const body = await jsonOf<PackageJson>(res);
    expect(body.state).toBe("FAILED");
    expect(body.data.error).toMatch(/^The app upload is invalid: Invalid zip archive/);
    expect(body.data.checksum).toEqual({ type: "sha256", value: null });
    expect(await packageKeys(pkg.guid)).toEqual([]);
    expect((await getPackage(pkg.guid)).state).toBe("FAILED");
  });

  it("C75 over MAX_PACKAGE_SIZE (1 byte here): FAILED 'Package may not be larger than 1 bytes'", async () => {
    const pkg = await createBits(w.A.guid);
    const { body, contentType } = multipart([bitsPart(await appZip())]);
    const request = new Request(`${ORIGIN}/v3/packages/${pkg.guid}/upload`, {
      method: "POST",
      headers: { Authorization: await adminAuth(), "Content-Type": contentType },
      body,
    });
    const ctx = createExecutionContext();
    const res = await worker.fetch(request, { ...env, MAX_PACKAGE_SIZE: "1" }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    const failed = await jsonOf<PackageJson>(res);
    expect(failed.state).toBe("FAILED");
    expect(failed.data.error).toBe("The app package is invalid: Package may not be larger than 1 bytes");
    expect(await packageKeys(pkg.guid)).toEqual([]);
  });
});

describe("upload: the zips the contract accepts", () => {
  const accepted: [string, () => Promise<Uint8Array>][] = [
    ["a zip64 archive", () => buildZip([{ name: "a.txt", data: "a" }, { name: "dir/" }], { zip64: true })],
    ["an executable jar with a launcher script", () => buildZip([{ name: "META-INF/MANIFEST.MF", data: "Manifest-Version: 1.0\n" }], { prefix: "#!/bin/sh\nexec java -jar \"$0\"\n", adjustOffsets: true })],
    ["a zip with a prefix and unadjusted offsets", () => buildZip([{ name: "x", data: "y" }], { prefix: "#!/bin/sh\n" })],
    ["an empty zip", () => buildZip([])],
  ];
  for (const [name, zip] of accepted) {
    it(`${name} is READY`, async () => {
      const pkg = await createBits(w.B.guid);
      const res = await uploadZip(pkg.guid, await zip());
      expect((await jsonOf<PackageJson>(res)).state).toBe("READY");
    });
  }

  it("a zip whose entries claim more than MAX_PACKAGE_SIZE uncompressed is FAILED", async () => {
    const pkg = await createBits(w.B.guid);
    const bomb = await buildZip([{ name: "big", data: "x", claimUncompressed: 1073741825 }]);
    const body = await jsonOf<PackageJson>(await uploadZip(pkg.guid, bomb));
    expect(body.state).toBe("FAILED");
    expect(body.data.error).toBe("The app package is invalid: Package may not be larger than 1073741824 bytes");
    expect(await packageKeys(pkg.guid)).toEqual([]);
  });

  it("a truncated zip (central directory cut off) is FAILED", async () => {
    const pkg = await createBits(w.B.guid);
    const zip = await appZip();
    const body = await jsonOf<PackageJson>(await uploadZip(pkg.guid, zip.subarray(0, zip.length - 30)));
    expect(body.state).toBe("FAILED");
    expect(body.data.error).toMatch(/^The app upload is invalid: Invalid zip archive \(.+\)\.$/);
  });

  it("a 20 MB upload in the cf CLI's form (resources, then bits, exact Content-Length) is one single put: READY, checksums and bytes identical", async () => {
    const zip = await buildZip([{ name: "blob.bin", data: pseudoRandomBytes(20 * 1024 * 1024) }]);
    const pkg = await createBits(w.B.guid);
    const body = await jsonOf<PackageJson>(await uploadParts(pkg.guid, [{ name: "resources", data: "[]" }, bitsPart(zip)]));
    expect(body.state).toBe("READY");
    await expectOneObject(pkg.guid, zip, "single put");
    expect(body.data.hash?.value).toBe(await digestHex("SHA-1", zip));
    expect(body.data.checksum?.value).toBe(await digestHex("SHA-256", zip));
    const download = await get(`/v3/packages/${pkg.guid}/download`, await adminAuth());
    expect(download.status).toBe(200);
    expect(download.headers.get("Content-Length")).toBe(String(zip.length));
    expect(await digestHex("SHA-256", new Uint8Array(await download.arrayBuffer()))).toBe(await digestHex("SHA-256", zip));
  });

  it("a body that is not multipart/form-data, or has a bad boundary, is refused before anything changes", async () => {
    const pkg = await createBits(w.B.guid);
    const json = await call("POST", `/v3/packages/${pkg.guid}/upload`, { auth: await adminAuth(), body: { resources: [] } });
    expect(json.status).toBe(422);
    const bad = await call("POST", `/v3/packages/${pkg.guid}/upload`, {
      auth: await adminAuth(), body: "x", headers: { "Content-Type": "multipart/form-data" },
    });
    expect(bad.status).toBe(400);
    expect((await v3Error(bad)).title).toBe("CF-MessageParseError");
    await expectUntouched(pkg.guid);
  });

  it("garbage before any bits is a 400 and the package stays uploadable", async () => {
    const pkg = await createBits(w.B.guid);
    const res = await call("POST", `/v3/packages/${pkg.guid}/upload`, {
      auth: await adminAuth(), body: "no boundary here", headers: { "Content-Type": "multipart/form-data; boundary=abc" },
    });
    expect(res.status).toBe(400);
    expect((await v3Error(res)).title).toBe("CF-MessageParseError");
    await expectUntouched(pkg.guid);
  });

  it("two bits parts are refused", async () => {
    const pkg = await createBits(w.B.guid);
    const res = await uploadParts(pkg.guid, [bitsPart(await appZip()), bitsPart(await appZip())]);
    expect(res.status).toBe(422);
    await expectUntouched(pkg.guid);
  });
});

/** The package's one object in R2: its bytes, and whether R2 stored it with one put or as a multipart upload. */
async function expectOneObject(guid: string, bytes: Uint8Array, layout: "single put" | "multipart") {
  const keys = await packageKeys(guid); // a leftover partial key would be listed too
  expect(keys).toHaveLength(1);
  const head = await env.BITS.head(keys[0]!);
  expect(head?.size).toBe(bytes.length);
  // R2's etag of a multipart upload ends in "-<parts>"; a single put's is the MD5 of the bytes.
  expect(head?.etag).toMatch(layout === "single put" ? /^[0-9a-f]{32}$/ : /^[0-9a-f]{32}-\d+$/);
  const stored = new Uint8Array(await (await env.BITS.get(keys[0]!))!.arrayBuffer());
  expect(await digestHex("SHA-256", stored)).toBe(await digestHex("SHA-256", bytes));
}

/** An upload request with a body sent as a stream (the client decides whether to tell its length). */
async function streamedUpload(guid: string, body: Uint8Array, contentType: string, contentLength: number | undefined) {
  return call("POST", `/v3/packages/${guid}/upload`, {
    auth: await adminAuth(),
    body: chunkedStream(body, 64 * 1024), // a JS stream: the runtime adds no Content-Length of its own
    headers: { "Content-Type": contentType, ...(contentLength === undefined ? {} : { "Content-Length": String(contentLength) }) },
  });
}

describe("storage layout: one put when the request's Content-Length tells the bits' length", () => {
  it("bits first, as curl -F bits=@app.zip -F resources=[] sends them: READY, one single-put object, byte-identical, no leftover", async () => {
    const zip = await buildZip([{ name: "blob.bin", data: pseudoRandomBytes(300 * 1024) }]);
    const pkg = await createBits(w.B.guid);
    const res = await uploadParts(pkg.guid, [bitsPart(zip), { name: "resources", data: "[]" }]);
    const body = await jsonOf<PackageJson>(res);
    expect(body.state).toBe("READY");
    expect(body.data.hash?.value).toBe(await digestHex("SHA-1", zip));
    expect(body.data.checksum?.value).toBe(await digestHex("SHA-256", zip));
    await expectOneObject(pkg.guid, zip, "single put");
  });

  it("a body that ends with the closing boundary but no final CRLF: READY, byte-identical, single put", async () => {
    const zip = await appZip("no final CRLF\n");
    const pkg = await createBits(w.B.guid);
    const { body, contentType } = multipart([{ name: "resources", data: "[]" }, bitsPart(zip)]);
    const cut = body.subarray(0, body.length - 2);
    const res = await call("POST", `/v3/packages/${pkg.guid}/upload`, {
      auth: await adminAuth(), body: cut, headers: { "Content-Type": contentType, "Content-Length": String(cut.length) },
    });
    const uploaded = await jsonOf<PackageJson>(res);
    expect(uploaded.state).toBe("READY");
    expect(uploaded.data.checksum?.value).toBe(await digestHex("SHA-256", zip));
    await expectOneObject(pkg.guid, zip, "single put");
  });

  it("without Content-Length (a chunked upload) a 20 MB zip streams through R2's multipart path: READY, checksums and bytes identical", async () => {
    const zip = await buildZip([{ name: "blob.bin", data: pseudoRandomBytes(20 * 1024 * 1024, 5) }]);
    const pkg = await createBits(w.B.guid);
    const { body, contentType } = multipart([bitsPart(zip)]);
    const uploaded = await jsonOf<PackageJson>(await streamedUpload(pkg.guid, body, contentType, undefined));
    expect(uploaded.state).toBe("READY");
    expect(uploaded.data.hash?.value).toBe(await digestHex("SHA-1", zip));
    expect(uploaded.data.checksum?.value).toBe(await digestHex("SHA-256", zip));
    await expectOneObject(pkg.guid, zip, "multipart");
  });

  it("a body cut off with Content-Length announced (bits last, or bits first and cut in the bits or in the resources after them): FAILED, nothing in R2", async () => {
    const zip = await buildZip([{ name: "blob.bin", data: pseudoRandomBytes(256 * 1024, 6) }]);
    const last = multipart([{ name: "resources", data: "[]" }, bitsPart(zip)]);
    const first = multipart([bitsPart(zip), { name: "resources", data: "[]" }]);
    const cases: [string, { body: Uint8Array; contentType: string }, number][] = [
      ["bits last, cut in the bits", last, 100 * 1024],
      ["bits last, cut in the closing boundary", last, last.body.length - 20],
      ["bits first, cut in the bits", first, 100 * 1024],
      ["bits first, cut in the resources part after the bits", first, first.body.length - 40],
    ];
    for (const [what, form, sent] of cases) {
      const pkg = await createBits(w.B.guid);
      const res = await streamedUpload(pkg.guid, form.body.subarray(0, sent), form.contentType, form.body.length);
      const body = await jsonOf<PackageJson>(res);
      expect(body.state, what).toBe("FAILED");
      expect(body.data.error, what).toMatch(/^The app upload is invalid: .*truncated/);
      expect(await packageKeys(pkg.guid), what).toEqual([]);
    }
  });
});

describe("upload races", () => {
  it("twenty concurrent uploads to one package: one 200, nineteen 400 PackageBitsAlreadyUploaded, one object in R2", async () => {
    const pkg = await createBits(w.C.guid);
    const zips = await Promise.all(Array.from({ length: 20 }, (_, i) => appZip(`puts ${i}\n`)));
    const responses = await Promise.all(zips.map((zip) => uploadZip(pkg.guid, zip)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array<number>(19).fill(400)]);
    const winner = responses.find((r) => r.status === 200)!;
    const body = await jsonOf<PackageJson>(winner);
    expect(body.state).toBe("READY");
    for (const loser of responses.filter((r) => r.status === 400)) expect(await v3Error(loser)).toEqual(ALREADY_UPLOADED);
    const keys = await packageKeys(pkg.guid);
    expect(keys).toHaveLength(1);
    // The one object is the winner's bits, stored with one put (the requests tell their length).
    const stored = new Uint8Array(await (await env.BITS.get(keys[0]!))!.arrayBuffer());
    expect(await digestHex("SHA-256", stored)).toBe(body.data.checksum?.value);
    expect((await env.BITS.head(keys[0]!))?.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(await auditEvents("audit.app.package.upload", pkg.guid)).toBe(1);
  });
});

describe("a Content-Length larger than the body", () => {
  const MESSAGE_PARSE = (detail: string) => ({ title: "CF-MessageParseError", code: 1001, detail: `Request invalid due to parse error: ${detail}` });

  /**
   * An upload whose Content-Length claims `declared` bytes; the stream sends the real body and ends.
   * `stored` counts the puts into R2 that completed, at any moment (padding included).
   */
  async function lyingUpload(guid: string, parts: Parameters<typeof multipart>[0], declared: (real: number) => number) {
    const { body, contentType } = multipart(parts);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(body);
        controller.close();
      },
    });
    let stored = 0;
    const bits = new Proxy(env.BITS, {
      get(target, prop) {
        if (prop === "put") {
          return async (...args: Parameters<R2Bucket["put"]>) => {
            const object = await target.put(...args);
            stored++;
            return object;
          };
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const started = Date.now();
    const ctx = createExecutionContext();
    const request = new Request(`${ORIGIN}/v3/packages/${guid}/upload`, {
      method: "POST", body: stream,
      headers: { Authorization: await adminAuth(), "Content-Type": contentType, "Content-Length": String(declared(body.length)) },
    });
    const res = await worker.fetch(request, { ...env, BITS: bits }, ctx);
    await waitOnExecutionContext(ctx);
    return { res, ms: Date.now() - started, stored };
  }

  for (const [name, declared] of [
    ["50 MB declared for a 1 KB body", () => 50_000_000],
    ["one byte more than the body", (real: number) => real + 1],
    ["100 KiB more than the body", (real: number) => real + 100 * 1024],
  ] as const) {
    it(`${name}: 400 CF-MessageParseError at once, nothing stored, the package still AWAITING_UPLOAD, no audit event`, async () => {
      const pkg = await createBits(w.C.guid);
      const { res, ms, stored } = await lyingUpload(pkg.guid, [bitsPart(await appZip())], declared);
      expect(res.status).toBe(400);
      expect(await v3Error(res)).toEqual(MESSAGE_PARSE("the request body ended before its Content-Length"));
      expect(ms).toBeLessThan(5_000);
      // Not even for a moment: the put of the bits never completes (no padding with bytes never sent).
      expect(stored).toBe(0);
      expect((await getPackage(pkg.guid)).state).toBe("AWAITING_UPLOAD");
      expect(await packageKeys(pkg.guid)).toEqual([]);
      expect(await auditEvents("audit.app.package.upload", pkg.guid)).toBe(0);
      // The package may still be uploaded, with an honest request.
      const retried = await uploadZip(pkg.guid, await appZip());
      expect(retried.status).toBe(200);
      expect((await jsonOf<PackageJson>(retried)).state).toBe("READY");
    });
  }
});

describe("interrupted uploads and the sweep", () => {
  /** A request whose body sends the first `sent` bytes of a valid upload and then fails or just ends. */
  async function cutOffUpload(guid: string, zip: Uint8Array, sent: number, how: "error" | "end") {
    const { body, contentType } = multipart([bitsPart(zip)]);
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pulls++ === 0) {
          controller.enqueue(body.slice(0, sent));
          return;
        }
        // Let the Worker take in what was sent before the connection breaks.
        await new Promise((resolve) => setTimeout(resolve, 50));
        if (how === "error") controller.error(new Error("client went away"));
        else controller.close();
      },
    }, { highWaterMark: 0 });
    return call("POST", `/v3/packages/${guid}/upload`, {
      auth: await adminAuth(), body: stream, headers: { "Content-Type": contentType },
    }).catch((err: unknown) => err);
  }

  it("a body that ends midway through the bits: FAILED, no object in R2", async () => {
    const zip = await buildZip([{ name: "blob.bin", data: pseudoRandomBytes(256 * 1024) }]);
    const pkg = await createBits(w.C.guid);
    const res = await cutOffUpload(pkg.guid, zip, 100 * 1024, "end");
    expect(res).toBeInstanceOf(Response);
    expect((res as Response).status).toBe(200);
    const body = await jsonOf<PackageJson>(res as Response);
    expect(body.state).toBe("FAILED");
    expect(body.data.error).toMatch(/^The app upload is invalid: .*truncated/);
    expect(await packageKeys(pkg.guid)).toEqual([]);
  });

  it("a body whose stream errors midway through the bits: FAILED (at the latest after the sweep), no object in R2", async () => {
    const zip = await buildZip([{ name: "blob.bin", data: pseudoRandomBytes(256 * 1024) }]);
    const pkg = await createBits(w.C.guid);
    await cutOffUpload(pkg.guid, zip, 100 * 1024, "error");
    // The request sees the broken stream and fails the package; were its isolate gone, the sweep would.
    expect(["FAILED", "PROCESSING_UPLOAD"]).toContain((await getPackage(pkg.guid)).state);
    await sweepPackages(database(env.DB), env.BITS, Date.now() + STUCK_PACKAGE_TIMEOUT_MS + 60_000);
    const after = await getPackage(pkg.guid);
    expect(after.state).toBe("FAILED");
    expect(await packageKeys(pkg.guid)).toEqual([]);
  });

  it("the sweep fails a package whose request died in PROCESSING_UPLOAD and removes its partial object (and the key of an interrupted rewrite)", async () => {
    const pkg = await createBits(w.C.guid);
    const key = `packages/${pkg.guid}/dead-request`;
    const startedAt = new Date(Date.now() - 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    await env.DB.prepare("UPDATE packages SET state = 'PROCESSING_UPLOAD', bits_key = ?, updated_at = ? WHERE guid = ?").bind(key, startedAt, pkg.guid).run();
    await env.BITS.put(key, "partial bits");
    await env.BITS.put(partialKeyOf(key), "bits being rewritten to their true length");

    // Not yet timed out: left alone.
    await sweepPackages(database(env.DB), env.BITS, Date.now());
    expect((await getPackage(pkg.guid)).state).toBe("PROCESSING_UPLOAD");
    expect(await packageKeys(pkg.guid)).toEqual([key, partialKeyOf(key)]);

    // The scheduled housekeeping, an hour and more later.
    await housekeeping(env, Date.now() + STUCK_PACKAGE_TIMEOUT_MS + 60_000);
    const after = await getPackage(pkg.guid);
    expect(after.state).toBe("FAILED");
    expect(after.data.error).toMatch(/^The app upload is invalid: the upload did not complete/);
    expect(await packageKeys(pkg.guid)).toEqual([]);
    // And a further upload is refused: the package is final.
    expect((await uploadZip(pkg.guid, await appZip())).status).toBe(400);
  });

  it("the sweep fails a copy that died in COPYING and removes what it wrote", async () => {
    const pkg = await createBits(w.C.guid);
    const key = `packages/${pkg.guid}/dead-copy`;
    await env.DB.prepare("UPDATE packages SET state = 'COPYING', bits_key = ? WHERE guid = ?").bind(key, pkg.guid).run();
    await env.BITS.put(key, "copied half");
    const result = await sweepPackages(database(env.DB), env.BITS, Date.now() + STUCK_PACKAGE_TIMEOUT_MS + 60_000);
    expect(result.failed).toBeGreaterThanOrEqual(1);
    const after = await getPackage(pkg.guid);
    expect(after.state).toBe("FAILED");
    expect(after.data.error).toMatch(/^failed to copy/);
    expect(await packageKeys(pkg.guid)).toEqual([]);
  });

  it("an upload that finishes after the sweep failed it deletes its own object", async () => {
    const zip = await buildZip([{ name: "blob.bin", data: pseudoRandomBytes(64 * 1024) }]);
    const pkg = await createBits(w.C.guid);
    const { body, contentType } = multipart([bitsPart(zip)]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pulls++ === 0) return controller.enqueue(body.slice(0, 1000));
        await gate;
        controller.enqueue(body.slice(1000));
        controller.close();
      },
    }, { highWaterMark: 0 });
    const pending = call("POST", `/v3/packages/${pkg.guid}/upload`, { auth: await adminAuth(), body: stream, headers: { "Content-Type": contentType } });
    // The request has taken the package; the sweep (run as if an hour later) declares it dead.
    for (let i = 0; i < 100 && (await getPackage(pkg.guid)).state !== "PROCESSING_UPLOAD"; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await getPackage(pkg.guid)).state).toBe("PROCESSING_UPLOAD");
    await sweepPackages(database(env.DB), env.BITS, Date.now() + STUCK_PACKAGE_TIMEOUT_MS + 60_000);
    release();
    const res = await pending;
    expect(res.status).toBe(200);
    const after = await jsonOf<PackageJson>(res);
    expect(after.state).toBe("FAILED");
    expect(after.data.error).toMatch(/the upload did not complete/);
    expect(await packageKeys(pkg.guid)).toEqual([]);
  });
});

describe("deleted while uploading", () => {
  /**
   * The upload as the runtime runs it, with the package (or its app) deleted through the API at the
   * worst moment: right after the bits reached R2, before the zip check reads them back.
   */
  async function uploadDeletedMidway(pkg: PackageJson, deletePath: string) {
    const zip = await appZip("deleted meanwhile\n");
    const { body, contentType } = multipart([bitsPart(zip)]);
    const auth = await adminAuth();
    let deleted = false;
    const bits = new Proxy(env.BITS, {
      get(target, prop) {
        if (prop === "put") {
          return async (...args: Parameters<R2Bucket["put"]>) => {
            const stored = await target.put(...args);
            if (!deleted && args[0].startsWith(`packages/${pkg.guid}/`)) {
              deleted = true;
              const ctx = createExecutionContext();
              const res = await worker.fetch(new Request(`${ORIGIN}${deletePath}`, { method: "DELETE", headers: { Authorization: auth } }), env, ctx);
              expect(res.status).toBe(202);
              await waitOnExecutionContext(ctx); // the delete job has run
            }
            return stored;
          };
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const ctx = createExecutionContext();
    const request = new Request(`${ORIGIN}/v3/packages/${pkg.guid}/upload`, {
      method: "POST", body, headers: { Authorization: auth, "Content-Type": contentType, "Content-Length": String(body.length) },
    });
    const res = await worker.fetch(request, { ...env, BITS: bits }, ctx);
    await waitOnExecutionContext(ctx);
    expect(deleted).toBe(true);
    return res;
  }

  it("the package deleted during its upload: the uploader gets 404 CF-ResourceNotFound, and no object is left", async () => {
    const app = await makeApp({ spaceGuid: w.S.guid });
    const pkg = await createBits(app.guid);
    const res = await uploadDeletedMidway(pkg, `/v3/packages/${pkg.guid}`);
    expect(res.status).toBe(404);
    expect(await v3Error(res)).toEqual({ detail: "Package not found", title: "CF-ResourceNotFound", code: 10010 });
    expect((await get(`/v3/packages/${pkg.guid}`, await adminAuth())).status).toBe(404);
    expect(await packageKeys(pkg.guid)).toEqual([]);
  });

  it("its app deleted during the upload: 404 CF-ResourceNotFound as well, and no object is left", async () => {
    const app = await makeApp({ spaceGuid: w.S.guid });
    const pkg = await createBits(app.guid);
    const res = await uploadDeletedMidway(pkg, `/v3/apps/${app.guid}`);
    expect(res.status).toBe(404);
    expect(await v3Error(res)).toEqual({ detail: "Package not found", title: "CF-ResourceNotFound", code: 10010 });
    expect(await packageKeys(pkg.guid)).toEqual([]);
  });
});

describe("expiry", () => {
  it("after a successful upload the app keeps its newest 5 READY packages; older ones are EXPIRED without bits", async () => {
    const app = w.A2;
    const before = await call("GET", `/v3/apps/${app.guid}/packages?states=READY`, { auth: await adminAuth() });
    expect(before.status).toBe(200);
    const ready: PackageJson[] = [];
    for (let i = 0; i < 6; i++) ready.push(await readyBitsPackage(app.guid, await appZip(`v${i}`)));
    const list = await jsonOf<{ resources: PackageJson[] }>(await get(`/v3/apps/${app.guid}/packages?per_page=100`, await adminAuth()));
    const states = new Map(list.resources.map((p) => [p.guid, p.state]));
    // The five newest stay READY.
    for (const p of ready.slice(1)) expect(states.get(p.guid)).toBe("READY");
    const oldest = await getPackage(ready[0]!.guid);
    expect(oldest.state).toBe("EXPIRED");
    expect(oldest.data.checksum).toEqual({ type: "sha256", value: null });
    expect(await packageKeys(ready[0]!.guid)).toEqual([]);
    const download = await get(`/v3/packages/${ready[0]!.guid}/download`, await adminAuth());
    expect(download.status).toBe(422);
    expect(list.resources.filter((p) => p.state === "READY" || p.state === "FAILED")).toHaveLength(5);
  });
});
