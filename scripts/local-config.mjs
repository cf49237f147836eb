// What the local Worker is configured with: wrangler.toml [vars] overlaid with .dev.vars.
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
