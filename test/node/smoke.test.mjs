// Runs under node's test runner (npm test): `npm run smoke` against the Worker as `npm run dev` runs
// it (wrangler dev, local migrations applied, a development signing secret), with each of the token
// sources it takes; and that it reports a failure and exits non-zero when the deployment refuses it.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startDevServer } from "./support.mjs";


/** `npm run smoke -- url` with only the given token variables (none inherited from the caller). */
function smoke(url, tokenEnv) {
  const env = { ...process.env };
  for (const name of ["CF_TOKEN", "CF_CLIENT_ID", "CF_CLIENT_SECRET", "TOKEN_SIGNING_SECRET", "UAA_ISSUER", "SMOKE_URL"]) delete env[name];
  return new Promise((resolve) => {
    // The repository's .dev.vars must not supply a secret: run from a directory without one.
    const child = spawn(process.execPath, [join(process.cwd(), "scripts/smoke.mjs"), url], { cwd: tmpdir(), env: { ...env, ...tokenEnv } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
}

describe("npm run smoke against a local wrangler dev", { timeout: 240_000 }, () => {
  const secret = "smoke-test-secret-0123456789-of-32-bytes";
  const uaaUrl = "http://127.0.0.1:9/uaa";
  const state = mkdtempSync(join(tmpdir(), "cf-bits-api-smoke-"));
  let worker, apiUrl;

  before(async () => {
    ({ url: apiUrl, worker } = await startDevServer(state, { UAA_URL: uaaUrl, TOKEN_SIGNING_SECRET: secret }));
  });

  after(() => {
    worker?.kill("SIGTERM");
  });

  it("passes every check with a development token signed with the server's secret, and leaves nothing behind", async () => {
    const { code, out } = await smoke(apiUrl, { TOKEN_SIGNING_SECRET: secret });
    assert.equal(code, 0, out);
    for (const step of ["GET / (discovery)", "GET /v3", "GET /v2/info", "GET /v2/buildpacks/:guid", "POST /v3/packages", "GET /v3/packages/:guid",
      "POST /v3/packages/:guid/upload", "poll GET /v3/packages/:guid until READY", "GET /v3/packages/:guid/download (byte-identical)",
      "DELETE /v3/organizations/:guid (recursive, job COMPLETE)", "DELETE /v2/buildpacks/:guid"]) {
      assert.match(out, new RegExp(`^  ok    ${step.replace(/[()/:]/g, "\\$&")} \\(`, "m"), `${step}\n${out}`);
    }
    assert.match(out, /all 16 checks passed/);
    assert.doesNotMatch(out, /FAIL|skip/);

    const token = spawnSync(process.execPath, ["scripts/token.mjs", "--uaa-url", uaaUrl], { encoding: "utf8", env: { ...process.env, TOKEN_SIGNING_SECRET: secret } }).stdout.trim();
    const auth = { authorization: `bearer ${token}` };
    const orgs = await (await fetch(`${apiUrl}/v3/organizations`, { headers: auth })).json();
    assert.deepEqual(orgs.resources.filter((o) => o.name.startsWith("smoke-")), []);
    const bps = await (await fetch(`${apiUrl}/v2/buildpacks`, { headers: auth })).json();
    assert.deepEqual(bps.resources.filter((b) => b.entity.name.startsWith("smoke_")), []);
  });

  it("passes with a token from CF_TOKEN", async () => {
    const token = spawnSync(process.execPath, ["scripts/token.mjs", "--uaa-url", uaaUrl], { encoding: "utf8", env: { ...process.env, TOKEN_SIGNING_SECRET: secret } }).stdout.trim();
    const { code, out } = await smoke(apiUrl, { CF_TOKEN: `bearer ${token}` });
    assert.equal(code, 0, out);
    assert.ok(!out.includes(token), "the token is never printed");
  });

  it("prints what failed and exits 1 when the deployment refuses the token", async () => {
    const { code, out } = await smoke(apiUrl, { TOKEN_SIGNING_SECRET: "another-secret" });
    assert.equal(code, 1, out);
    assert.match(out, /^ {2}ok {4}GET \/ \(discovery\)/m);
    assert.match(out, /FAIL {2}POST \/v2\/buildpacks: POST \/v2\/buildpacks answered 401/);
    assert.match(out, /skip {2}GET \/v3\/packages\/:guid\/download/);
    assert.match(out, /checks failed or were skipped/);
  });

  it("says where a token comes from when it has none, and exits 1", async () => {
    const { code, out } = await smoke(apiUrl, {});
    assert.equal(code, 1, out);
    assert.match(out, /FAIL {2}a token: no token: set CF_TOKEN, CF_CLIENT_ID and CF_CLIENT_SECRET, or TOKEN_SIGNING_SECRET/);
  });

  it("exits 2 without a URL", async () => {
    const { code, out } = await smoke("", {});
    assert.equal(code, 2);
    assert.match(out, /usage: npm run smoke -- <URL>/);
  });
});
