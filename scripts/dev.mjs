// npm run dev: make sure .dev.vars has a signing secret and a database encryption key, apply the
// local migrations, start wrangler dev on port 8787. Extra arguments go to `wrangler dev` (e.g.
// `npm run dev -- --var UAA_URL:http://127.0.0.1:9000`); the user's own flags win over these defaults
// (`npm run dev -- --port 8799`).
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { DEV_VARS, missingDevVars, parseDotenv, wranglerDevArgs } from "./local-config.mjs";

const current = existsSync(DEV_VARS) ? readFileSync(DEV_VARS, "utf8") : "";
const missing = missingDevVars(current);
if (missing.text !== "") {
  appendFileSync(DEV_VARS, missing.text);
  console.log(`wrote ${missing.names.join(", ")} to ${DEV_VARS}`);
}
if (Buffer.byteLength(parseDotenv(current).TOKEN_SIGNING_SECRET ?? "x".repeat(32)) < 32) {
  console.warn(`TOKEN_SIGNING_SECRET in ${DEV_VARS} is shorter than 32 bytes: the server refuses its tokens. Remove the line and run npm run dev again to get a new one.`);
}

const wrangler = (args, options = {}) => ({ cmd: "wrangler", args, options: { stdio: "inherit", shell: false, ...options } });

const migrate = wrangler(["d1", "migrations", "apply", "DB", "--local"]);
const applied = spawnSync(migrate.cmd, migrate.args, { ...migrate.options, env: { ...process.env, CI: "true" } });
if (applied.status !== 0) {
  console.error("applying the local D1 migrations failed");
  process.exit(applied.status ?? 1);
}

const dev = wrangler(wranglerDevArgs(process.argv.slice(2)));
const child = spawn(dev.cmd, dev.args, dev.options);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
