// npm run dev: make sure .dev.vars has a signing secret, apply the local migrations, start wrangler dev
// on port 8787. Extra arguments go to `wrangler dev` (e.g. `npm run dev -- --var UAA_URL:http://127.0.0.1:9000`);
// the user's own flags win over these defaults (`npm run dev -- --port 8799`).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { DEV_VARS, parseDotenv, wranglerDevArgs } from "./local-config.mjs";

const current = existsSync(DEV_VARS) ? readFileSync(DEV_VARS, "utf8") : "";
if (!parseDotenv(current).TOKEN_SIGNING_SECRET) {
  const prefix = current === "" || current.endsWith("\n") ? "" : "\n";
  appendFileSync(DEV_VARS, `${prefix}# Written by npm run dev: signs local tokens (npm run token). Never commit this file.\nTOKEN_SIGNING_SECRET=${randomBytes(32).toString("hex")}\n`);
  console.log(`wrote a new TOKEN_SIGNING_SECRET to ${DEV_VARS}`);
} else if (Buffer.byteLength(parseDotenv(current).TOKEN_SIGNING_SECRET) < 32) {
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
