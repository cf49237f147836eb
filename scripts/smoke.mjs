// npm run smoke -- <URL>: walks a live deployment as a client does and prints what failed; exits 1 when
// anything did (2 on a usage error). The discovery endpoints (GET /, /v3, /v2/info), a v2 buildpack's
// create and retrieve, and a package's whole life: an org, space and app to hold it, create, get,
// upload of a small zip, poll until READY, download (byte-identical), and cleanup (the org's
// recursive delete, polled to COMPLETE; the buildpack's delete), which runs whatever failed before.
//
// The token, first found of:
//   CF_TOKEN                          a bearer token (e.g. `cf oauth-token`), used as it is;
//   CF_CLIENT_ID + CF_CLIENT_SECRET   a client_credentials grant from the UAA that GET / names;
//   TOKEN_SIGNING_SECRET              (environment, else .dev.vars) a development token signed with the
//                                     deployment's secret: local `npm run dev` and previews.
// It needs cloud_controller.admin (it creates an organization and a buildpack). It is never printed.
// The URL may also come from SMOKE_URL.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { crc32 } from "node:zlib";
import { devIssuer, signDevToken } from "./dev-token.mjs";
import { DEV_VARS, parseDotenv } from "./local-config.mjs";

const { positionals, values: opts } = parseArgs({
  allowPositionals: true,
  options: { timeout: { type: "string", default: "60" } },
});
const base = (positionals[0] ?? process.env.SMOKE_URL ?? "").replace(/\/+$/, "");
if (!/^https?:\/\/[^/]+/.test(base)) {
  console.error("usage: npm run smoke -- <URL>   (e.g. http://localhost:8787 or https://api.example.com)");
  process.exit(2);
}
const WAIT_MS = Number(opts.timeout) * 1000;
const REQUEST_MS = 30_000;

let token = null;
const outcomes = [];

/** Runs one check; a check whose inputs are missing (an earlier one failed) is skipped. */
async function check(name, needs, fn) {
  if (needs.some((n) => n === undefined || n === null)) {
    outcomes.push({ name, status: "skip" });
    console.log(`  skip  ${name} (an earlier check failed)`);
    return undefined;
  }
  const started = Date.now();
  try {
    const value = await fn();
    outcomes.push({ name, status: "ok" });
    console.log(`  ok    ${name} (${Date.now() - started} ms)`);
    return value ?? true;
  } catch (err) {
    outcomes.push({ name, status: "FAIL", message: err.message });
    console.log(`  FAIL  ${name}: ${err.message}`);
    return undefined;
  }
}

/** One request; anything but `expect` (a status or list of them) throws with the answer's start. */
async function call(method, path, { body, form, expect = 200, auth = true, raw = false } = {}) {
  const headers = { accept: "application/json" };
  if (auth) headers.authorization = `bearer ${token}`;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(path.startsWith("http") ? path : `${base}${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(REQUEST_MS) });
  const expected = [expect].flat();
  if (!expected.includes(res.status)) {
    const text = await res.text().catch(() => "");
    throw new Error(`${method} ${path} answered ${res.status}, expected ${expected.join(" or ")}: ${text.slice(0, 300)}`);
  }
  if (raw) return res;
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

const assert = (ok, message) => {
  if (!ok) throw new Error(message);
};

async function poll(what, fn, done) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await fn();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not done after ${WAIT_MS / 1000} s (last: ${JSON.stringify(value).slice(0, 200)})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function getToken(root) {
  if (process.env.CF_TOKEN) return process.env.CF_TOKEN.trim().replace(/^bearer\s+/i, "");
  const uaa = root?.links?.uaa?.href?.replace(/\/+$/, "");
  if (process.env.CF_CLIENT_ID && process.env.CF_CLIENT_SECRET) {
    assert(uaa, "GET / names no UAA to ask for a client_credentials token");
    const res = await fetch(`${uaa}/oauth/token`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(process.env.CF_CLIENT_ID)}:${encodeURIComponent(process.env.CF_CLIENT_SECRET)}`).toString("base64")}`,
      },
      body: "grant_type=client_credentials",
      signal: AbortSignal.timeout(REQUEST_MS),
    });
    assert(res.ok, `the UAA at ${uaa} answered the client_credentials grant with ${res.status}`);
    return (await res.json()).access_token;
  }
  const secret = process.env.TOKEN_SIGNING_SECRET ?? (existsSync(DEV_VARS) ? parseDotenv(readFileSync(DEV_VARS, "utf8")).TOKEN_SIGNING_SECRET : undefined);
  assert(secret, "no token: set CF_TOKEN, CF_CLIENT_ID and CF_CLIENT_SECRET, or TOKEN_SIGNING_SECRET (see scripts/smoke.mjs)");
  assert(uaa || process.env.UAA_ISSUER, "GET / names no UAA, and UAA_ISSUER is not set: cannot name the development token's issuer");
  return signDevToken({
    secret,
    issuer: process.env.UAA_ISSUER ?? devIssuer(uaa),
    audience: process.env.TOKEN_AUDIENCE ?? "cloud_controller",
    user: "smoke-test",
    ttlSeconds: 900,
  });
}

/** A stored zip of one small file with random content, so that every run uploads other bytes. */
function smallZip() {
  const name = Buffer.from("smoke/hello.txt");
  const data = Buffer.concat([Buffer.from(`smoke test ${new Date().toISOString()}\n`), randomBytes(4096)]);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(0x0314, 4);
  central.writeUInt16LE(10, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(local.length + name.length + data.length, 16);
  return Buffer.concat([local, name, data, central, name, end]);
}

// ------------------------------------------------------------------------------------------------

console.log(`smoke test of ${base}`);
const tag = `smoke-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
const created = { org: undefined, buildpack: undefined };

const root = await check("GET / (discovery)", [], async () => {
  const { body } = await call("GET", "/", { auth: false });
  assert(body?.links?.cloud_controller_v3?.href, "no links.cloud_controller_v3");
  return body;
});
await check("GET /v3", [], async () => {
  const { body } = await call("GET", "/v3", { auth: false });
  assert(body?.links?.packages?.href, "no links.packages");
});
await check("GET /v2/info", [], async () => {
  const { body } = await call("GET", "/v2/info", { auth: false });
  assert(body?.api_version && body?.token_endpoint, "no api_version or token_endpoint");
});
token = (await check("a token", [], () => getToken(root))) ?? null;

try {
  created.buildpack = await check("POST /v2/buildpacks", [token], async () => {
    const { body } = await call("POST", "/v2/buildpacks", { body: { name: tag.replace(/-/g, "_") }, expect: 201 });
    return body.metadata.guid;
  });
  await check("GET /v2/buildpacks/:guid", [created.buildpack], async () => {
    const { body } = await call("GET", `/v2/buildpacks/${created.buildpack}`);
    assert(body.metadata.guid === created.buildpack && body.entity.name === tag.replace(/-/g, "_"), `unexpected body ${JSON.stringify(body).slice(0, 200)}`);
  });

  created.org = await check("POST /v3/organizations", [token], async () => (await call("POST", "/v3/organizations", { body: { name: tag }, expect: 201 })).body.guid);
  const space = await check("POST /v3/spaces", [created.org], async () =>
    (await call("POST", "/v3/spaces", { body: { name: tag, relationships: { organization: { data: { guid: created.org } } } }, expect: 201 })).body.guid);
  const app = await check("POST /v3/apps", [space], async () =>
    (await call("POST", "/v3/apps", { body: { name: tag, relationships: { space: { data: { guid: space } } } }, expect: 201 })).body.guid);
  const pkg = await check("POST /v3/packages", [app], async () => {
    const { body } = await call("POST", "/v3/packages", { body: { type: "bits", relationships: { app: { data: { guid: app } } } }, expect: 201 });
    assert(body.state === "AWAITING_UPLOAD", `a new package is ${body.state}`);
    return body.guid;
  });
  await check("GET /v3/packages/:guid", [pkg], async () => {
    const { body } = await call("GET", `/v3/packages/${pkg}`);
    assert(body.guid === pkg && body.type === "bits" && body.links?.upload?.href, `unexpected body ${JSON.stringify(body).slice(0, 200)}`);
  });
  const zip = smallZip();
  const uploaded = await check("POST /v3/packages/:guid/upload", [pkg], async () => {
    const form = new FormData();
    form.append("resources", "[]");
    form.append("bits", new Blob([zip], { type: "application/zip" }), "smoke.zip");
    const { body } = await call("POST", `/v3/packages/${pkg}/upload`, { form });
    assert(["PROCESSING_UPLOAD", "READY"].includes(body.state), `the upload left the package ${body.state}`);
  });
  const ready = await check("poll GET /v3/packages/:guid until READY", [uploaded], async () => {
    const body = await poll("package", async () => (await call("GET", `/v3/packages/${pkg}`)).body, (b) => b.state !== "PROCESSING_UPLOAD");
    assert(body.state === "READY", `the package is ${body.state}: ${JSON.stringify(body.data?.error ?? null)}`);
  });
  await check("GET /v3/packages/:guid/download (byte-identical)", [ready], async () => {
    const res = await call("GET", `/v3/packages/${pkg}/download`, { raw: true });
    const got = Buffer.from(await res.arrayBuffer());
    assert(got.equals(zip), `downloaded ${got.length} bytes${res.redirected ? " (through a redirect)" : ""}, uploaded ${zip.length}; the bytes differ`);
  });
} finally {
  if (created.org) {
    await check("DELETE /v3/organizations/:guid (recursive, job COMPLETE)", [], async () => {
      const { headers } = await call("DELETE", `/v3/organizations/${created.org}`, { expect: 202 });
      const job = headers.get("location");
      assert(job, "no Location for the delete job");
      const done = await poll("delete job", async () => (await call("GET", job)).body, (b) => b.state !== "PROCESSING" && b.state !== "POLLING");
      assert(done.state === "COMPLETE", `the delete job is ${done.state}: ${JSON.stringify(done.errors)}`);
      await call("GET", `/v3/organizations/${created.org}`, { expect: 404 });
    });
  }
  if (created.buildpack) {
    await check("DELETE /v2/buildpacks/:guid", [], async () => {
      await call("DELETE", `/v2/buildpacks/${created.buildpack}`, { expect: 204 });
    });
  }
}

const failed = outcomes.filter((o) => o.status !== "ok");
if (failed.length === 0) {
  console.log(`all ${outcomes.length} checks passed`);
} else {
  console.log(`\n${failed.length} of ${outcomes.length} checks failed or were skipped:`);
  for (const f of failed) console.log(`  ${f.status}  ${f.name}${f.message ? `: ${f.message}` : ""}`);
  process.exitCode = 1;
}
