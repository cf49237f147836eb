// npm run bench:probe -- [--size=200] [mode ...]
//
// For each mode (see worker.js), a NEW `wrangler dev` of the probe Worker on fresh state, then two uploads
// of the same generated zip (--size MB, default 200): the workerd process's peak RSS over its idle RSS,
// first and second. It shows what a first large upload into a fresh workerd costs by itself, whoever the
// Worker is. Default modes: all of them.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { withMemory } from "../lib/bits.mjs";
import { startWorker } from "../lib/worker.mjs";
import { streamedZip } from "../lib/zip.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const size = Number(args.find((a) => a.startsWith("--size="))?.slice(7) ?? 200) * 1000 * 1000;
const modes = args.filter((a) => !a.startsWith("--"));
const mib = (b) => (b / 1048576).toFixed(1);

console.log(`| mode | 1st upload: peak over idle | 2nd upload | idle before the 1st |`);
console.log(`|------|---------------------------:|-----------:|--------------------:|`);
for (const mode of modes.length > 0 ? modes : ["discard", "discard-byob", "hash", "put", "put-byob"]) {
  const state = mkdtempSync(join(tmpdir(), "cf-bits-probe-"));
  const worker = await startWorker({ name: mode, args: ["-c", join(here, "wrangler.toml"), "--persist-to", state], port: 8796, logFile: join(state, "wrangler.log"), cwd: here });
  const runs = [];
  try {
    for (let i = 0; i < 2; i++) {
      const zip = streamedZip(size);
      runs.push(
        await withMemory(worker, async () => {
          const res = await fetch(`${worker.url}/upload?mode=${mode}`, { method: "POST", body: ReadableStream.from(zip.chunks()), duplex: "half", headers: { "content-length": String(zip.size) } });
          const answer = await res.json();
          if (res.status !== 200 || answer.bytes !== zip.size) throw new Error(`${mode}: ${res.status} ${JSON.stringify(answer)}`);
        }),
      );
    }
  } finally {
    await worker.stop();
    rmSync(state, { recursive: true, force: true });
  }
  const [first, second] = runs.map((r) => r.memory.runtime);
  console.log(`| ${mode} | +${mib(first.overIdle)} MiB | +${mib(second.overIdle)} MiB | ${mib(first.idle)} MiB |`);
}
