// What the local Worker is configured with: wrangler.toml [vars] overlaid with .dev.vars.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";

export const DEV_VARS = ".dev.vars";

/** KEY=value lines (optionally quoted), as wrangler reads .dev.vars. */
export function parseDotenv(text) {
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    let value = m[2];
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    vars[m[1]] = value;
  }
  return vars;
}

/** The top-level [vars] table of wrangler.toml (string values only, which is all it holds). */
export function wranglerVars(path = "wrangler.toml") {
  const vars = {};
  let inVars = false;
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      inVars = header[1].trim() === "vars";
      continue;
    }
    if (/^\s*\[\[/.test(line)) inVars = false;
    const m = inVars && /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"(.*)"\s*(#.*)?$/.exec(line);
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

export function localConfig() {
  const devVars = existsSync(DEV_VARS) ? parseDotenv(readFileSync(DEV_VARS, "utf8")) : {};
  return { ...wranglerVars(), ...devVars };
}

/** What `npm run dev` sets unless the user passes the flag: [flag, value]. */
const DEV_DEFAULTS = [["--port", "8787"]];

/**
 * The arguments of `wrangler dev` for `npm run dev -- <userArgs>`: the defaults the user did not set
 * themselves (as `--flag value` or `--flag=value`), then the user's own arguments.
 */
export function wranglerDevArgs(userArgs) {
  const given = (flag) => userArgs.some((a) => a === flag || a.startsWith(`${flag}=`));
  const defaults = DEV_DEFAULTS.filter(([flag]) => !given(flag)).flat();
  return ["dev", ...defaults, ...userArgs];
}

/**
 * What `npm run dev` adds to .dev.vars (its text `current`) so the local Worker has its secrets: a
 * TOKEN_SIGNING_SECRET (32 random bytes, hex) and a database encryption key (DB_ENCRYPTION_KEYS with
 * DB_ENCRYPTION_CURRENT_KEY_LABEL), each only when missing. Returns the lines to append and their names.
 */
export function missingDevVars(current) {
  const vars = parseDotenv(current);
  const lines = [];
  const names = [];
  if (!vars.TOKEN_SIGNING_SECRET) {
    lines.push("# Written by npm run dev: signs local tokens (npm run token). Never commit this file.", `TOKEN_SIGNING_SECRET=${randomBytes(32).toString("hex")}`);
    names.push("TOKEN_SIGNING_SECRET");
  }
  if (!vars.DB_ENCRYPTION_KEYS) {
    const label = "dev-1";
    lines.push(
      "# Written by npm run dev: encrypts docker registry passwords in the local database.",
      `DB_ENCRYPTION_KEYS='${JSON.stringify({ [label]: randomBytes(32).toString("base64") })}'`,
      `DB_ENCRYPTION_CURRENT_KEY_LABEL=${label}`,
    );
    names.push("DB_ENCRYPTION_KEYS", "DB_ENCRYPTION_CURRENT_KEY_LABEL");
  }
  if (lines.length === 0) return { text: "", names };
  const prefix = current === "" || current.endsWith("\n") ? "" : "\n";
  return { text: `${prefix}${lines.join("\n")}\n`, names };
}
