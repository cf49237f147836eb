// What the node tests that start a local server share: a free loopback port, waiting for a URL to
// answer, and the Worker as `npm run dev` runs it (wrangler dev over local migrations).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";

/** A port nothing listens on at the moment, on 127.0.0.1. */
export const freePort = () => new Promise((resolve) => {
  const server = createServer().listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});

/** The first 2xx answer of `url`, polled every 250 ms; throws after `ms`. */
export async function waitFor(url, ms = 90_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return res;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * `wrangler dev` on free loopback ports, with the local D1 migrations applied to `persistTo` first and
 * `vars` as `--var NAME:value` (no .dev.vars is read). Resolves once `GET /` answers; kill `worker` after.
 */
export async function startDevServer(persistTo, vars) {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const env = { ...process.env, CI: "true" };
  const migrated = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], { encoding: "utf8", env });
  assert.equal(migrated.status, 0, migrated.stderr);
  const worker = spawn("wrangler", [
    "dev", "--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(inspectorPort),
    "--persist-to", persistTo, "--env-file", "/dev/null",
    ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ], { stdio: "ignore", env });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/`);
  } catch (err) {
    worker.kill("SIGTERM");
    throw err;
  }
  return { url, worker };
}
