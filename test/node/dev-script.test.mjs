// Runs under node's test runner (npm test): what `npm run dev` passes to wrangler and writes to .dev.vars.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { wranglerDevArgs } from "../../scripts/local-config.mjs";

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
