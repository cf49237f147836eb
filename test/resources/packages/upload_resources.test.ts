// POST /v3/packages/:guid/upload with a `resources` part: the matched files come from the resource
// pool and join the uploaded entries in the package (src/resources/packages/assembly.ts). The pool
// is seeded here as filling writes it (the object, then the row); test/node/resource-matching.test.mjs
// runs the whole CLI flow against `wrangler dev` and reads the packages with Python's zipfile.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { database } from "../../../src/db/client";
import { inspectZip, readZipFile, type ZipEntry } from "../../../src/bits/zip";
import { bytesReader } from "../../../src/bits/range";
import { poolKey, pooledForUpload, recordPooled, type PoolEntry } from "../../../src/pool/store";
import type { Identity } from "../../../src/auth/token";
import { call, get, jsonOf, ORIGIN, v3Error } from "../../helpers/api";
import { adminAuth, bearer, SCOPES } from "../../helpers/tokens";
import { grant } from "../../helpers/fixtures";
import { buildZip, crc32, deflateRaw } from "../../helpers/zip";
import { dec, digestHex as hex, enc, pseudoRandomBytes } from "../../helpers/bytes";
import { makeWorld } from "../../helpers/world";
import { bitsPart, createBits, getPackage, multipart, packageKeys, uploadParts, type FormPart, type PackageJson } from "./helpers";

let w: Awaited<ReturnType<typeof makeWorld>>;
beforeAll(async () => {
  w = await makeWorld();
});

const db = () => database(env.DB);
const admin: Identity = { guid: "admin-user", isClient: false, email: null, userName: null, scopes: new Set(["cloud_controller.admin"]) };

interface Seeded {
  content: Uint8Array;
  sha1: string;
  entry: PoolEntry;
}

/** A file in the pool of `scope`, as filling stores it: the compressed bytes, then the row. */
async function pool(scope: string, content: Uint8Array, method: 0 | 8 = 8): Promise<Seeded> {
  const sha1 = await hex("SHA-1", content);
  const stored = method === 8 ? await deflateRaw(content) : content;
  await env.BITS.put(poolKey(scope, sha1), stored);
  const entry: PoolEntry = { scope, sha1, size: content.length, compressedSize: stored.length, crc32: crc32(content), method };
  await recordPooled(db(), [entry]);
  return { content, sha1, entry };
}

const resource = (path: string, s: Seeded, mode?: string) => ({
  path, size_in_bytes: s.content.length, checksum: { value: s.sha1 }, ...(mode === undefined ? {} : { mode }),
});
const resourcesPart = (list: unknown): FormPart => ({ name: "resources", data: typeof list === "string" ? list : JSON.stringify(list) });

/** The package's one object, read: its entries and the bytes. */
async function stored(guid: string): Promise<{ bytes: Uint8Array; entries: ZipEntry[] }> {
  const keys = await packageKeys(guid);
  expect(keys).toHaveLength(1);
  const bytes = new Uint8Array(await (await env.BITS.get(keys[0]!))!.arrayBuffer());
  const entries: ZipEntry[] = [];
  await inspectZip(bytesReader(bytes), { onEntry: (e) => entries.push(e) });
  return { bytes, entries };
}

const file = async (bytes: Uint8Array, name: string) => readZipFile(bytesReader(bytes), name, 1 << 30);
const modeOf = (e: ZipEntry) => ((e.externalAttributes >>> 16) & 0o7777).toString(8);

async function auditCount(guid: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE type = 'audit.app.package.upload' AND data LIKE ?").bind(`%${guid}%`).first<{ n: number }>();
  return row?.n ?? 0;
}

/** A refused upload: the 400/422 given, and nothing left (no state change, no object, no audit event). */
async function expectRefused(res: Response, guid: string, error: { title: string; detail: string; code: number }) {
  expect(res.status, error.detail).toBe(error.title === "CF-UnprocessableEntity" ? 422 : 400);
  expect(await v3Error(res)).toEqual(error);
  const pkg = await getPackage(guid);
  expect(pkg.state).toBe("AWAITING_UPLOAD");
  expect(pkg.updated_at).toBeNull();
  expect(await packageKeys(guid)).toEqual([]);
  expect(await auditCount(guid)).toBe(0);
}

const big1 = pseudoRandomBytes(100_000, 11);
const big2 = enc.encode("a line that deflates well\n".repeat(8000));

describe("upload with resources", () => {
  it("resources then bits (the cf CLI): READY, the package holds the uploaded and the matched files at their paths and modes, one object, checksums of it", async () => {
    const a = await pool(w.O.guid, big1, 0);
    const b = await pool(w.O.guid, big2, 8);
    const pkg = await createBits(w.A.guid);
    const zip = await buildZip([{ name: "lib/" }, { name: "app.rb", data: "puts 1\n", method: 8 }, { name: "lib/x.rb", data: "x" }]);
    const res = await uploadParts(pkg.guid, [resourcesPart([resource("vendor/a.bin", a, "600"), resource("lib/b.txt", b, "755")]), bitsPart(zip)]);
    expect(res.status).toBe(200);
    const body = await jsonOf<PackageJson>(res);
    expect(body.state).toBe("READY");
    const { bytes, entries } = await stored(pkg.guid);
    expect(body.data.hash).toEqual({ type: "sha1", value: await hex("SHA-1", bytes) });
    expect(body.data.checksum).toEqual({ type: "sha256", value: await hex("SHA-256", bytes) });
    // Directory entries dropped; uploaded entries first, then the matched files.
    expect(entries.map((e) => [e.name, modeOf(e)])).toEqual([["app.rb", "644"], ["lib/x.rb", "644"], ["vendor/a.bin", "600"], ["lib/b.txt", "755"]]);
    expect(await file(bytes, "vendor/a.bin")).toEqual(big1);
    expect(await file(bytes, "lib/b.txt")).toEqual(big2);
    expect(dec.decode((await file(bytes, "app.rb"))!)).toBe("puts 1\n");
    expect(await auditCount(pkg.guid)).toBe(1);
  });

  it("resources alone: the package is assembled from the pool only; a missing mode is 0744", async () => {
    const a = await pool(w.O.guid, pseudoRandomBytes(70_000, 12));
    const pkg = await createBits(w.A.guid);
    const res = await uploadParts(pkg.guid, [resourcesPart([resource("only.bin", a)])]);
    expect((await jsonOf<PackageJson>(res)).state).toBe("READY");
    const { bytes, entries } = await stored(pkg.guid);
    expect(entries.map((e) => [e.name, modeOf(e)])).toEqual([["only.bin", "744"]]);
    expect(await file(bytes, "only.bin")).toEqual(a.content);
  });

  it("bits then resources (curl's order): the same package, and no object left but the package's", async () => {
    const a = await pool(w.O.guid, pseudoRandomBytes(80_000, 13));
    const pkg = await createBits(w.A.guid);
    const zip = await buildZip([{ name: "a.txt", data: "a" }]);
    const res = await uploadParts(pkg.guid, [bitsPart(zip), resourcesPart([resource("m/a.bin", a, "644")])]);
    expect((await jsonOf<PackageJson>(res)).state).toBe("READY");
    const { bytes, entries } = await stored(pkg.guid);
    expect(entries.map((e) => e.name)).toEqual(["a.txt", "m/a.bin"]);
    expect(await file(bytes, "m/a.bin")).toEqual(a.content);
    // The package's key is the one it names.
    const row = await env.DB.prepare("SELECT bits_key FROM packages WHERE guid = ?").bind(pkg.guid).first<{ bits_key: string }>();
    expect(await packageKeys(pkg.guid)).toEqual([row!.bits_key]);
  });

  it("a matched path that the uploaded zip also has: the pool's file wins (the reference copies matched files over the unzipped upload)", async () => {
    const a = await pool(w.O.guid, pseudoRandomBytes(90_000, 14));
    const pkg = await createBits(w.A.guid);
    const zip = await buildZip([{ name: "same.bin", data: "uploaded" }, { name: "other.txt", data: "o" }]);
    const res = await uploadParts(pkg.guid, [resourcesPart([resource("./same.bin", a)]), bitsPart(zip)]);
    expect((await jsonOf<PackageJson>(res)).state).toBe("READY");
    const { bytes, entries } = await stored(pkg.guid);
    expect(entries.map((e) => e.name)).toEqual(["other.txt", "same.bin"]);
    expect(await file(bytes, "same.bin")).toEqual(a.content);
  });

  it("the entries used are touched (last_used_at), so pruning keeps what packages use", async () => {
    const a = await pool(w.O.guid, pseudoRandomBytes(75_000, 15));
    await env.DB.prepare("UPDATE resource_pool SET last_used_at = '2000-01-01T00:00:00Z' WHERE sha1 = ?").bind(a.sha1).run();
    const pkg = await createBits(w.A.guid);
    expect((await jsonOf<PackageJson>(await uploadParts(pkg.guid, [resourcesPart([resource("t.bin", a)])]))).state).toBe("READY");
    const row = await env.DB.prepare("SELECT last_used_at FROM resource_pool WHERE sha1 = ?").bind(a.sha1).first<{ last_used_at: string }>();
    expect(row!.last_used_at > "2020").toBe(true);
  });

  it("a SHA-1 the pool does not hold (vanished between match and upload): FAILED with a clear data.error, nothing stored", async () => {
    const a = await pool(w.O.guid, pseudoRandomBytes(66_000, 16));
    const gone = { content: new Uint8Array(70_000), sha1: "0123456789abcdef0123456789abcdef01234567" };
    const pkg = await createBits(w.A.guid);
    const res = await uploadParts(pkg.guid, [resourcesPart([resource("a.bin", a), { ...resource("gone.bin", gone as Seeded) }]), bitsPart(await buildZip([{ name: "x", data: "x" }]))]);
    expect(res.status).toBe(200);
    const body = await jsonOf<PackageJson>(res);
    expect(body.state).toBe("FAILED");
    expect(body.data.error).toBe(
      "The app upload is invalid: the resource cache does not hold the matched file 'gone.bin' (sha1 0123456789abcdef0123456789abcdef01234567); match the resources again and retry the package upload.",
    );
    expect(await packageKeys(pkg.guid)).toEqual([]);
  });

  it("another organization's pooled file, where the user may not upload, is not used: FAILED", async () => {
    const foreign = await pool(w.O3.guid, pseudoRandomBytes(67_000, 17));
    const dev = `dev-${crypto.randomUUID()}`;
    await grant(dev, "space_developer", { spaceGuid: w.S.guid });
    const auth = await bearer({ user: dev, scopes: SCOPES.user });
    const pkg = await createBits(w.A.guid, auth);
    const body = await jsonOf<PackageJson>(await uploadParts(pkg.guid, [resourcesPart([resource("f.bin", foreign)])], auth));
    expect(body.state).toBe("FAILED");
    expect(body.data.error).toMatch(/does not hold the matched file 'f.bin'/);
  });

  it("a corrupt pool entry (other bytes under its key): FAILED with CF-ResourceChecksumMismatch's message, the entry leaves the pool, nothing stored", async () => {
    const good = await pool(w.O.guid, pseudoRandomBytes(68_000, 18));
    const bad = await pool(w.O.guid, enc.encode("compressible text\n".repeat(10_000)), 8);
    // Same length, other deflate data.
    await env.BITS.put(poolKey(bad.entry.scope, bad.sha1), await deflateRaw(enc.encode("compressible TEXT\n".repeat(10_000))).then((b) => {
      const out = new Uint8Array(bad.entry.compressedSize);
      out.set(b.subarray(0, out.length));
      return out;
    }));
    const match = async () => {
      const res = await call("POST", "/v3/resource_matches", { auth: await adminAuth(), body: { resources: [resource("good.bin", good, "644"), resource("bad.txt", bad, "644")] } });
      expect(res.status).toBe(201);
      return (await jsonOf<{ resources: { path: string }[] }>(res)).resources.map((r) => r.path);
    };
    expect(await match()).toEqual(["good.bin", "bad.txt"]);
    const pkg = await createBits(w.A.guid);
    const res = await uploadParts(pkg.guid, [resourcesPart([resource("good.bin", good), resource("bad.txt", bad)]), bitsPart(await buildZip([{ name: "x", data: "x" }]))]);
    const body = await jsonOf<PackageJson>(res);
    expect(body.state).toBe("FAILED");
    expect(body.data.error).toBe("One or more cached resources did not match the given checksum. They have been deleted; please retry package upload.");
    expect(await packageKeys(pkg.guid)).toEqual([]);
    expect(await env.BITS.head(poolKey(bad.entry.scope, bad.sha1))).toBeNull();
    const left = await pooledForUpload(db(), env, admin, w.O.guid, [bad.sha1, good.sha1]);
    expect([...left.keys()]).toEqual([good.sha1]);
    // The client's next match no longer offers it.
    expect(await match()).toEqual(["good.bin"]);
  });

  it("a package assembled from the pool becomes its files' source: the next upload reads them from it (its pool objects not needed), and the newest package becomes the source", async () => {
    const a = await pool(w.O.guid, pseudoRandomBytes(71_000, 31), 0);
    const b = await pool(w.O.guid, enc.encode("a source line\n".repeat(9000)), 8);
    const list = resourcesPart([resource("a.bin", a), resource("b.txt", b)]);
    const first = await createBits(w.A.guid);
    expect((await jsonOf<PackageJson>(await uploadParts(first.guid, [list]))).state).toBe("READY");
    const key1 = (await packageKeys(first.guid))[0]!;
    const bytes1 = (await stored(first.guid)).bytes;
    const sources = async () => (await env.DB.prepare("SELECT sha1, source_key, source_offset FROM resource_pool WHERE sha1 IN (?, ?) ORDER BY source_offset")
      .bind(a.sha1, b.sha1).all<{ sha1: string; source_key: string; source_offset: number }>()).results;
    const rows = await sources();
    expect(rows.map((r) => r.source_key)).toEqual([key1, key1]);
    // The recorded offsets are where the pool objects' bytes lie in the package.
    for (const [r, s] of rows.map((r) => [r, r.sha1 === a.sha1 ? a : b] as const)) {
      const pooled = new Uint8Array(await (await env.BITS.get(poolKey(s.entry.scope, s.sha1)))!.arrayBuffer());
      expect(bytes1.subarray(r.source_offset, r.source_offset + pooled.length)).toEqual(pooled);
    }
    // The next upload of the same files: read from the first package, not from the pool objects.
    await env.BITS.delete([poolKey(a.entry.scope, a.sha1), poolKey(b.entry.scope, b.sha1)]);
    const second = await createBits(w.A.guid);
    expect((await jsonOf<PackageJson>(await uploadParts(second.guid, [list]))).state).toBe("READY");
    const { bytes } = await stored(second.guid);
    expect(await file(bytes, "a.bin")).toEqual(a.content);
    expect(await file(bytes, "b.txt")).toEqual(b.content);
    // And the newest package is now the source.
    expect((await sources()).map((r) => r.source_key)).toEqual([(await packageKeys(second.guid))[0], (await packageKeys(second.guid))[0]]);
  });

  it("a source package whose bytes do not match: the package is assembled again from the pool objects, READY, the pool keeps its entries", async () => {
    const a = await pool(w.O.guid, enc.encode("corrupt source text\n".repeat(8000)), 8);
    const fake = `packages/fake/${crypto.randomUUID()}`;
    const garbage = pseudoRandomBytes(a.entry.compressedSize + 100, 33);
    const put = await env.BITS.put(fake, garbage);
    await env.DB.prepare("UPDATE resource_pool SET source_key = ?, source_etag = ?, source_offset = 50 WHERE sha1 = ?").bind(fake, put!.etag, a.sha1).run();
    const pkg = await createBits(w.A.guid);
    const res = await uploadParts(pkg.guid, [resourcesPart([resource("a.txt", a)])]);
    expect((await jsonOf<PackageJson>(res)).state).toBe("READY");
    expect(await file((await stored(pkg.guid)).bytes, "a.txt")).toEqual(a.content);
    expect([...(await pooledForUpload(db(), env, admin, w.O.guid, [a.sha1])).keys()]).toEqual([a.sha1]);
    expect(await env.BITS.head(poolKey(a.entry.scope, a.sha1))).not.toBeNull();
  });

  it("a pool row whose object is missing is treated as corrupt: removed, FAILED", async () => {
    const a = await pool(w.O.guid, pseudoRandomBytes(69_000, 19));
    await env.BITS.delete(poolKey(a.entry.scope, a.sha1));
    const pkg = await createBits(w.A.guid);
    const body = await jsonOf<PackageJson>(await uploadParts(pkg.guid, [resourcesPart([resource("m.bin", a)])]));
    expect(body.state).toBe("FAILED");
    expect(body.data.error).toMatch(/^One or more cached resources did not match/);
    expect((await pooledForUpload(db(), env, admin, w.O.guid, [a.sha1])).size).toBe(0);
  });

  it("MAX_PACKAGE_SIZE applies to the assembled package's uncompressed total", async () => {
    const a = await pool(w.O.guid, pseudoRandomBytes(100_000, 20));
    const zip = await buildZip([{ name: "small.txt", data: "s".repeat(1000) }]);
    const send = async (max: string) => {
      const pkg = await createBits(w.A.guid);
      const { body, contentType } = multipart([resourcesPart([resource("a.bin", a)]), bitsPart(zip)]);
      const request = new Request(`${ORIGIN}/v3/packages/${pkg.guid}/upload`, {
        method: "POST", body, headers: { Authorization: await adminAuth(), "Content-Type": contentType, "Content-Length": String(body.length) },
      });
      const ctx = createExecutionContext();
      const res = await worker.fetch(request, { ...env, MAX_PACKAGE_SIZE: max }, ctx);
      await waitOnExecutionContext(ctx);
      return { pkg, body: await jsonOf<PackageJson>(res) };
    };
    const over = await send(String(100_000 + 999));
    expect(over.body.state).toBe("FAILED");
    expect(over.body.data.error).toBe(`The app package is invalid: Package may not be larger than ${100_000 + 999} bytes`);
    expect(await packageKeys(over.pkg.guid)).toEqual([]);
    expect((await send(String(100_000 + 1000))).body.state).toBe("READY");
  });

  it("an invalid zip with resources: FAILED as without them, nothing stored", async () => {
    const a = await pool(w.O.guid, pseudoRandomBytes(71_000, 21));
    const pkg = await createBits(w.A.guid);
    const body = await jsonOf<PackageJson>(await uploadParts(pkg.guid, [resourcesPart([resource("a.bin", a)]), bitsPart(enc.encode("not a zip"))]));
    expect(body.state).toBe("FAILED");
    expect(body.data.error).toMatch(/^The app upload is invalid: Invalid zip archive \(/);
    expect(await packageKeys(pkg.guid)).toEqual([]);
  });
});

describe("upload with resources: refused before anything is stored", () => {
  const sha = "b907173290db6a155949ab4dc9b2d019dea0c901";
  const INVALID = { title: "CF-AppBitsUploadInvalid", code: 160001, detail: "The app upload is invalid: invalid :resources" };
  const cases: [string, unknown, { title: string; code: number; detail: string }][] = [
    ["not an array", { path: "a", checksum: { value: sha } }, INVALID],
    ["a string", '"abc"', INVALID],
    ["an entry that is not an object", [1], INVALID],
    ["an entry without a SHA-1", [{ path: "a", size_in_bytes: 1 }], INVALID],
    ["a mode without owner write", [{ path: "a", size_in_bytes: 1, checksum: { value: sha }, mode: "444" }],
      { title: "CF-AppResourcesFileModeInvalid", code: 160003, detail: "The resource file mode is invalid: File mode '444' with path 'a' is invalid. Minimum file mode is '0600'" }],
    ["a mode that is not octal", [{ fn: "b", size: 1, sha1: sha, mode: "rwx" }],
      { title: "CF-AppResourcesFileModeInvalid", code: 160003, detail: "The resource file mode is invalid: File mode 'rwx' with path 'b' is invalid. Minimum file mode is '0600'" }],
    ["a path escaping with ..", [{ path: "a/../../etc/passwd", size_in_bytes: 1, checksum: { value: sha }, mode: "644" }],
      { title: "CF-AppResourcesFilePathInvalid", code: 160004, detail: "The resource file path is invalid: File path 'a/../../etc/passwd' is not safe." }],
    ["an absolute path", [{ path: "/etc/passwd", size_in_bytes: 1, checksum: { value: sha } }],
      { title: "CF-AppResourcesFilePathInvalid", code: 160004, detail: "The resource file path is invalid: File path '/etc/passwd' is not safe." }],
    ["a backslash path escaping", [{ path: "a\\..\\..\\x", size_in_bytes: 1, checksum: { value: sha } }],
      { title: "CF-AppResourcesFilePathInvalid", code: 160004, detail: "The resource file path is invalid: File path 'a\\..\\..\\x' is not safe." }],
    ["invalid JSON", "[abcddf]", { title: "CF-UnprocessableEntity", code: 10008, detail: "Resources must be valid JSON." }],
  ];

  it("each refusal, with the bits after the resources (never read) and before them (deleted): the error, the package AWAITING_UPLOAD, no object, no audit event", async () => {
    const zip = await buildZip([{ name: "a.txt", data: "a" }]);
    for (const [name, list, error] of cases) {
      const pkg = await createBits(w.A.guid);
      await expectRefused(await uploadParts(pkg.guid, [resourcesPart(list), bitsPart(zip)]), pkg.guid, error);
      await expectRefused(await uploadParts(pkg.guid, [bitsPart(zip), resourcesPart(list)]), pkg.guid, error);
      // Still uploadable.
      const ok = await uploadParts(pkg.guid, [resourcesPart([]), bitsPart(zip)]);
      expect((await jsonOf<PackageJson>(ok)).state, name).toBe("READY");
    }
  });

  it("a path with . and .. that stays inside is accepted and normalized", async () => {
    const a = await pool(w.O.guid, pseudoRandomBytes(72_000, 22));
    const pkg = await createBits(w.A.guid);
    const res = await uploadParts(pkg.guid, [resourcesPart([resource("x/./y/../z.bin", a)])]);
    expect((await jsonOf<PackageJson>(res)).state).toBe("READY");
    expect((await stored(pkg.guid)).entries.map((e) => e.name)).toEqual(["x/z.bin"]);
  });

  it("an empty resources list with bits stores the uploaded zip as it is (byte-identical)", async () => {
    const zip = await buildZip([{ name: "d/" }, { name: "d/a.txt", data: "a" }]);
    const pkg = await createBits(w.A.guid);
    const body = await jsonOf<PackageJson>(await uploadParts(pkg.guid, [resourcesPart([]), bitsPart(zip)]));
    expect(body.state).toBe("READY");
    expect((await stored(pkg.guid)).bytes).toEqual(zip);
  });

  it("GET of the package after a refused upload shows no trace (also via the list of audit events)", async () => {
    const pkg = await createBits(w.A.guid);
    await uploadParts(pkg.guid, [resourcesPart({})]);
    const events = await jsonOf<{ resources: unknown[] }>(await get(`/v3/audit_events?types=audit.app.package.upload&target_guids=${w.A.guid}`, await adminAuth()));
    const mine = events.resources.filter((e) => JSON.stringify(e).includes(pkg.guid));
    expect(mine).toEqual([]);
    expect((await call("GET", `/v3/packages/${pkg.guid}`, { auth: await adminAuth() })).status).toBe(200);
  });
});
