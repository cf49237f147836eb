// Starting and stopping `wrangler dev` (local mode) for the bench, and running other wrangler commands.
import { spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startedAt, workerdProcesses } from "./proc.mjs";

const require = createRequire(import.meta.url);
export const WRANGLER = join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");

/** Environment for wrangler: no telemetry, no prompts, no colours in the logs. */
const wranglerEnv = () => ({ ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" });

/** Runs a wrangler command to completion; rejects with its output when it fails. */
export function wrangler(args, { cwd, quiet = true } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRANGLER, ...args], { cwd, env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`wrangler ${args.slice(0, 3).join(" ")} exited ${code}:\n${output.slice(-4000)}`));
      if (!quiet) process.stdout.write(output);
    });
  });
}

/**
 * Starts `wrangler dev` and waits for the first 200 on GET /.
 * Returns { url, pid, runtimePid, proxyPid, startupMs, workerdStartupMs, stop() }:
 * startupMs runs from spawning wrangler to that first 200, workerdStartupMs from the moment the
 * Worker's own workerd process started to it.
 */
export async function startWorker({ name, args, port, logFile, cwd, timeoutMs = 120_000 }) {
  const log = createWriteStream(logFile);
  const spawned = Date.now();
  const child = spawn(
    process.execPath,
    [WRANGLER, "dev", ...args, "--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(port + 1000),
      "--show-interactive-dev-session=false", "--log-level", "warn"],
    // Its own process group, so that stop() ends wrangler and the workerd processes it started.
    { cwd, env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on("exit", (code, signal) => (exited = { code, signal }));

  const url = `http://127.0.0.1:${port}`;
  let firstOk;
  while (firstOk === undefined) {
    if (exited) throw new Error(`${name}: wrangler dev exited (${JSON.stringify(exited)}) before answering; see ${logFile}:\n${tail(logFile)}`);
    if (Date.now() - spawned > timeoutMs) {
      stopGroup(child);
      throw new Error(`${name}: no 200 on GET / within ${timeoutMs} ms; see ${logFile}:\n${tail(logFile)}`);
    }
    try {
      const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) firstOk = Date.now();
    } catch {
      // not listening yet
    }
    if (firstOk === undefined) await sleep(20);
  }
  const { runtime, proxy } = workerdProcesses(child.pid, port);
  if (!runtime) throw new Error(`${name}: could not find the workerd process of wrangler dev (pid ${child.pid})`);
  return {
    name,
    url,
    pid: child.pid,
    runtimePid: runtime,
    proxyPid: proxy,
    startupMs: firstOk - spawned,
    workerdStartupMs: firstOk - startedAt(runtime),
    async stop() {
      if (exited) return;
      const done = new Promise((resolve) => child.on("exit", resolve));
      stopGroup(child);
      const killed = await Promise.race([done.then(() => true), sleep(10_000).then(() => false)]);
      if (!killed) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      log.end();
    },
  };
}

function stopGroup(child) {
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    // already gone
  }
}

function tail(file) {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "";
  }
}
