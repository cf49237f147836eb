// Runs under node's test runner (npm test): the cf CLI's push flow twice against `wrangler dev` (local
// D1, R2 and Queue), as actor/v7action/resource_match.go and ccv3/package.go do it. The first push
// matches nothing and uploads the whole app; once the pool has filled (the queue consumer runs in
// wrangler dev), a second push with one file changed matches every other eligible file and uploads
// only the rest. The package it produces is read with Python's zipfile and `unzip`, not with this
// project's code, and must hold exactly the paths, modes and contents of a full zip of the app.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { startDevServer } from "./support.mjs";


const sha1 = (bytes) => createHash("sha1").update(bytes).digest("hex");

/** The app directory: files above the pool's 64 KiB threshold (random and compressible), small ones, an empty one, modes 644/755/600. */
function writeApp(dir) {
  const files = {
    "app.rb": ["small", 0o644],
    "bin/start": ["small", 0o755],
    "config/settings.yml": ["small", 0o600],
    "empty.txt": ["empty", 0o644],
    "vendor/lib-a.bin": ["random", 0o644],
    "vendor/lib-b.bin": ["random", 0o644],
    "vendor/nested/deep/lib-c.bin": ["random", 0o755],
    "public/bundle.js": ["text", 0o644],
    "public/styles.css": ["text", 0o600],
    "data/exactly-64k.bin": ["64k", 0o644],
    "data/just-over-64k.bin": ["64k+1", 0o644],
  };
  for (const [path, [kind, mode]] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(join(full, ".."), { recursive: true });
    let bytes;
    if (kind === "small") bytes = Buffer.from(`# ${path}\n`.repeat(20));
    else if (kind === "empty") bytes = Buffer.alloc(0);
    else if (kind === "random") bytes = randomBytes(150_000 + Math.floor(Math.random() * 100_000));
    else if (kind === "text") bytes = Buffer.from(`/* ${path} */ function f(){ return ${Math.random()}; }\n`.repeat(4000));
    else if (kind === "64k") bytes = randomBytes(65536);
    else bytes = randomBytes(65537);
    writeFileSync(full, bytes);
    chmodSync(full, mode);
  }
}

/** Every file under `dir`, as the CLI describes it for matching (zero-byte files are skipped there). */
function walk(dir) {
  const out = [];
  const visit = (d) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const st = statSync(full);
      if (st.isDirectory()) visit(full);
      else out.push({ path: relative(dir, full), full, size: st.size, mode: (st.mode & 0o777).toString(8), sha1: sha1(readFileSync(full)) });
    }
  };
  visit(dir);
  return out;
}

/** A zip of the given files of `dir` (with their directories), deflated, modes kept: what the CLI uploads. */
function zipFiles(dir, paths, out) {
  const script = `
import sys, os, zipfile, json
root, out, paths = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
dirs = sorted({os.path.dirname(p) for p in paths if os.path.dirname(p)})
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for d in dirs:
        z.write(os.path.join(root, d), d + "/")
    for p in paths:
        z.write(os.path.join(root, p), p)
`;
  const r = spawnSync("python3", ["-c", script, dir, out, JSON.stringify(paths)], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(out);
}

/** What an independent reader sees in a zip: its files with mode and SHA-1 (CRCs tested), directories apart. */
function pythonList(zipPath) {
  const script = `
import sys, zipfile, hashlib, json
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
files = {i.filename: [oct((i.external_attr >> 16) & 0o7777), hashlib.sha1(z.read(i)).hexdigest()] for i in z.infolist() if not i.is_dir()}
dirs = [i.filename for i in z.infolist() if i.is_dir()]
print(json.dumps({"bad": bad, "files": files, "dirs": dirs}))
`;
  const r = spawnSync("python3", ["-c", script, zipPath], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function multipart(parts) {
  const boundary = randomBytes(30).toString("hex");
  const chunks = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename) head += `; filename="${p.filename}"\r\nContent-Type: application/zip`;
    chunks.push(Buffer.from(`${head}\r\n\r\n`), Buffer.from(p.data), Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

describe("cf push twice: resource matching against wrangler dev, read back with Python's zipfile", { timeout: 300_000 }, () => {
  const secret = "resource-matching-test-secret-of-32-bytes-or-more";
  const uaaUrl = "http://127.0.0.1:9/uaa";
  const state = mkdtempSync(join(tmpdir(), "cf-bits-api-match-"));
  const appDir = join(state, "app");
  let worker, apiUrl, token, appGuid;

  const api = async (method, path, body, headers = {}) => {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { Authorization: `bearer ${token}`, ...(body && !(body instanceof Buffer) ? { "Content-Type": "application/json" } : {}), ...headers },
      body: body === undefined ? undefined : body instanceof Buffer ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text) : null };
  };

  const match = async (files) => {
    const res = await api("POST", "/v3/resource_matches", {
      resources: files.filter((f) => f.size > 0).map((f) => ({ path: f.path, mode: f.mode, checksum: { value: f.sha1 }, size_in_bytes: f.size })),
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.resources;
  };

  /** One push: match, zip the rest, upload, answer the package and the bytes sent. */
  async function push(name) {
    const files = walk(appDir);
    const matched = await match(files);
    const have = new Set(matched.map((r) => r.checksum.value));
    const missing = files.filter((f) => !have.has(f.sha1)).map((f) => f.path);
    const pkg = await api("POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: appGuid } } } });
    assert.equal(pkg.status, 201);
    const parts = [{ name: "resources", data: JSON.stringify(matched) }];
    if (missing.length > 0) parts.push({ name: "bits", filename: "package.zip", data: zipFiles(appDir, missing, join(state, `${name}-upload.zip`)) });
    const { body, contentType } = multipart(parts);
    const up = await api("POST", `/v3/packages/${pkg.body.guid}/upload`, body, { "Content-Type": contentType });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    return { files, matched, missing, pkg: up.body, sent: body.length };
  }

  async function download(guid, name) {
    const res = await fetch(`${apiUrl}/v3/packages/${guid}/download`, { headers: { Authorization: `bearer ${token}` }, redirect: "follow" });
    assert.equal(res.status, 200);
    const path = join(state, `${name}.zip`);
    writeFileSync(path, Buffer.from(await res.arrayBuffer()));
    return path;
  }

  before(async () => {
    ({ url: apiUrl, worker } = await startDevServer(join(state, "wrangler"), {
      UAA_URL: uaaUrl, UAA_ISSUER: `${uaaUrl}/oauth/token`, TOKEN_SIGNING_SECRET: secret,
    }));
    token = spawnSync(process.execPath, ["scripts/token.mjs", "--user", "push-admin", "--uaa-url", uaaUrl], {
      encoding: "utf8", env: { ...process.env, TOKEN_SIGNING_SECRET: secret },
    }).stdout.trim();
    const org = await api("POST", "/v3/organizations", { name: "push-org" });
    assert.equal(org.status, 201, JSON.stringify(org.body));
    const space = await api("POST", "/v3/spaces", { name: "push-space", relationships: { organization: { data: { guid: org.body.guid } } } });
    assert.equal(space.status, 201, JSON.stringify(space.body));
    const app = await api("POST", "/v3/apps", { name: "push-app", relationships: { space: { data: { guid: space.body.guid } } } });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    appGuid = app.body.guid;
    mkdirSync(appDir);
    writeApp(appDir);
  });

  after(() => {
    worker?.kill("SIGTERM");
  });

  it("the second push uploads only the changed and the small files, and its package equals a full zip of the app", async () => {
    const first = await push("first");
    assert.deepEqual(first.matched, [], "a first push matches nothing");
    assert.equal(first.pkg.state, "READY");

    // Eligible: strictly above 65,536 bytes (exactly-64k is not), mode at least 0600.
    const eligible = first.files.filter((f) => f.size > 65536).map((f) => f.path).sort();
    assert.deepEqual(eligible, ["data/just-over-64k.bin", "public/bundle.js", "public/styles.css", "vendor/lib-a.bin", "vendor/lib-b.bin", "vendor/nested/deep/lib-c.bin"]);
    // The pool fills off the request path (the queue consumer): poll the match endpoint.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const matched = (await match(first.files)).map((r) => r.path).sort();
      if (matched.length === eligible.length) {
        assert.deepEqual(matched, eligible);
        break;
      }
      assert.ok(Date.now() < deadline, `the pool did not fill within 90 s (matched ${JSON.stringify(matched)})`);
      await new Promise((r) => setTimeout(r, 500));
    }

    // One eligible file changes.
    writeFileSync(join(appDir, "vendor/lib-b.bin"), randomBytes(170_000));
    const second = await push("second");
    assert.equal(second.pkg.state, "READY", JSON.stringify(second.pkg.data));
    assert.deepEqual(second.matched.map((r) => r.path).sort(), eligible.filter((p) => p !== "vendor/lib-b.bin"));
    assert.deepEqual(second.missing.sort(), ["app.rb", "bin/start", "config/settings.yml", "data/exactly-64k.bin", "empty.txt", "vendor/lib-b.bin"]);
    assert.ok(second.sent < first.sent / 2, `second push sent ${second.sent} bytes, first ${first.sent}`);

    // The package, read by Python's zipfile (CRCs tested), against a full zip of the app as it is now.
    const packaged = pythonList(await download(second.pkg.guid, "second-package"));
    const full = join(state, "full.zip");
    zipFiles(appDir, walk(appDir).map((f) => f.path), full);
    const expected = pythonList(full);
    assert.equal(packaged.bad, null);
    assert.deepEqual(packaged.dirs, [], "directory entries are dropped");
    assert.deepEqual(packaged.files, expected.files);
    // unzip agrees (a second reader): lists every file, and tests the archive.
    const tested = spawnSync("unzip", ["-tq", join(state, "second-package.zip")], { encoding: "utf8" });
    assert.equal(tested.status, 0, tested.stdout + tested.stderr);
    const listed = spawnSync("unzip", ["-Z1", join(state, "second-package.zip")], { encoding: "utf8" });
    assert.deepEqual(listed.stdout.trim().split("\n").sort(), Object.keys(expected.files).sort());

    // The first package too (stored as uploaded).
    const firstPackage = pythonList(await download(first.pkg.guid, "first-package"));
    assert.equal(firstPackage.bad, null);
  });
});
