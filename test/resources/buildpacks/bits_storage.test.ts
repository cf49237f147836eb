// How buildpack bits land in R2: one single put when the request's Content-Length tells the file's
// length (the file part last, as the cf CLI sends it), rewritten to its true length when the file
// comes first, the multipart path otherwise; nothing left behind when the body breaks off.
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { call, jsonOf, v3Error, waitForJob } from "../../helpers/api";
import { adminAuth } from "../../helpers/tokens";
import { chunkedStream, equalBytes, pseudoRandomBytes } from "../../helpers/bytes";
import { buildZip } from "../../helpers/zip";
import { multipart, type FormPart } from "../packages/helpers";
import { bitsKeyOf, ensureStacks, plainZip, resetBuildpacks, S1, storedKeys, v2Create, v3Create } from "./helpers";

let ADMIN: string;
beforeAll(async () => {
  ADMIN = await adminAuth();
  await ensureStacks(S1);
});
beforeEach(resetBuildpacks);

/** A form sent as a JS stream, with the Content-Length of `announced` bytes when given. */
function send(method: string, path: string, form: { body: Uint8Array; contentType: string }, sent: number, announced: number | undefined) {
  return call(method, path, {
    auth: ADMIN,
    body: chunkedStream(form.body.subarray(0, sent), 16 * 1024),
    headers: { "Content-Type": form.contentType, ...(announced === undefined ? {} : { "Content-Length": String(announced) }) },
  });
}

/** The buildpack's one object: the zip's bytes, stored with one put (a multipart upload's etag ends in "-<parts>"). */
async function expectStored(guid: string, zip: Uint8Array, layout: "single put" | "multipart") {
  const key = await bitsKeyOf(guid);
  expect(await storedKeys()).toEqual([key]); // no partial key left
  const head = await env.BITS.head(key!);
  expect(head?.size).toBe(zip.length);
  expect(head?.etag).toMatch(layout === "single put" ? /^[0-9a-f]{32}$/ : /^[0-9a-f]{32}-\d+$/);
  // (equalBytes: vitest's toEqual on megabytes of typed array exhausts the heap)
  expect(equalBytes(new Uint8Array(await (await env.BITS.get(key!))!.arrayBuffer()), zip)).toBe(true);
}

const file = (field: string, zip: Uint8Array, filename = "buildpack.zip"): FormPart => ({ name: field, filename, contentType: "application/zip", data: zip });

describe("v2 PUT /v2/buildpacks/:guid/bits (field 'buildpack')", () => {
  const cases: [string, (zip: Uint8Array) => FormPart[]][] = [
    ["the file last", (zip) => [{ name: "buildpack_name", data: "named.zip" }, file("buildpack", zip)]],
    ["the file first, a text field after it", (zip) => [file("buildpack", zip, "named.zip"), { name: "extra", data: "x" }]],
  ];
  for (const [what, parts] of cases) {
    it(`${what}, with Content-Length: 201 and one single-put object, byte-identical`, async () => {
      const bp = (await v2Create(ADMIN, { name: "v2-bits" })).metadata.guid;
      const zip = await plainZip(what);
      const form = multipart(parts(zip));
      const res = await send("PUT", `/v2/buildpacks/${bp}/bits`, form, form.body.length, form.body.length);
      expect(res.status, await res.clone().text()).toBe(201);
      expect((await jsonOf<{ entity: { filename: string } }>(res)).entity.filename).toBe("named.zip");
      await expectStored(bp, zip, "single put");
    });
  }
});

describe("v3 POST /v3/buildpacks/:guid/upload (field 'bits')", () => {
  async function uploadV3(form: { body: Uint8Array; contentType: string }, sent: number, announced: number | undefined) {
    const bp = await v3Create(ADMIN, { name: `v3-bits-${crypto.randomUUID()}`, stack: S1 });
    const res = await send("POST", `/v3/buildpacks/${bp.guid}/upload`, form, sent, announced);
    return { guid: bp.guid, res };
  }

  const cases: [string, (zip: Uint8Array) => FormPart[]][] = [
    ["the file last", (zip) => [file("bits", zip)]],
    ["the file first, a text field after it", (zip) => [file("bits", zip), { name: "extra", data: "x" }]],
  ];
  for (const [what, parts] of cases) {
    it(`${what}, with Content-Length: READY and one single-put object, byte-identical`, async () => {
      const zip = await plainZip(what);
      const form = multipart(parts(zip));
      const { guid, res } = await uploadV3(form, form.body.length, form.body.length);
      expect(res.status).toBe(202);
      expect((await waitForJob(res.headers.get("Location")!, ADMIN)).state).toBe("COMPLETE");
      await expectStored(guid, zip, "single put");
    });
  }

  it("without Content-Length (chunked): the multipart path (8 MiB parts), READY, byte-identical", async () => {
    const zip = await buildZip([{ name: "bin/detect", data: "x" }, { name: "blob.bin", data: pseudoRandomBytes(9 * 1024 * 1024, 3) }]);
    const form = multipart([file("bits", zip)]);
    const { guid, res } = await uploadV3(form, form.body.length, undefined);
    expect(res.status).toBe(202);
    expect((await waitForJob(res.headers.get("Location")!, ADMIN)).state).toBe("COMPLETE");
    await expectStored(guid, zip, "multipart");
  });

  it("a body cut off with Content-Length announced (in the file, or in the field after it): 400 MessageParseError, nothing in R2", async () => {
    const zip = await plainZip("cut off");
    const last = multipart([file("bits", zip)]);
    const first = multipart([file("bits", zip), { name: "extra", data: "x".repeat(100) }]);
    for (const [what, form, sent] of [
      ["file last, cut in the file", last, 100],
      ["file last, cut in the closing boundary", last, last.body.length - 20],
      ["file first, cut in the field after it", first, first.body.length - 80],
    ] as const) {
      const { guid, res } = await uploadV3(form, sent, form.body.length);
      expect(res.status, what).toBe(400);
      expect((await v3Error(res)).title, what).toBe("CF-MessageParseError");
      expect(await bitsKeyOf(guid), what).toBeNull();
      expect(await storedKeys(), what).toEqual([]);
    }
  });

  it("a whole body whose Content-Length claims more (1 byte, 50 MB): 400 MessageParseError at once, nothing in R2", async () => {
    const zip = await plainZip("lying length");
    const form = multipart([file("bits", zip)]);
    for (const announced of [form.body.length + 1, 50_000_000]) {
      const started = Date.now();
      const { guid, res } = await uploadV3(form, form.body.length, announced);
      expect(res.status, String(announced)).toBe(400);
      expect(await v3Error(res)).toEqual({ title: "CF-MessageParseError", code: 1001, detail: "Request invalid due to parse error: the request body ended before its Content-Length" });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await bitsKeyOf(guid)).toBeNull();
      expect(await storedKeys()).toEqual([]);
    }
  });
});
