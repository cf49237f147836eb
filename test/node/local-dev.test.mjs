// Runs under node's test runner (npm test): the Worker as a user starts it locally — wrangler dev with
// the local D1 migrations applied — verifying RS256 tokens from a UAA on loopback (scripts/uaa-stub.mjs)
// and the HS256 tokens of `npm run token`.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort, startDevServer, waitFor } from "./support.mjs";


describe("local development server", { timeout: 120_000 }, () => {
  const secret = "local-dev-test-secret-of-32-bytes-or-more";
  const state = mkdtempSync(join(tmpdir(), "cf-bits-api-dev-"));
  let uaa, worker, uaaUrl, apiUrl;

  before(async () => {
    const uaaPort = await freePort();
    uaaUrl = `http://127.0.0.1:${uaaPort}`;
    uaa = spawn(process.execPath, ["scripts/uaa-stub.mjs", "--port", String(uaaPort)], { stdio: "ignore" });
    ({ url: apiUrl, worker } = await startDevServer(state, { UAA_URL: uaaUrl, TOKEN_SIGNING_SECRET: secret }));
    await waitFor(`${uaaUrl}/token_keys`);
  });

  after(() => {
    worker?.kill("SIGTERM");
    uaa?.kill("SIGTERM");
  });

  it("GET / names the UAA as login and uaa", async () => {
    const body = await (await fetch(`${apiUrl}/`)).json();
    assert.equal(body.links.login.href, uaaUrl);
    assert.equal(body.links.uaa.href, uaaUrl);
    assert.equal(body.links.cloud_controller_v3.href, `${apiUrl}/v3`);
  });

  it("accepts an RS256 token issued by the UAA (keys from /token_keys, issuer from its OpenID configuration)", async () => {
    const grant = await fetch(`${uaaUrl}/oauth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: `Basic ${btoa("cf:")}` },
      body: "grant_type=password&username=alice&password=anything",
    });
    const { access_token: token } = await grant.json();
    const res = await fetch(`${apiUrl}/v3/stacks`, { headers: { Authorization: `bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-user-guid"), "alice");
    const body = await res.json();
    assert.deepEqual(body.resources.map((s) => s.name), ["cflinuxfs4"]);
  });

  it("accepts a token from npm run token, and refuses one signed with another secret", async () => {
    const mint = (s) => spawnSync(process.execPath, ["scripts/token.mjs", "--user", "bob", "--uaa-url", uaaUrl], {
      encoding: "utf8", env: { ...process.env, TOKEN_SIGNING_SECRET: s },
    }).stdout.trim();
    const ok = await fetch(`${apiUrl}/v3/buildpacks`, { headers: { Authorization: `bearer ${mint(secret)}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("x-user-guid"), "bob");
    const refused = await fetch(`${apiUrl}/v3/buildpacks`, { headers: { Authorization: `bearer ${mint("another-secret")}` } });
    assert.equal(refused.status, 401);
  });
});
