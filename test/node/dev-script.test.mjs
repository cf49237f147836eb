// Runs under node's test runner (npm test): what `npm run dev` passes to wrangler and writes to .dev.vars.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { missingDevVars, parseDotenv, wranglerDevArgs } from "../../scripts/local-config.mjs";

describe("npm run dev: the arguments of wrangler dev", () => {
  it("listens on 8787 by default and passes the user's other flags on", () => {
    assert.deepEqual(wranglerDevArgs([]), ["dev", "--port", "8787"]);
    assert.deepEqual(wranglerDevArgs(["--var", "UAA_URL:http://127.0.0.1:9000"]), ["dev", "--port", "8787", "--var", "UAA_URL:http://127.0.0.1:9000"]);
  });

  it("the user's own --port wins (npm run dev -- --port 8799), in either spelling", () => {
    assert.deepEqual(wranglerDevArgs(["--port", "8799"]), ["dev", "--port", "8799"]);
    assert.deepEqual(wranglerDevArgs(["--port=8799", "--ip", "0.0.0.0"]), ["dev", "--port=8799", "--ip", "0.0.0.0"]);
  });
});

describe("npm run dev: what it writes to .dev.vars", () => {
  it("a new .dev.vars gets a 32-byte signing secret and a database encryption key with its label", () => {
    const { text, names } = missingDevVars("");
    assert.deepEqual(names, ["TOKEN_SIGNING_SECRET", "DB_ENCRYPTION_KEYS", "DB_ENCRYPTION_CURRENT_KEY_LABEL"]);
    const vars = parseDotenv(text);
    assert.ok(Buffer.byteLength(vars.TOKEN_SIGNING_SECRET) >= 32);
    const keys = JSON.parse(vars.DB_ENCRYPTION_KEYS);
    assert.deepEqual(Object.keys(keys), [vars.DB_ENCRYPTION_CURRENT_KEY_LABEL]);
    assert.equal(Buffer.from(keys[vars.DB_ENCRYPTION_CURRENT_KEY_LABEL], "base64").length, 32);
    // Fresh each time.
    assert.notEqual(parseDotenv(missingDevVars("").text).TOKEN_SIGNING_SECRET, vars.TOKEN_SIGNING_SECRET);
  });

  it("keeps what is there and adds only what is missing", () => {
    assert.deepEqual(missingDevVars("TOKEN_SIGNING_SECRET=x\nDB_ENCRYPTION_KEYS='{}'\n"), { text: "", names: [] });
    const added = missingDevVars("TOKEN_SIGNING_SECRET=mine");
    assert.deepEqual(added.names, ["DB_ENCRYPTION_KEYS", "DB_ENCRYPTION_CURRENT_KEY_LABEL"]);
    assert.ok(added.text.startsWith("\n"));
    assert.equal(parseDotenv(`TOKEN_SIGNING_SECRET=mine${added.text}`).TOKEN_SIGNING_SECRET, "mine");
  });
});
