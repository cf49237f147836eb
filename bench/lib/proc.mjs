// Linux /proc readings: the workerd processes under a wrangler dev, their memory, and when they started.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const CLOCK_TICKS = 100; // USER_HZ on Linux

function stat(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  // comm may hold spaces and parentheses: the fields after it start at the last ")".
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of proc(5): rest[11] and rest[12].
  return { ppid: Number(rest[1]), startTicks: Number(rest[19]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
}

function cmdline(pid) {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
}

/** Every live descendant of `root` as { pid, args }. */
export function descendants(root) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const { ppid } = stat(name);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  const out = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()) ?? []) {
      try {
        out.push({ pid: child, args: cmdline(child) });
      } catch {
        continue;
      }
      queue.push(child);
    }
  }
  return out;
}

/**
 * The two workerd processes of a `wrangler dev`: `runtime` runs the Worker (and its D1/R2
 * simulators), `proxy` is wrangler's proxy in front of it, listening on the public port.
 */
export function workerdProcesses(wranglerPid, port) {
  const all = descendants(wranglerPid).filter((p) => p.args[0]?.endsWith("/workerd") && p.args[1] === "serve");
  const proxy = all.find((p) => p.args.some((a) => a === `--socket-addr=entry=127.0.0.1:${port}`));
  const runtime = all.find((p) => p !== proxy);
  return { runtime: runtime?.pid, proxy: proxy?.pid };
}

/** VmRSS and VmHWM (peak RSS since start or the last resetPeak) in bytes. */
export function memory(pid) {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kib("VmRSS"), hwm: kib("VmHWM") };
}

/** Resets VmHWM to the current RSS (Linux: "5" to clear_refs). False when not allowed. */
export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/**
 * CPU time (user + system, all threads) the process has used so far, in ms. The kernel counts it in
 * USER_HZ ticks: 10 ms resolution, so measure windows of many requests, not one.
 */
export function cpuMs(pid) {
  return (stat(pid).cpuTicks * 1000) / CLOCK_TICKS;
}

/** When the process started, in epoch milliseconds (10 ms resolution). */
export function startedAt(pid) {
  const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))[1]);
  return btime * 1000 + (stat(pid).startTicks / CLOCK_TICKS) * 1000;
}

/**
 * Samples the RSS of `pids` every `everyMs` until stop() is called; stop() returns for each pid the
 * highest RSS seen and VmHWM (reset at start when the kernel allows it), whichever is higher.
 */
export function sampleMemory(pids, everyMs = 25) {
  const peaks = new Map();
  const resettable = new Map();
  for (const pid of pids) {
    resettable.set(pid, resetPeak(pid));
    peaks.set(pid, memory(pid).rss);
  }
  const tick = () => {
    for (const pid of pids) {
      try {
        peaks.set(pid, Math.max(peaks.get(pid), memory(pid).rss));
      } catch {
        // process gone
      }
    }
  };
  const timer = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      const out = {};
      for (const pid of pids) {
        let hwm = 0;
        try {
          hwm = resettable.get(pid) ? memory(pid).hwm : 0;
        } catch {
          // gone
        }
        out[pid] = Math.max(peaks.get(pid), hwm);
      }
      return out;
    },
  };
}
