// npm run bench [-- --only=all | --only=request,scaling,bits,presign,bundle,bits200,dbsize,cpu,multipart,match,push] [--sizes=10,100,500]
//   [--seconds=4] [--connections=4] [--rounds=2] [--packages=100000] [--rows=20000] [--cpu-requests=100] [--cpu-mib=64]
//   [--port=8797] [--keep] [--out=bench/results/latest.json]
//
// Builds the Worker as it deploys (wrangler deploy --dry-run), runs that bundle under `wrangler dev`
// (local mode) on fresh state directories, seeds D1 directly, measures, prints one table and writes
// the same figures as JSON. Every figure that has a target is a ratio against a baseline measured in
// the same run (the machines are shared and noisy); see bench/README.md.
import { execFile } from "node:child_process";
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { setTimeout as sleep } from "node:timers/promises";
import { call, createApp, createBitsPackage, expect200, uploadBuildpackBits } from "./lib/api.mjs";
import { bareDelete, bareGet, barePut, downloadPackage, getDownload, postUpload, uploadPackage, withMemory } from "./lib/bits.mjs";
import { cloneSql, columnsOf, KINDS as DB_KINDS, objectSizes, templateCounts } from "./lib/dbsize.mjs";
import { measure } from "./lib/load.mjs";
import { bundleAppForNode, explainRequest, fullIndexScans, fullScans, loadApp, planLines, snapshotDatabase, tempSorts } from "./lib/plan.mjs";
import { cpuMs, memory, sampleMemory } from "./lib/proc.mjs";
import { buildpackGuid, MATCH_USER, poolSha1, prepareDatabase, seedMatch, SMALL, TARGET_APP, TARGET_PACKAGE } from "./lib/seed.mjs";
import { BENCH_ISSUER, newSecret, signToken } from "./lib/tokens.mjs";
import { startWorker, wrangler } from "./lib/worker.mjs";
import { MiB, multipartUpload, streamedZip } from "./lib/zip.mjs";
import { change, entryData, makeApp, postAssembledUpload, postMatch, waitPooled, writeZip } from "./lib/push.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SCENARIOS = ["bundle", "request", "scaling", "bits", "presign", "bits200", "dbsize", "cpu", "multipart", "match", "push"];
const DEFAULT_SCENARIOS = ["bundle", "request", "scaling", "bits", "presign", "dbsize", "cpu"];

const { values: opts } = parseArgs({
  options: {
    only: { type: "string" },
    sizes: { type: "string", default: "10,100,500" },
    seconds: { type: "string", default: "4" },
    connections: { type: "string", default: "4" },
    rounds: { type: "string", default: "2" },
    packages: { type: "string", default: "100000" },
    rows: { type: "string", default: "20000" },
    "cpu-requests": { type: "string", default: "100" },
    "cpu-mib": { type: "string", default: "64" },
    port: { type: "string", default: "8797" },
    out: { type: "string", default: join(ROOT, "bench", "results", "latest.json") },
    keep: { type: "boolean", default: false },
  },
});

const only = opts.only === "all" ? SCENARIOS : opts.only ? opts.only.split(",").map((s) => s.trim()).filter(Boolean) : DEFAULT_SCENARIOS;
for (const s of only) if (!SCENARIOS.includes(s)) fail(`unknown scenario "${s}" (known: ${SCENARIOS.join(", ")})`);
const wants = (s) => only.includes(s);
const SIZES = opts.sizes.split(",").map(Number).filter((n) => n > 0);
const SECONDS = Number(opts.seconds);
const CONNECTIONS = Number(opts.connections);
const ROUNDS = Math.max(1, Number(opts.rounds));
const LARGE = Number(opts.packages);
const PORT = Number(opts.port);
const ROWS = Number(opts.rows);
const CPU_REQUESTS = Number(opts["cpu-requests"]);
const CPU_MIB = Number(opts["cpu-mib"]);

if (Number(process.versions.node.split(".")[0]) < 22) fail(`Node ${process.version}: run it with \`npm run bench\` (Node 22 from node_modules)`);

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}
const log = (...args) => console.error(`[bench ${((Date.now() - T0) / 1000).toFixed(0).padStart(3)}s]`, ...args);
const T0 = Date.now();

// ------------------------------------------------------------------------------------------------
// Setup

const state = mkdtempSync(join(tmpdir(), "cf-bits-bench-"));
const dirs = {
  small: join(state, "d1-1k"), large: join(state, "d1-large"), bare: join(state, "bare"), dist: join(state, "dist"), sql: join(state, "sql"),
  dbsize: join(state, "d1-dbsize"), presign: join(state, "d1-presign"), multipart: join(state, "multipart"), pool: join(state, "d1-pool"),
};
const secret = newSecret();
const envFile = join(state, "bench.env");
const UAA_URL = "http://127.0.0.1:9/uaa";
writeFileSync(envFile, `TOKEN_SIGNING_SECRET=${secret}\nUAA_ISSUER=${BENCH_ISSUER}\n`);
const workers = [];
const results = {
  meta: {
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    wrangler: JSON.parse(readFileSync(join(ROOT, "node_modules", "wrangler", "package.json"), "utf8")).version,
    scenarios: only,
    options: { sizesMiB: SIZES, seconds: SECONDS, connections: CONNECTIONS, rounds: ROUNDS, packages: LARGE, rows: ROWS, cpuRequests: CPU_REQUESTS, cpuMiB: CPU_MIB },
  },
};
/** Table rows: [section, what, measured, baseline, ratio, target, verdict]. */
const rows = [];
/** One row per target: { name, value, target, met }. */
const targets = [];

function target(name, value, limit, kind) {
  const met = kind === "min" ? value >= limit : value <= limit;
  targets.push({ name, value: round(value, 3), target: `${kind === "min" ? ">=" : "<="} ${limit}`, met });
  return met ? "ok" : "MISS";
}
const round = (n, d = 2) => (Number.isFinite(n) ? Number(n.toFixed(d)) : n);
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }) : String(n));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mib = (bytes) => bytes / MiB;

async function cleanup() {
  for (const w of workers.reverse()) await w.stop().catch(() => undefined);
  if (!opts.keep) rmSync(state, { recursive: true, force: true });
  else log(`state kept in ${state}`);
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    cleanup().finally(() => process.exit(130));
  });
}

const workerArgs = (persistTo) => [
  join(dirs.dist, "index.js"), "--no-bundle", "-c", join(ROOT, "wrangler.toml"), "--persist-to", persistTo,
  "--env-file", envFile, "--var", `UAA_URL:${UAA_URL}`,
];

async function start(name, args, port) {
  log(`starting ${name} (wrangler dev on :${port})`);
  const w = await startWorker({ name, args, port, cwd: ROOT, logFile: join(state, `${name}.log`) });
  workers.push(w);
  log(`${name} answered 200 on GET / after ${fmt(w.startupMs)} ms (workerd ${w.runtimePid}, ${fmt(w.workerdStartupMs)} ms after it started)`);
  return w;
}

// ------------------------------------------------------------------------------------------------
// Scenarios

/** 4. Bundle: what `wrangler deploy --dry-run` would upload, raw and gzipped. Also builds what dev runs. */
async function bundle() {
  log("bundling: wrangler deploy --dry-run --outdir");
  const out = await wrangler(["deploy", "--dry-run", "--outdir", dirs.dist, "--env", ""], { cwd: ROOT });
  const files = readdirSync(dirs.dist).filter((f) => /\.(m?js|wasm)$/.test(f));
  const raw = files.reduce((n, f) => n + statSync(join(dirs.dist, f)).size, 0);
  const gzip = files.reduce((n, f) => n + gzipSync(readFileSync(join(dirs.dist, f))).length, 0);
  const reported = /Total Upload:\s*([\d.]+) KiB \/ gzip:\s*([\d.]+) KiB/.exec(out);
  results.bundle = {
    files,
    rawBytes: raw,
    gzipBytes: gzip,
    wranglerReportedKiB: reported ? { raw: Number(reported[1]), gzip: Number(reported[2]) } : null,
  };
  const gzipKiB = reported ? Number(reported[2]) : gzip / 1024;
  rows.push(["bundle", "wrangler deploy --dry-run, raw", `${fmt(raw / 1024, 1)} KiB`, "", "", "", ""]);
  rows.push(["bundle", "gzipped (as wrangler reports it)", `${fmt(gzipKiB, 1)} KiB`, "", "", "<= 250 KiB", target("bundle gzip KiB", gzipKiB, 250, "max")]);
}

function startupRows(app, bare) {
  results.startup = {
    app: { spawnToFirst200Ms: app.startupMs, workerdToFirst200Ms: app.workerdStartupMs },
    bare: bare && { spawnToFirst200Ms: bare.startupMs, workerdToFirst200Ms: bare.workerdStartupMs },
  };
  rows.push(["startup", "wrangler dev spawn -> first 200 on GET /", `${fmt(app.startupMs)} ms`, bare ? `${fmt(bare.startupMs)} ms (bare)` : "", bare ? round(app.startupMs / bare.startupMs).toFixed(2) : "", "", ""]);
  rows.push(["startup", "workerd start -> first 200 on GET /", `${fmt(app.workerdStartupMs)} ms`, bare ? `${fmt(bare.workerdStartupMs)} ms (bare)` : "", bare ? round(app.workerdStartupMs / bare.workerdStartupMs).toFixed(2) : "", "", ""]);
}

const load = (worker, path, token) =>
  measure({ url: `${worker.url}${path}`, headers: token ? { authorization: `bearer ${token}` } : {}, connections: CONNECTIONS, seconds: SECONDS });

/** 1. Request path: each endpoint against unauthenticated GET /, in alternating runs. */
async function requestPath(app, bare, token) {
  const endpoints = [
    { name: "GET /v3/packages/:guid", path: `/v3/packages/${TARGET_PACKAGE}`, check: (b) => b.guid === TARGET_PACKAGE },
    { name: "GET /v2/buildpacks/:guid", path: `/v2/buildpacks/${buildpackGuid(1)}`, check: (b) => b.metadata?.guid === buildpackGuid(1) },
    { name: "GET /v3/buildpacks?per_page=50", path: "/v3/buildpacks?per_page=50", check: (b) => b.resources?.length === 50 },
  ];
  await expect200(app, null, "/");
  results.request = [];
  for (const e of endpoints) {
    try {
      await expect200(app, token, e.path, (b) => {
        if (!e.check(b)) throw new Error(`${e.path}: unexpected body ${JSON.stringify(b).slice(0, 300)}`);
      });
    } catch (err) {
      log(`request path: ${e.name} skipped: ${err.message}`);
      results.request.push({ endpoint: e.name, skipped: err.message });
      rows.push(["request", e.name, "not available", "", "", "", "SKIP"]);
      continue;
    }
    const base = [];
    const runs = [];
    for (let r = 0; r < ROUNDS; r++) {
      base.push(await load(app, "/"));
      runs.push(await load(app, e.path, token));
    }
    const rps = mean(runs.map((x) => x.rps));
    const baseRps = mean(base.map((x) => x.rps));
    const p99 = mean(runs.map((x) => x.p99));
    const baseP99 = mean(base.map((x) => x.p99));
    const p50 = mean(runs.map((x) => x.p50));
    const baseP50 = mean(base.map((x) => x.p50));
    const rpsRatio = rps / baseRps;
    const p99Ratio = p99 / Math.max(baseP99, 1);
    const profile = await requestProfile(app, token, e.path);
    results.request.push({ endpoint: e.name, path: e.path, runs, baseline: base, rps, baseRps, p50, baseP50, p99, baseP99, rpsRatio, p99Ratio, profile });
    log(`request path: ${e.name} ${fmt(rps)} req/s vs GET / ${fmt(baseRps)} req/s; p99 ${p99} ms vs ${baseP99} ms`);
    rows.push(["request", `${e.name}  req/s`, fmt(rps), `${fmt(baseRps)} (GET /)`, rpsRatio.toFixed(2), ">= 0.60", target(`${e.name} throughput / GET /`, rpsRatio, 0.6, "min")]);
    rows.push(["request", `${e.name}  p50 / p99`, `${fmt(p50, 1)} / ${fmt(p99, 1)} ms`, `${fmt(baseP50, 1)} / ${fmt(baseP99, 1)} ms`, p99Ratio.toFixed(2), "p99 <= 3x", target(`${e.name} p99 / GET / p99`, p99Ratio, 3, "max")]);
    rows.push(["request", "  profile: in-Worker time (X-Runtime p50), D1 round trips", `${fmt(profile.xRuntimeMs, 2)} ms, ${profile.d1RoundTrips ?? "?"} round trips`,
      `${fmt(profile.baseXRuntimeMs, 2)} ms, 0 (GET /)`, "", "(diagnosis)", ""]);
  }
  if (bare) await d1Floor(bare);
}

/**
 * The floor under every endpoint that reads D1 at all, measured on the bare worker: N round trips of
 * `SELECT ?` against its own GET /. Under wrangler dev the D1 simulator runs in the same workerd
 * process, so each round trip costs CPU that GET / never spends.
 */
async function d1Floor(bare) {
  results.d1Floor = [];
  for (const n of [1, 4]) {
    const base = [];
    const runs = [];
    for (let r = 0; r < ROUNDS; r++) {
      base.push(await load(bare, "/"));
      runs.push(await load(bare, `/d1?n=${n}`));
    }
    const rps = mean(runs.map((x) => x.rps));
    const baseRps = mean(base.map((x) => x.rps));
    results.d1Floor.push({ roundTrips: n, rps, baseRps, ratio: rps / baseRps, runs, baseline: base });
    log(`D1 floor: ${n} round trip(s) ${fmt(rps)} req/s vs bare GET / ${fmt(baseRps)} req/s`);
    rows.push(["request", `  bare worker, ${n} D1 round trip(s)  req/s`, fmt(rps), `${fmt(baseRps)} (bare GET /)`, (rps / baseRps).toFixed(2), "(diagnosis)", ""]);
  }
}

/**
 * Where an endpoint's time goes: the Worker's own X-Runtime header (p50 of 25 sequential requests, one
 * at a time: not load), against GET /'s, and how many D1 round trips the request makes (counted by
 * running the same app in Node against a copy of the database).
 */
async function requestProfile(app, token, path) {
  const xRuntime = async (p, auth) => {
    const times = [];
    for (let i = 0; i < 25; i++) {
      const res = await fetch(`${app.url}${p}`, { headers: auth ? { authorization: `bearer ${token}` } : {} });
      await res.arrayBuffer();
      times.push(Number(res.headers.get("x-runtime")) * 1000);
    }
    return median(times);
  };
  let d1RoundTrips = null;
  try {
    mkdirSync(join(state, "plan"), { recursive: true });
    const db = snapshotDatabase(dirs.small, join(state, "plan", "profile.sqlite"));
    const r = await explainRequest(await nodeApp(), db, path, { env: nodeEnv(), headers: { authorization: `bearer ${token}` }, explain: false });
    d1RoundTrips = r.roundTrips;
  } catch (err) {
    log(`profile of ${path} in Node failed: ${err.message}`);
  }
  return { xRuntimeMs: await xRuntime(path, true), baseXRuntimeMs: await xRuntime("/", false), d1RoundTrips };
}

/** 2. Scaling: the same list requests against the 1,000- and the N-package databases, alternating. */
async function scaling(small, large, token) {
  const lastLarge = Math.ceil(LARGE / 50);
  const queries = [
    { name: "GET /v3/packages?per_page=50 (first page)", path: "/v3/packages?per_page=50", target: true },
    { name: "GET /v3/packages?per_page=50&page=20 (deep page)", path: "/v3/packages?per_page=50&page=20", target: true },
    { name: "GET /v3/apps/:guid/packages?per_page=50", path: `/v3/apps/${TARGET_APP}/packages?per_page=50`, target: true },
    // Not a target: offset paging walks the skipped rows, so the last page costs O(N) by design of page=.
    { name: "last page (page=20 vs page=" + lastLarge + ")", path: "/v3/packages?per_page=50&page=20", largePath: `/v3/packages?per_page=50&page=${lastLarge}`, target: false },
  ];
  results.scaling = [];
  for (const q of queries) {
    const largePath = q.largePath ?? q.path;
    await expect200(small, token, q.path, (b) => {
      if (b.resources?.length !== 50) throw new Error(`${q.path}: ${b.resources?.length} resources on the 1k database`);
    });
    await expect200(large, token, largePath, (b) => {
      if (b.resources?.length !== 50) throw new Error(`${largePath}: ${b.resources?.length} resources on the large database`);
    });
    const s = [];
    const l = [];
    for (let r = 0; r < ROUNDS; r++) {
      s.push(await load(small, q.path, token));
      l.push(await load(large, largePath, token));
    }
    const rpsSmall = mean(s.map((x) => x.rps));
    const rpsLarge = mean(l.map((x) => x.rps));
    const p50Small = mean(s.map((x) => x.p50));
    const p50Large = mean(l.map((x) => x.p50));
    // How many times slower the large case is: the inverse throughput ratio at fixed concurrency.
    const slowdown = rpsSmall / rpsLarge;
    results.scaling.push({ query: q.name, path: q.path, largePath, small: s, large: l, rpsSmall, rpsLarge, p50Small, p50Large, slowdown });
    log(`scaling: ${q.name} ${fmt(rpsSmall)} req/s at 1k, ${fmt(rpsLarge)} req/s at ${fmt(LARGE)}: x${slowdown.toFixed(2)}`);
    rows.push([
      "scaling", `${q.name}  req/s (p50)`, `${fmt(rpsLarge)} (${fmt(p50Large, 1)} ms) @${fmt(LARGE / 1000)}k`, `${fmt(rpsSmall)} (${fmt(p50Small, 1)} ms) @1k`,
      `x${slowdown.toFixed(2)}`, q.target ? "<= x1.5" : "(info)", q.target ? target(`${q.name} slowdown ${LARGE} vs 1k`, slowdown, 1.5, "max") : "",
    ]);
  }
}

let nodeAppPromise;
/** src/index.ts bundled for Node (once), for query plans and D1 round-trip counts. */
const nodeApp = () =>
  (nodeAppPromise ??= bundleAppForNode({ root: ROOT, outfile: join(state, "plan", "app.mjs") }).then(loadApp));
const nodeEnv = () => ({ TOKEN_SIGNING_SECRET: secret, UAA_URL, UAA_ISSUER: BENCH_ISSUER, TOKEN_AUDIENCE: "cloud_controller", MAX_PACKAGE_SIZE: "1073741824" });

/** The statements behind the scaling queries, with plans and per-statement times on both databases. */
async function plans(token) {
  log("query plans: the Worker's own statements (src bundled for Node) on copies of both databases");
  mkdirSync(join(state, "plan"), { recursive: true });
  const app = await nodeApp();
  const env = nodeEnv();
  const headers = { authorization: `bearer ${token}` };
  const dbSmall = snapshotDatabase(dirs.small, join(state, "plan", "small.sqlite"));
  const dbLarge = snapshotDatabase(dirs.large, join(state, "plan", "large.sqlite"));
  const paths = ["/v3/packages?per_page=50", "/v3/packages?per_page=50&page=20", `/v3/apps/${TARGET_APP}/packages?per_page=50`];
  results.plans = [];
  for (const path of paths) {
    const small = await explainRequest(app, dbSmall, path, { env, headers });
    const large = await explainRequest(app, dbLarge, path, { env, headers });
    const statements = large.statements.map((st, i) => ({
      sql: st.sql,
      plan: planLines(st.plan),
      fullTableScans: fullScans(st.plan),
      fullIndexScans: fullIndexScans(st.plan),
      tempSorts: tempSorts(st.plan),
      msLarge: round(st.ms, 3),
      msSmall: round(small.statements[i]?.ms ?? NaN, 3),
    }));
    results.plans.push({ path, statements });
    const worst = statements.reduce((a, b) => (b.msLarge > a.msLarge ? b : a));
    const walks = statements.flatMap((s) => [...s.fullTableScans, ...s.fullIndexScans].map((d) => d.split(" ")[1]));
    rows.push([
      "plan", path.replace(TARGET_APP, ":guid"),
      `slowest stmt ${fmt(worst.msLarge, 2)} ms @${fmt(LARGE / 1000)}k`, `${fmt(worst.msSmall, 2)} ms @1k`, `x${(worst.msLarge / worst.msSmall).toFixed(1)}`,
      "", walks.length ? `SCAN of ${[...new Set(walks)].join(", ")} in ${walks.length} step(s)` : "index searches only",
    ]);
  }
}

/** The part size the real Worker uses for bodies of unknown length (src/bits/store.ts PART_SIZE). */
const APP_PART_SIZE = 8 * MiB;

/**
 * 3. Bits: upload and download of generated zips against the bare worker's R2 put and get of the same
 * bytes (the targets), and, to tell the Worker's own cost from the local R2 simulator's, against a bare
 * put/get of the same bytes stored the way the Worker stores them (an R2 multipart upload of 8 MiB parts).
 */
async function bits(app, bare, token) {
  const appGuid = await createApp(app, token, "bench-bits");
  results.bits = [];
  const kinds = ["upload", "put", "putParts", "download", "get", "getParts"];
  for (const sizeMiB of SIZES) {
    const zip = streamedZip(sizeMiB * MiB);
    const repeats = sizeMiB <= 16 ? 5 : sizeMiB <= 128 ? 2 : 1;
    const rec = { sizeMiB, zipBytes: zip.size, repeats, ...Object.fromEntries(kinds.map((k) => [k, []])) };
    for (let r = 0; r < repeats; r++) {
      const single = `bench/${sizeMiB}-${r}`;
      const parts = `bench/${sizeMiB}-${r}-parts`;
      const pkg = await createBitsPackage(app, token, appGuid);
      const up = await uploadPackage(app, token, pkg, zip);
      if (up.pkg.data?.checksum?.value === undefined) throw new Error("upload: no checksum in the answer");
      const put = await barePut(bare, single, zip);
      const putParts = await barePut(bare, parts, zip, { partSize: APP_PART_SIZE });
      const down = await downloadPackage(app, token, pkg);
      const get = await bareGet(bare, single);
      const getParts = await bareGet(bare, parts, { pinned: true });
      for (const [what, got] of [["download", down], ["bare get", get], ["bare get (parts)", getParts]]) {
        if (got.bytes !== zip.size) throw new Error(`${what}: ${got.bytes} bytes, stored ${zip.size}`);
      }
      await bareDelete(bare, single);
      await bareDelete(bare, parts);
      const measured = { upload: up, put, putParts, download: down, get, getParts };
      for (const k of kinds) rec[k].push({ seconds: measured[k].seconds, mbps: mib(zip.size) / measured[k].seconds, memory: measured[k].memory });
      const speed = (k) => fmt(mib(zip.size) / measured[k].seconds, 1);
      log(`bits ${sizeMiB} MiB #${r + 1}: upload ${speed("upload")} MiB/s (bare put ${speed("put")}, in parts ${speed("putParts")}), ` +
        `download ${speed("download")} MiB/s (bare get ${speed("get")}, of parts ${speed("getParts")}); ` +
        `workerd +${fmt(mib(up.memory.runtime.overIdle), 1)} / +${fmt(mib(down.memory.runtime.overIdle), 1)} MiB over idle`);
    }
    const summary = (list) => ({
      mbps: median(list.map((x) => x.mbps)),
      runtimeOverIdle: Math.max(...list.map((x) => x.memory.runtime.overIdle)),
      runtimeIdle: Math.min(...list.map((x) => x.memory.runtime.idle)),
      runtimePeak: Math.max(...list.map((x) => x.memory.runtime.peak)),
      proxyOverIdle: Math.max(...list.map((x) => x.memory.proxy?.overIdle ?? 0)),
    });
    const sum = Object.fromEntries(kinds.map((k) => [k, summary(rec[k])]));
    rec.summary = sum;
    results.bits.push(rec);
    const label = `${sizeMiB} MiB`;
    for (const [k, bareK, partsK, bareLabel] of [["upload", "put", "putParts", "put"], ["download", "get", "getParts", "get"]]) {
      const ratio = sum[k].mbps / sum[bareK].mbps;
      rows.push(["bits", `${k} ${label}  MiB/s`, fmt(sum[k].mbps, 1), `${fmt(sum[bareK].mbps, 1)} (bare ${bareLabel})`, ratio.toFixed(2), ">= 0.80",
        target(`${k} ${label} / bare ${bareLabel}`, ratio, 0.8, "min")]);
      rows.push(["bits", `  same, vs bare ${bareLabel} of 8 MiB parts`, fmt(sum[k].mbps, 1), `${fmt(sum[partsK].mbps, 1)} (bare, parts)`,
        (sum[k].mbps / sum[partsK].mbps).toFixed(2), "(diagnosis)", ""]);
      rows.push([
        "bits", `${k} ${label}  workerd peak RSS over idle`, `+${fmt(mib(sum[k].runtimeOverIdle), 1)} MiB`,
        `+${fmt(mib(sum[bareK].runtimeOverIdle), 1)} / +${fmt(mib(sum[partsK].runtimeOverIdle), 1)} MiB (bare / parts)`,
        `idle ${fmt(mib(sum[k].runtimeIdle), 0)} MiB`, "<= +64 MiB", target(`${k} ${label} workerd peak over idle (MiB)`, mib(sum[k].runtimeOverIdle), 64, "max"),
      ]);
    }
  }
}

/**
 * 5. Presigned downloads: with R2 S3 credentials configured (made-up ones: nothing is fetched from R2's
 * S3 endpoint), GET /v3/packages/:guid/download answers 302 after its authorization, D1 reads and audit
 * write. Its answer time must not depend on the package's size (1 and 100 MiB within 1.2x), and is
 * shown against the bare worker's one D1 read. Its own Worker: the bits scenario's downloads stream.
 */
async function presign(bare, token) {
  await prepareDatabase({ cwd: ROOT, persistTo: dirs.presign, total: SMALL, sqlDir: dirs.sql });
  const credentials = [
    "R2_ACCESS_KEY_ID:bench-access-key", "R2_SECRET_ACCESS_KEY:bench-secret-key",
    "R2_S3_ENDPOINT:https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com", "R2_BUCKET_NAME:cf-bits-api-bits",
  ].flatMap((v) => ["--var", v]);
  const app = await start("app-presign", [...workerArgs(dirs.presign), ...credentials], PORT + 4);
  const appGuid = await createApp(app, token, "bench-presign");
  const sizes = [1, 100];
  const packages = {};
  for (const sizeMiB of sizes) {
    const pkg = await createBitsPackage(app, token, appGuid);
    await uploadPackage(app, token, pkg, streamedZip(sizeMiB * MiB));
    const res = await fetch(`${app.url}/v3/packages/${pkg}/download`, { headers: { authorization: `bearer ${token}` }, redirect: "manual" });
    await res.arrayBuffer();
    if (res.status !== 302 || !res.headers.get("location")?.includes("X-Amz-Signature=")) throw new Error(`presigned download answered ${res.status}`);
    packages[sizeMiB] = pkg;
  }
  const runs = Object.fromEntries(sizes.map((s) => [s, []]));
  const base = [];
  for (let r = 0; r < ROUNDS; r++) {
    base.push(await load(bare, "/d1?n=1"));
    for (const sizeMiB of sizes) {
      runs[sizeMiB].push(await measure({
        url: `${app.url}/v3/packages/${packages[sizeMiB]}/download`, headers: { authorization: `bearer ${token}` },
        connections: CONNECTIONS, seconds: SECONDS, redirects: true,
      }));
    }
  }
  await app.stop();
  const summary = (list) => ({ rps: mean(list.map((x) => x.rps)), p50: mean(list.map((x) => x.p50)), p99: mean(list.map((x) => x.p99)) });
  const floor = summary(base);
  const bySize = Object.fromEntries(sizes.map((s) => [s, summary(runs[s])]));
  // How much slower the 100 MiB package's redirect is than the 1 MiB one's: inverse throughput at fixed concurrency.
  const sizeRatio = bySize[1].rps / bySize[100].rps;
  results.presign = { sizes: bySize, d1Floor: floor, sizeRatio, runs, baseline: base };
  for (const sizeMiB of sizes) {
    const x = bySize[sizeMiB];
    log(`presign: ${sizeMiB} MiB package ${fmt(x.rps)} req/s (p50 ${x.p50} ms) vs bare D1 read ${fmt(floor.rps)} req/s (p50 ${floor.p50} ms)`);
    rows.push(["presign", `302 download, ${sizeMiB} MiB package  req/s (p50)`, `${fmt(x.rps)} (${fmt(x.p50, 1)} ms)`, `${fmt(floor.rps)} (${fmt(floor.p50, 1)} ms) (bare, 1 D1 read)`,
      (x.rps / floor.rps).toFixed(2), "(diagnosis)", ""]);
  }
  rows.push(["presign", "302 download, 100 MiB vs 1 MiB package", `x${sizeRatio.toFixed(2)} slower`, "", sizeRatio.toFixed(2), "within 1.2x",
    target("presigned download 100 MiB vs 1 MiB (slowdown)", Math.max(sizeRatio, 1 / sizeRatio), 1.2, "max")]);
}

/**
 * The packages issue's acceptance check: a 200 MB zip written to disk, uploaded and downloaded twice
 * (new packages each time), checksums as sha1sum/sha256sum see them, workerd memory against
 * idle; and the bare worker's put/get of the same file (one put, and 8 MiB parts) for what the local R2
 * simulator alone costs.
 */
async function bits200(app, bare, token) {
  const file = join(state, "bits200.zip");
  const zip = streamedZip(200 * 1000 * 1000);
  await pipeline(Readable.from(zip.chunks()), createWriteStream(file));
  const sum = async (tool) => (await promisify(execFile)(tool, [file])).stdout.split(/\s+/)[0];
  const [sha1sum, sha256sum] = await Promise.all([sum("sha1sum"), sum("sha256sum")]);
  const fromDisk = { size: statSync(file).size, chunks: () => createReadStream(file, { highWaterMark: 256 * 1024 }) };
  const appGuid = await createApp(app, token, "bench-bits200");
  const checks = [];
  // Alone (--only=bits200) the first run meets a fresh workerd; after the bits scenario, a used one.
  for (const run of ["1st", "2nd"]) {
    const pkg = await createBitsPackage(app, token, appGuid);
    const up = await uploadPackage(app, token, pkg, fromDisk);
    const down = await downloadPackage(app, token, pkg, { hash: true });
    const check = {
      run,
      fileBytes: fromDisk.size,
      sha1sum,
      sha256sum,
      reportedSha1: up.pkg.data.hash?.value,
      reportedSha256: up.pkg.data.checksum?.value,
      downloadedBytes: down.bytes,
      downloadedSha256: down.sha256,
      uploadMiBps: mib(fromDisk.size) / up.seconds,
      downloadMiBps: mib(fromDisk.size) / down.seconds,
      uploadIdle: up.memory.runtime.idle,
      uploadOverIdle: up.memory.runtime.overIdle,
      downloadIdle: down.memory.runtime.idle,
      downloadOverIdle: down.memory.runtime.overIdle,
    };
    check.identical = down.bytes === fromDisk.size && down.sha256 === sha256sum;
    check.checksumsMatch = check.reportedSha1 === sha1sum && check.reportedSha256 === sha256sum;
    checks.push(check);
    log(`200 MB (${run}): identical ${check.identical}, checksums ${check.checksumsMatch}, upload +${fmt(mib(check.uploadOverIdle), 1)} MiB, download +${fmt(mib(check.downloadOverIdle), 1)} MiB over idle`);
  }
  const reference = {};
  if (bare) {
    for (const [name, partSize] of [["single", undefined], ["parts", APP_PART_SIZE]]) {
      const key = `bench/bits200-${name}`;
      const put = await barePut(bare, key, fromDisk, { partSize });
      const get = await bareGet(bare, key, { pinned: partSize !== undefined });
      await bareDelete(bare, key);
      reference[name] = { putOverIdle: put.memory.runtime.overIdle, getOverIdle: get.memory.runtime.overIdle, putMiBps: mib(fromDisk.size) / put.seconds, getMiBps: mib(fromDisk.size) / get.seconds };
    }
  }
  results.bits200 = { checks, bareReference: reference };
  rm(file);
  const yes = (b) => (b ? "ok" : "MISS");
  const identical = checks.every((c) => c.identical);
  const checksums = checks.every((c) => c.checksumsMatch);
  targets.push({ name: "200 MB: download byte-identical", value: identical, target: "true", met: identical });
  targets.push({ name: "200 MB: checksums = sha1sum/sha256sum", value: checksums, target: "true", met: checksums });
  const c0 = checks[0];
  rows.push(["bits200", "200 MB zip: download byte-identical (x2)", `${fmt(c0.downloadedBytes)} B, sha256 ${c0.downloadedSha256.slice(0, 10)}…`, `file ${fmt(c0.fileBytes)} B`, "", "identical", yes(identical)]);
  rows.push(["bits200", "checksums vs sha1sum / sha256sum (x2)", `${String(c0.reportedSha1).slice(0, 10)}… / ${String(c0.reportedSha256).slice(0, 10)}…`, `${sha1sum.slice(0, 10)}… / ${sha256sum.slice(0, 10)}…`, "", "equal", yes(checksums)]);
  const ref = (k) => (reference.single ? `+${fmt(mib(reference.single[k]), 1)} / +${fmt(mib(reference.parts[k]), 1)} MiB (bare / parts)` : "");
  for (const c of checks) {
    rows.push(["bits200", `upload (${c.run})  workerd peak RSS over idle`, `+${fmt(mib(c.uploadOverIdle), 1)} MiB`, ref("putOverIdle"), `idle ${fmt(mib(c.uploadIdle), 0)} MiB`, "<= +64 MiB", target(`200 MB upload (${c.run}) workerd over idle (MiB)`, mib(c.uploadOverIdle), 64, "max")]);
    rows.push(["bits200", `download (${c.run})  workerd peak RSS over idle`, `+${fmt(mib(c.downloadOverIdle), 1)} MiB`, ref("getOverIdle"), `idle ${fmt(mib(c.downloadIdle), 0)} MiB`, "<= +64 MiB", target(`200 MB download (${c.run}) workerd over idle (MiB)`, mib(c.downloadOverIdle), 64, "max")]);
  }
}

/**
 * 7. Multipart: the same generated uploads (the form `cf push` sends: `resources`, then `bits`) parsed
 * by our reader (src/bits/multipart.ts) and by @remix-run/multipart-parser in one Worker
 * (bench/multipart-worker), against the floor of reading the body without parsing. Each variant reads
 * every part to its end and nothing is stored, so the figures are the parsers' alone. Every upload goes
 * to a freshly started workerd, warmed with three 1 MiB uploads through the same variant, so no
 * variant's peak is read against memory another one left behind and none runs cold code.
 */
const MULTIPART_VARIANTS = ["drain", "ours", "remix"];

/** POSTs the form of `zip` to the multipart worker's `variant` and checks that every byte was read. */
async function postForm(worker, variant, zip) {
  const form = multipartUpload(zip.size, zip.chunks);
  const res = await fetch(`${worker.url}/${variant}`, {
    method: "POST",
    body: ReadableStream.from(form.chunks()),
    duplex: "half",
    headers: { "content-type": form.contentType, "content-length": String(form.size) },
    signal: AbortSignal.timeout(10 * 60 * 1000), // a stalled transfer fails the run instead of hanging it
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`multipart ${variant} answered ${res.status}: ${body.slice(0, 500)}`);
  const answer = JSON.parse(body);
  const bits = answer.parts.find((p) => p.name === "bits");
  if (variant === "drain" ? answer.bytes !== form.size : bits?.bytes !== zip.size) {
    throw new Error(`multipart ${variant}: read ${JSON.stringify(answer)}, sent ${form.size} bytes with ${zip.size} of bits`);
  }
  return { bytes: form.size };
}

async function multipart(freshWorker) {
  const warmUp = streamedZip(MiB);
  results.multipart = [];
  for (const sizeMiB of SIZES) {
    const zip = streamedZip(sizeMiB * MiB);
    const rec = { sizeMiB, zipBytes: zip.size, runs: Object.fromEntries(MULTIPART_VARIANTS.map((v) => [v, []])) };
    for (let r = 0; r < ROUNDS; r++) {
      // The variants take turns within a round, so drift on the shared machine hits all of them alike.
      for (const variant of MULTIPART_VARIANTS) {
        const worker = await freshWorker();
        const run = await (async () => {
          for (let i = 0; i < 3; i++) await postForm(worker, variant, warmUp);
          return withMemory(worker, () => postForm(worker, variant, zip));
        })().finally(() => worker.stop());
        rec.runs[variant].push({ seconds: run.seconds, mbps: mib(run.bytes) / run.seconds, runtimeOverIdle: run.memory.runtime.overIdle, runtimeIdle: run.memory.runtime.idle });
      }
      const last = (v) => rec.runs[v][rec.runs[v].length - 1];
      log(`multipart ${sizeMiB} MiB #${r + 1}: ` + MULTIPART_VARIANTS.map((v) => `${v} ${fmt(last(v).mbps, 1)} MiB/s +${fmt(mib(last(v).runtimeOverIdle), 1)} MiB`).join(", "));
    }
    rec.summary = Object.fromEntries(MULTIPART_VARIANTS.map((v) => [v, {
      mbps: median(rec.runs[v].map((x) => x.mbps)),
      runtimeOverIdle: Math.max(...rec.runs[v].map((x) => x.runtimeOverIdle)),
    }]));
    results.multipart.push(rec);
    const sum = rec.summary;
    const label = `${sizeMiB} MiB`;
    for (const v of ["ours", "remix"]) {
      rows.push(["multipart", `${v} ${label}  MiB/s`, fmt(sum[v].mbps, 1), `${fmt(sum.drain.mbps, 1)} (read only)`, (sum[v].mbps / sum.drain.mbps).toFixed(2), "(comparison)", ""]);
    }
    rows.push(["multipart", `  ours / remix ${label}  speed`, "", "", (sum.ours.mbps / sum.remix.mbps).toFixed(2), "(comparison)", ""]);
    for (const v of ["drain", "ours", "remix"]) {
      rows.push(["multipart", `${v} ${label}  workerd peak RSS over idle`, `+${fmt(mib(sum[v].runtimeOverIdle), 1)} MiB`, v === "drain" ? "" : `+${fmt(mib(sum.drain.runtimeOverIdle), 1)} MiB (read only)`, "", "(comparison)", ""]);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// D1 size and CPU

const TEN_GB = 10e9;

/**
 * 5. D1 bytes per row. A fresh database gets one of each record through the API (an org, space and
 * app; a bits package uploaded and downloaded; a buildpack with bits: the rows and audit events the
 * Worker writes), then `--rows` copies of each of them in the local D1; the pages each table and
 * index gained, divided by the copies, are a row's cost (dbstat on a copy of the SQLite file).
 */
async function dbsize(token) {
  log(`D1 size: a fresh database, one of each record through the API, then ${fmt(ROWS)} copies of each`);
  await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", dirs.dbsize], { cwd: ROOT });
  const w = await start("app-dbsize", workerArgs(dirs.dbsize), PORT + 3);
  try {
    const appGuid = await createApp(w, token, "bench-dbsize");
    const pkg = await createBitsPackage(w, token, appGuid);
    const zip = streamedZip(64 * 1024);
    await postUpload(w, token, pkg, zip);
    await getDownload(w, token, pkg);
    const bp = await call(w, token, "POST", "/v2/buildpacks", { name: "bench_dbsize_buildpack", stack: "cflinuxfs4" });
    await uploadBuildpackBits(w, token, bp.metadata.guid, zip, "bench_dbsize_buildpack-cflinuxfs4-v1.10.16.zip");
  } finally {
    await w.stop();
  }
  mkdirSync(join(state, "dbsize"), { recursive: true });
  const before = snapshotDatabase(dirs.dbsize, join(state, "dbsize", "before.sqlite"));
  const tables = DB_KINDS.map((k) => k.table);
  const templates = templateCounts(before, tables);
  const sql = DB_KINDS.map((k) => cloneSql({ ...k, columns: columnsOf(before, k.table), templates: templates[k.table].n, maxId: templates[k.table].maxId, rows: ROWS }));
  const file = join(state, "dbsize", "clone.sql");
  writeFileSync(file, sql.join("\n"));
  await wrangler(["d1", "execute", "DB", "--local", "--persist-to", dirs.dbsize, "--file", file, "--yes"], { cwd: ROOT });
  const after = snapshotDatabase(dirs.dbsize, join(state, "dbsize", "after.sqlite"));
  const grown = templateCounts(after, tables);
  const a = objectSizes(before);
  const b = objectSizes(after);
  results.dbsize = { rowsPerKind: ROWS, pageSize: b.pageSize, tenGB: TEN_GB, kinds: [] };
  for (const k of DB_KINDS) {
    if (grown[k.table].n - templates[k.table].n !== ROWS) throw new Error(`${k.table}: ${grown[k.table].n - templates[k.table].n} rows added, expected ${ROWS}`);
    const per = (f) => (b.byTable[k.table][f] - a.byTable[k.table][f]) / ROWS;
    const indexes = Object.fromEntries(Object.keys(b.byTable[k.table].objects).filter((n) => n !== k.table)
      .map((n) => [n, round((b.byTable[k.table].objects[n] - (a.byTable[k.table].objects[n] ?? 0)) / ROWS, 1)]));
    const rec = { kind: k.kind, table: k.table, templates: templates[k.table].n, tableBytes: per("table"), indexBytes: per("indexes"), payloadBytes: per("payload"), indexes };
    rec.totalBytes = rec.tableBytes + rec.indexBytes;
    rec.per10GB = TEN_GB / rec.totalBytes;
    results.dbsize.kinds.push(rec);
    log(`D1 size: ${k.kind} ${fmt(rec.totalBytes)} B/row (row ${fmt(rec.tableBytes)}, ${Object.keys(indexes).length} indexes ${fmt(rec.indexBytes)}; payload ${fmt(rec.payloadBytes)})`);
    rows.push(["dbsize", `${k.kind}: D1 bytes per row (row + ${Object.keys(indexes).length} indexes)`, `${fmt(rec.totalBytes)} B`,
      `row ${fmt(rec.tableBytes)} B + indexes ${fmt(rec.indexBytes)} B`, "", "10 GB holds", `${fmt(rec.per10GB / 1e6, 1)} million`]);
  }
}

/** Bytes-per-row table, as the README shows it. */
function dbsizeTable() {
  const header = ["record", "row B", "indexes B", "total B/row", "rows per 10 GB"];
  const body = results.dbsize.kinds.map((k) => [`${k.kind} (\`${k.table}\`)`, fmt(k.tableBytes), fmt(k.indexBytes), fmt(k.totalBytes), `${fmt(k.per10GB / 1e6, 1)} million`]);
  return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...body.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

/** CPU the workerd process spends per ms of wall time while idle (timers, the simulators' upkeep). */
async function idleCpuRate(worker, ms = 3000) {
  await sleep(300);
  const c0 = cpuMs(worker.runtimePid);
  const t0 = Date.now();
  await sleep(ms);
  return (cpuMs(worker.runtimePid) - c0) / (Date.now() - t0);
}

/**
 * Runs `fn` (n requests, one at a time) and returns the Worker process's CPU time over it minus the
 * idle rate for as long, per request, and its peak RSS over the RSS just before. It starts `settleMs`
 * after the call, or at once (0: a window that must open right at an answer, as the pooling one).
 */
async function cpuWindow(worker, idleRate, n, fn, { settleMs = 200 } = {}) {
  if (settleMs > 0) await sleep(settleMs);
  const pid = worker.runtimePid;
  const rss = memory(pid).rss;
  const sampler = sampleMemory([pid]);
  const c0 = cpuMs(pid);
  const t0 = Date.now();
  let peak;
  try {
    await fn();
  } finally {
    peak = sampler.stop()[pid];
  }
  const wall = Date.now() - t0;
  const cpu = Math.max(0, cpuMs(pid) - c0 - idleRate * wall);
  return { requests: n, cpuMs: cpu, perRequestMs: cpu / n, wallMs: wall, overIdle: peak - rss };
}

async function times(n, fn) {
  for (let i = 0; i < n; i++) await fn(i);
}

async function getOk(worker, path, token) {
  const res = await fetch(`${worker.url}${path}`, { headers: token ? { authorization: `bearer ${token}` } : {} });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
}

/** The CPU limit the deployed environments set (`[env.production.limits] cpu_ms` in wrangler.toml). */
function configuredCpuMs() {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const m = /^\[env\.production\.limits\][^[]*?^cpu_ms\s*=\s*(\d+)/m.exec(toml);
  return m ? Number(m[1]) : null;
}

/**
 * What bounds one queue consumer invocation's work (the CPU limit applies to an invocation, which is
 * a batch of messages): FILL_BUDGET in src/pool/fill.ts (per message; a message takes at least one
 * entry, so a single file up to RESOURCE_MAX_SIZE goes over its bytes), production's RESOURCE_MAX_SIZE
 * and its consumer's max_batch_size.
 */
function poolLimits() {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const fill = readFileSync(join(ROOT, "src", "pool", "fill.ts"), "utf8");
  const budget = /FILL_BUDGET: FillBudget = \{ entries: (\d+), bytes: ([\d *]+) \}/.exec(fill);
  const product = (expr) => expr.split("*").reduce((n, f) => n * Number(f.trim()), 1);
  const maxSize = /^\[env\.production\.vars\][^[]*?^RESOURCE_MAX_SIZE\s*=\s*"(\d+)"/m.exec(toml);
  const batch = /^\[\[env\.production\.queues\.consumers\]\][^[]*?^max_batch_size\s*=\s*(\d+)/m.exec(toml);
  if (!budget || !maxSize || !batch) throw new Error("FILL_BUDGET (src/pool/fill.ts), RESOURCE_MAX_SIZE or max_batch_size (wrangler.toml, production) not found");
  return { entries: Number(budget[1]), bytes: product(budget[2]), maxFileBytes: Number(maxSize[1]), batchSize: Number(batch[1]) };
}

/**
 * 6. CPU per request: the app's workerd process CPU time (/proc/<pid>/stat utime + stime, minus its
 * idle rate) around `--cpu-requests` requests of each kind sent one at a time, and per MiB of bits
 * uploaded, downloaded, assembled from the pool and pooled by the queue consumer: the slope between
 * 1 MiB and `--cpu-mib` MiB, against the bare worker's put and get of the same bytes (the floor: what
 * the local R2 simulator in the same process costs). From the per-MiB figures: the CPU the largest
 * package and buildpack uploads, the largest assembled package and one pool consumer invocation need,
 * each checked at twice that against cpu_ms.
 */
async function cpu(app, bare, token) {
  const n = CPU_REQUESTS;
  const idle = { app: await idleCpuRate(app), bare: await idleCpuRate(bare) };
  log(`CPU: idle ${fmt(idle.app * 1000, 1)} ms/s (app), ${fmt(idle.bare * 1000, 1)} ms/s (bare); ${n} requests per kind`);
  const appGuid = await createApp(app, token, "bench-cpu");
  const small = streamedZip(64 * 1024);
  const created = [];
  const kinds = {};
  kinds["GET /"] = await cpuWindow(app, idle.app, n, () => times(n, () => getOk(app, "/")));
  kinds["GET /v3/packages/:guid"] = await cpuWindow(app, idle.app, n, () => times(n, () => getOk(app, `/v3/packages/${TARGET_PACKAGE}`, token)));
  kinds["GET /v3/packages?per_page=50"] = await cpuWindow(app, idle.app, n, () => times(n, () => getOk(app, "/v3/packages?per_page=50", token)));
  kinds["POST /v3/packages"] = await cpuWindow(app, idle.app, n, () => times(n, async () => created.push(await createBitsPackage(app, token, appGuid))));
  kinds["POST /v3/packages/:guid/upload (64 KiB zip)"] = await cpuWindow(app, idle.app, n, () => times(n, (i) => postUpload(app, token, created[i], small)));
  // Each READY package is a message to the pool's queue consumer (its one 64 KiB file is not above the
  // threshold: it reads the central directory and marks it pooled); it runs off the request path and
  // must be done before the next window opens.
  await waitPooled(dirs.small, created);
  // Uploads expire all but an app's newest packages (as the reference's BitsExpiration): download the last one.
  kinds["GET /v3/packages/:guid/download (64 KiB)"] = await cpuWindow(app, idle.app, n, () => times(n, () => getDownload(app, token, created.at(-1))));
  const base = kinds["GET /"].perRequestMs;
  for (const [name, k] of Object.entries(kinds)) {
    log(`CPU: ${name} ${fmt(k.perRequestMs, 2)} ms/request, peak +${fmt(mib(k.overIdle), 1)} MiB`);
    rows.push(["cpu", `${name}  CPU per request`, `${fmt(k.perRequestMs, 2)} ms`, name === "GET /" ? "" : `${fmt(base, 2)} ms (GET /)`,
      name === "GET /" ? "" : (k.perRequestMs / base).toFixed(2), "", ""]);
    rows.push(["cpu", "  workerd peak RSS over idle (requests one at a time)", `+${fmt(mib(k.overIdle), 1)} MiB`, "", "", "", ""]);
  }

  // Per MiB: the slope between 1 MiB and CPU_MIB MiB, 3 transfers of each.
  const sizes = [1, CPU_MIB];
  const per = { upload: {}, download: {}, put: {}, get: {} };
  for (const sizeMiB of sizes) {
    const zip = streamedZip(sizeMiB * MiB);
    for (const k of Object.keys(per)) per[k][sizeMiB] = [];
    for (let r = 0; r < 3; r++) {
      const pkg = await createBitsPackage(app, token, appGuid);
      per.upload[sizeMiB].push((await cpuWindow(app, idle.app, 1, () => postUpload(app, token, pkg, zip))).cpuMs);
      await waitPooled(dirs.small, [pkg]); // its 16 MiB files are pooled off the request path: not in the next window
      per.download[sizeMiB].push((await cpuWindow(app, idle.app, 1, () => getDownload(app, token, pkg))).cpuMs);
      const key = `bench/cpu-${sizeMiB}-${r}`;
      per.put[sizeMiB].push((await cpuWindow(bare, idle.bare, 1, () => barePut(bare, key, zip))).cpuMs);
      per.get[sizeMiB].push((await cpuWindow(bare, idle.bare, 1, () => bareGet(bare, key))).cpuMs);
      await bareDelete(bare, key);
    }
  }
  const zipMiB = (s) => mib(streamedZip(s * MiB).size);
  const slope = (k) => (median(per[k][CPU_MIB]) - median(per[k][1])) / (zipMiB(CPU_MIB) - zipMiB(1));
  const fixed = (k) => median(per[k][1]) - slope(k) * zipMiB(1);
  const perMiB = { upload: slope("upload"), download: slope("download"), put: slope("put"), get: slope("get") };
  for (const [k, bareK] of [["upload", "put"], ["download", "get"]]) {
    log(`CPU: ${k} ${fmt(perMiB[k], 2)} ms/MiB (bare ${bareK} ${fmt(perMiB[bareK], 2)}); fixed ${fmt(fixed(k), 1)} ms`);
    rows.push(["cpu", `${k}  CPU per MiB (1 vs ${CPU_MIB} MiB)`, `${fmt(perMiB[k], 2)} ms/MiB`, `${fmt(perMiB[bareK], 2)} ms/MiB (bare ${bareK})`,
      perMiB[bareK] > 0 ? (perMiB[k] / perMiB[bareK]).toFixed(2) : "(floor under the 10 ms tick)", "(diagnosis)", ""]);
  }

  // Assembled and pooled, per MiB: an app of 256 KiB files (random bytes, deflated as the CLI zips them:
  // above the pool's 64 KiB threshold, as jars are) and two 1 KiB ones, pushed twice as the push part
  // does. The first push's upload answers READY; from that answer until the queue consumer has marked
  // the package pooled (read from the local D1, not asked of the Worker) is the pooling window. Then the
  // repeat push: every big file matched, the two small ones in its bits zip; its upload assembles the
  // package from the pool in the request. The slope is per MiB of the app's zip (the assembled package
  // holds the same entries).
  const pool = { fileBytes: 256 * 1024, zipMiB: {}, pooled: {}, assembled: {}, fillSeconds: {} };
  for (const sizeMiB of sizes) {
    const big = (sizeMiB * MiB) / pool.fileBytes;
    for (const k of ["pooled", "assembled", "fillSeconds"]) pool[k][sizeMiB] = [];
    for (let r = 0; r < 3; r++) {
      const list = makeApp({ files: big + 2, small: 2, totalBytes: big * pool.fileBytes + 2 * 1024 });
      const zipFile = join(state, `cpu-pool-${sizeMiB}-${r}.zip`);
      const zipSize = await writeZip(list, zipFile);
      pool.zipMiB[sizeMiB] = mib(zipSize);
      const poolApp = await createApp(app, token, `bench-cpu-pool-${sizeMiB}-${r}`);
      const first = await createBitsPackage(app, token, poolApp);
      await postUpload(app, token, first, { size: zipSize, chunks: () => createReadStream(zipFile, { highWaterMark: 256 * 1024 }) });
      const fill = await cpuWindow(app, idle.app, 1, () => waitPooled(dirs.small, [first]), { settleMs: 0 });
      rm(zipFile);
      pool.pooled[sizeMiB].push(fill.cpuMs);
      pool.fillSeconds[sizeMiB].push(fill.wallMs / 1000);
      const { matched } = await postMatch(app, token, list);
      if (matched.length !== big) throw new Error(`the pool offers ${matched.length} of the ${big} files of a pooled package`);
      const held = new Set(matched.map((m) => m.checksum.value));
      const rest = await writeZip(list.filter((f) => !held.has(f.sha1)), null);
      const second = await createBitsPackage(app, token, poolApp);
      pool.assembled[sizeMiB].push((await cpuWindow(app, idle.app, 1, () => postAssembledUpload(app, token, second, matched, rest))).cpuMs);
      await waitPooled(dirs.small, [second]); // its files are all held: the consumer only counts them as used
    }
    log(`CPU: ${sizeMiB} MiB app (${big} files): pooled ${pool.pooled[sizeMiB].map((x) => fmt(x)).join(", ")} ms in ${pool.fillSeconds[sizeMiB].map((x) => x.toFixed(1)).join(", ")} s; assembled ${pool.assembled[sizeMiB].map((x) => fmt(x)).join(", ")} ms`);
  }
  const poolSlope = (k) => (median(pool[k][CPU_MIB]) - median(pool[k][1])) / (pool.zipMiB[CPU_MIB] - pool.zipMiB[1]);
  const poolFixed = (k) => median(pool[k][1]) - poolSlope(k) * pool.zipMiB[1];
  perMiB.assembled = poolSlope("assembled");
  perMiB.pooled = poolSlope("pooled");
  // The floor: each byte read from R2 once and written once (the bare worker's get and put).
  const floor = perMiB.put + perMiB.get;
  for (const k of ["assembled", "pooled"]) {
    log(`CPU: ${k} ${fmt(perMiB[k], 2)} ms/MiB (bare put + get ${fmt(floor, 2)}); fixed ${fmt(poolFixed(k), 1)} ms`);
    rows.push(["cpu", `${k}  CPU per MiB (1 vs ${CPU_MIB} MiB of 256 KiB files)`, `${fmt(perMiB[k], 2)} ms/MiB`, `${fmt(floor, 2)} ms/MiB (bare put + get)`,
      floor > 0 ? (perMiB[k] / floor).toFixed(2) : "", "(diagnosis)", ""]);
  }

  // What the largest uploads need: a package's raw limit (src/resources/packages/upload.ts
  // rawBitsLimit: MAX_PACKAGE_SIZE and half again, plus 16 MiB) and a buildpack's (MAX_BUILDPACK_BYTES,
  // 4 GiB; the same streamed put), at the measured per-MiB cost plus the fixed cost of an upload.
  const largest = [
    { what: "largest package upload (1 GiB + 50% + 16 MiB raw)", mib: 1024 + 512 + 16 },
    { what: "largest buildpack upload (4 GiB)", mib: 4096 },
  ];
  // An upload with resources stores its bits part (up to the raw limit) and then assembles the package
  // (each byte of it once): bounded by the whole raw limit at the upload's rate and again at the
  // assembly's, whichever part comes from the pool. A queue consumer invocation (one batch) pools at
  // most max_batch_size messages, each at most FILL_BUDGET's bytes or one file under RESOURCE_MAX_SIZE.
  const rawMiB = 1024 + 512 + 16;
  const fills = poolLimits();
  const messageMiB = Math.max(mib(fills.bytes), mib(fills.maxFileBytes));
  largest.push(
    { what: `largest package upload assembled (${fmt(rawMiB)} MiB uploaded, then assembled)`, mib: rawMiB, kind: "assembled",
      need: poolFixed("assembled") + (perMiB.upload + perMiB.assembled) * rawMiB,
      own: Math.max(0, perMiB.upload - perMiB.put + perMiB.assembled - floor) * rawMiB },
    { what: `one pool message (FILL_BUDGET ${fills.entries} entries or ${fmt(mib(fills.bytes))} MiB)`, mib: mib(fills.bytes), kind: "pooled",
      need: poolFixed("pooled") + perMiB.pooled * mib(fills.bytes), own: Math.max(0, perMiB.pooled - floor) * mib(fills.bytes) },
    { what: `one pool consumer invocation (max_batch_size ${fills.batchSize}: ${fills.batchSize === 1 ? "a message" : `${fills.batchSize} messages`} of one file under RESOURCE_MAX_SIZE ${fmt(mib(fills.maxFileBytes))} MiB)`, mib: fills.batchSize * messageMiB, kind: "pooled",
      need: fills.batchSize * (poolFixed("pooled") + perMiB.pooled * messageMiB), own: fills.batchSize * Math.max(0, perMiB.pooled - floor) * messageMiB },
  );
  const limit = configuredCpuMs();
  results.cpu = {
    idleMsPerSecond: { app: idle.app * 1000, bare: idle.bare * 1000 }, requests: kinds, perMiB,
    fixedMs: { upload: fixed("upload"), download: fixed("download"), assembled: poolFixed("assembled"), pooled: poolFixed("pooled") },
    samples: per, pool, poolLimits: fills, configuredCpuMs: limit, largest: [],
  };
  for (const l of largest) {
    const need = l.need ?? fixed("upload") + perMiB.upload * l.mib;
    const own = l.own ?? Math.max(0, perMiB.upload - perMiB.put) * l.mib;
    results.cpu.largest.push({ ...l, needMs: need, workerOwnMs: own });
    const verdict = limit ? target(`${l.what}: CPU x2 / cpu_ms`, (2 * need) / limit, 1, "max") : "MISS";
    if (!limit) targets.push({ name: `${l.what}: cpu_ms set`, value: null, target: "[env.production.limits] cpu_ms", met: false });
    rows.push(["cpu", `${l.what}  CPU`, `${fmt(need / 1000, 1)} s`, `${fmt(own / 1000, 1)} s without the local R2's share`,
      limit ? (need / limit).toFixed(2) : "", limit ? `x2 <= cpu_ms ${fmt(limit)}` : "cpu_ms unset", verdict]);
  }
}

/** Pool entries in the full pool of the match scenario. */
const POOL_ENTRIES = 100_000;

/**
 * Resource matching: POST /v3/resource_matches of 5,000 entries (every one held by the pool, the
 * largest answer) and of 1 entry, by a space developer, against the same database with an empty pool
 * and with 100,000 pool entries in the developer's organization, alternating, one request at a time.
 * The D1 round trips and the statement's plan come from the same request run in Node on a copy of the
 * full database.
 */
async function matchScenario(empty, full, token) {
  // Held: entries 1, 21, 41, ... of the pool. Not held: digests the pool has never seen.
  const entries = (n, held) => Array.from({ length: n }, (_, i) => {
    const k = held ? 1 + i * 20 : POOL_ENTRIES + 1 + i;
    return { path: `app/file-${i}.bin`, mode: "644", checksum: { value: poolSha1(k) }, size_in_bytes: 100_000 + k };
  });
  const post = async (worker, body) => {
    const started = process.hrtime.bigint();
    const res = await fetch(`${worker.url}/v3/resource_matches`, {
      method: "POST", headers: { authorization: `bearer ${token}`, "content-type": "application/json" }, body,
    });
    const text = await res.text();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (res.status !== 201) throw new Error(`POST /v3/resource_matches answered ${res.status}: ${text.slice(0, 300)}`);
    return { ms, xRuntimeMs: Number(res.headers.get("x-runtime")) * 1000, matched: JSON.parse(text).resources.length };
  };
  results.match = [];
  // The first request of an identity records it (src/auth/kind.ts, once per isolate): made here, so
  // that the profiles below count what every later match costs.
  mkdirSync(join(state, "plan"), { recursive: true });
  await explainRequest(await nodeApp(), snapshotDatabase(dirs.pool, join(state, "plan", "pool.sqlite")), "/v3/resource_matches", {
    env: nodeEnv(), headers: { authorization: `bearer ${token}`, "content-type": "application/json" }, method: "POST",
    body: JSON.stringify({ resources: entries(1, true) }), status: 201, explain: false,
  });
  for (const { n, held } of [{ n: 5000, held: true }, { n: 5000, held: false }, { n: 1, held: true }]) {
    const body = JSON.stringify({ resources: entries(n, held) });
    const rounds = n === 1 ? 60 : 20;
    const e = [];
    const f = [];
    for (let i = 0; i < 3; i++) {
      await post(empty, body);
      await post(full, body);
    }
    for (let i = 0; i < rounds; i++) {
      e.push(await post(empty, body));
      f.push(await post(full, body));
    }
    const expected = held ? n : 0;
    if (e.some((r) => r.matched !== 0) || f.some((r) => r.matched !== expected)) throw new Error(`match ${n}: expected 0 and ${expected} matches`);
    const msEmpty = median(e.map((r) => r.ms));
    const msFull = median(f.map((r) => r.ms));
    const ratio = msFull / msEmpty;
    mkdirSync(join(state, "plan"), { recursive: true });
    const db = snapshotDatabase(dirs.pool, join(state, "plan", "pool.sqlite"));
    const profile = await explainRequest(await nodeApp(), db, "/v3/resource_matches", {
      env: nodeEnv(), headers: { authorization: `bearer ${token}`, "content-type": "application/json" }, method: "POST", body, status: 201,
    });
    const statement = profile.statements[0];
    const rec = {
      entries: n, held, rounds, msEmpty, msFull, ratio,
      xRuntimeEmptyMs: median(e.map((r) => r.xRuntimeMs)), xRuntimeFullMs: median(f.map((r) => r.xRuntimeMs)),
      d1RoundTrips: profile.roundTrips, sql: statement?.sql, plan: statement ? planLines(statement.plan) : [], statementMs: statement?.ms,
    };
    results.match.push(rec);
    log(`match ${n} (${held ? "all" : "none"} held): ${fmt(msFull, 1)} ms with ${fmt(POOL_ENTRIES)} pool entries, ${fmt(msEmpty, 1)} ms with none (x${ratio.toFixed(2)}); ${profile.roundTrips} D1 round trip(s)`);
    rows.push([
      "match", `POST /v3/resource_matches, ${fmt(n)} ${n === 1 ? "entry" : "entries"} (${held ? "all" : "none"} held)  p50`, `${fmt(msFull, 1)} ms @${fmt(POOL_ENTRIES / 1000)}k pooled`,
      `${fmt(msEmpty, 1)} ms (empty pool)`, `x${ratio.toFixed(2)}`, n === 1 ? "(info)" : "<= x1.5",
      n === 1 ? "" : target(`match ${n} entries (${held ? "all" : "none"} held): ${POOL_ENTRIES} pooled / empty pool`, ratio, 1.5, "max"),
    ]);
    rows.push([
      "match", "  profile: X-Runtime p50, D1 round trips, the statement alone", `${fmt(rec.xRuntimeFullMs, 2)} ms, ${profile.roundTrips} round trip(s), ${fmt(statement?.ms ?? NaN, 2)} ms`,
      `${fmt(rec.xRuntimeEmptyMs, 2)} ms (empty)`, "", "1 round trip", target(`match ${n} entries (${held ? "all" : "none"} held): D1 round trips`, profile.roundTrips, 1, "max"),
    ]);
  }
}

/** A difference of bytes as signed MiB. */
const signedMiB = (bytes) => `${bytes >= 0 ? "+" : "-"}${fmt(mib(Math.abs(bytes)), 1)} MiB`;

/**
 * Resource matching (issue 11): an app of 2,000 files and 200 MB (and one of 500 files and 50 MB, to see
 * whether memory grows with the package), pushed as the cf CLI does: the first push matches nothing and
 * uploads the whole zip; once the pool has filled (the queue consumer, polled through the match
 * endpoint), a second push with one file changed matches the rest and uploads only the changed and the
 * small files. Its match + upload + READY time against the bare worker copying the resulting package
 * object R2 to R2 (the floor of a package materialized as one object), its client bytes, and workerd's
 * peak memory while assembling against the bare worker's single put of the same bytes.
 */
async function push(app, bare, token) {
  results.push = [];
  for (const [files, small, megabytes] of [[500, 25, 50], [2000, 100, 200]]) {
    const label = `${fmt(files)} files, ${megabytes} MB`;
    const list = makeApp({ files, small, totalBytes: megabytes * 1000 * 1000 });
    const zipFile = join(state, `push-${megabytes}.zip`);
    const zipSize = await writeZip(list, zipFile);
    const appGuid = await createApp(app, token, `bench-push-${megabytes}`);
    const match = () => postMatch(app, token, list);

    // First push: nothing matches, the whole zip goes up.
    const pkg1 = await createBitsPackage(app, token, appGuid);
    let t = process.hrtime.bigint();
    const m1 = await match();
    if (m1.matched.length !== 0) throw new Error(`a first push matched ${m1.matched.length} files`);
    const up1 = await uploadPackage(app, token, pkg1, { size: zipSize, chunks: () => createReadStream(zipFile, { highWaterMark: 256 * 1024 }) });
    const firstSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    const firstSent = m1.sent + up1.bytes;
    rm(zipFile);

    // The pool fills off the request path.
    const eligible = list.filter((f) => f.size > 65536).length;
    const fillStart = Date.now();
    for (;;) {
      const { matched } = await match();
      if (matched.length === eligible) break;
      if (Date.now() - fillStart > 20 * 60 * 1000) throw new Error(`the pool holds ${matched.length} of ${eligible} files after 20 minutes`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const fillSeconds = (Date.now() - fillStart) / 1000;
    log(`push ${label}: first push ${firstSeconds.toFixed(1)} s; pool filled ${fillSeconds.toFixed(0)} s after it`);

    // Second push: one big file changed.
    change(list[0]);
    const pkg2 = await createBitsPackage(app, token, appGuid);
    t = process.hrtime.bigint();
    const m2 = await match();
    const matchSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    const have = new Set(m2.matched.map((r) => r.checksum.value));
    const missing = list.filter((f) => !have.has(f.sha1));
    const missingZip = await writeZip(missing, null);
    const up2 = await withMemory(app, () => postAssembledUpload(app, token, pkg2, m2.matched, missingZip));
    const secondSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    const secondSent = m2.sent + up2.sent;

    // The same bytes for the bare worker: its single put of them (memory floor), then its R2-to-R2 copy (time floor).
    const pkgFile = join(state, `push-${megabytes}-package.zip`);
    const res = await fetch(`${app.url}/v3/packages/${pkg2}/download`, { headers: { authorization: `bearer ${token}` } });
    await pipeline(Readable.fromWeb(res.body), createWriteStream(pkgFile));
    const pkgSize = statSync(pkgFile).size;
    const key = `bench/push-${megabytes}`;
    const put = await barePut(bare, key, { size: pkgSize, chunks: () => createReadStream(pkgFile, { highWaterMark: 256 * 1024 }) });
    // The matched files' compressed bytes as separate objects in the bare worker's R2 (as the pool holds them).
    const pkgBytes = readFileSync(pkgFile);
    const matchedPaths = new Set(m2.matched.map((r) => r.path));
    const parts = entryData(pkgBytes).filter((e) => matchedPaths.has(e.name));
    const partKeys = [];
    for (let i = 0; i < parts.length; i += 16) {
      await Promise.all(parts.slice(i, i + 16).map(async (e, j) => {
        const partKey = `bench/push-${megabytes}-part-${i + j}`;
        partKeys[i + j] = partKey;
        const r = await fetch(`${bare.url}/objects/${encodeURIComponent(partKey)}`, { method: "PUT", body: pkgBytes.subarray(e.offset, e.offset + e.size) });
        await r.arrayBuffer();
      }));
    }
    const partsLength = parts.reduce((n, e) => n + e.size, 0);
    const concat = await withMemory(bare, async () => {
      const r = await fetch(`${bare.url}/concat?to=${encodeURIComponent(`${key}-concat`)}`, { method: "POST", body: JSON.stringify({ keys: partKeys, length: partsLength }) });
      if (r.status !== 201) throw new Error(`bare concat answered ${r.status}: ${await r.text()}`);
      return r.json();
    });
    for (const k of [...partKeys, `${key}-concat`]) await bareDelete(bare, k);
    rm(pkgFile);
    const copy = await withMemory(bare, async () => {
      const r = await fetch(`${bare.url}/copy?from=${encodeURIComponent(key)}&to=${encodeURIComponent(`${key}-copy`)}`, { method: "POST" });
      if (r.status !== 201) throw new Error(`bare copy answered ${r.status}`);
      return r.json();
    });
    await bareDelete(bare, key);
    await bareDelete(bare, `${key}-copy`);

    const run = {
      files, megabytes, appZipBytes: zipSize, packageBytes: pkgSize, matched: m2.matched.length, uploadedFiles: missing.length,
      firstSeconds, firstSent, fillSeconds, secondSeconds, secondSent, matchSeconds, uploadSeconds: up2.seconds, uploadRuntimeSeconds: up2.runtime,
      assemblyOverIdle: up2.memory.runtime.overIdle, assemblyIdle: up2.memory.runtime.idle, firstUploadOverIdle: up1.memory.runtime.overIdle,
      barePutOverIdle: put.memory.runtime.overIdle, bareCopySeconds: copy.seconds, bareCopyOverIdle: copy.memory.runtime.overIdle,
      bareConcatSeconds: concat.seconds, bareConcatObjects: parts.length, bareConcatOverIdle: concat.memory.runtime.overIdle,
    };
    results.push.push(run);
    log(`push ${label}: second push ${secondSeconds.toFixed(2)} s (${fmt(secondSent)} B sent) vs bare R2 copy ${copy.seconds.toFixed(2)} s; assembly +${fmt(mib(run.assemblyOverIdle), 1)} MiB vs bare put +${fmt(mib(run.barePutOverIdle), 1)} MiB`);

    const s = `push ${megabytes} MB`;
    rows.push(["push", `${label}: first push (match + upload + READY)`, `${firstSeconds.toFixed(2)} s, ${fmt(firstSent)} B sent`, "", "", "", ""]);
    rows.push(["push", `${label}: pool filled after the first push`, `${fillSeconds.toFixed(0)} s`, "", "", "(info)", ""]);
    if (megabytes === 200) {
      rows.push(["push", `${label}: second push, client bytes sent`, `${fmt(secondSent)} B`, `${fmt(firstSent)} B (first push)`, round(secondSent / firstSent, 4), "< 1 MB", target(`${s}: second push bytes sent`, secondSent, 1000 * 1000 - 1, "max")]);
    } else {
      rows.push(["push", `${label}: second push, client bytes sent`, `${fmt(secondSent)} B`, `${fmt(firstSent)} B (first push)`, round(secondSent / firstSent, 4), "(info)", ""]);
    }
    rows.push(["push", `${label}: second push, of which match / upload (X-Runtime)`, `${matchSeconds.toFixed(2)} s / ${up2.seconds.toFixed(2)} s (${up2.runtime.toFixed(2)} s)`, "", "", "(diagnosis)", ""]);
    rows.push(["push", `${label}: second push (match + upload + READY)`, `${secondSeconds.toFixed(2)} s (${fmt(m2.matched.length)} matched, ${missing.length} uploaded)`, `${copy.seconds.toFixed(2)} s (bare R2->R2 copy, ${fmt(mib(pkgSize), 0)} MiB)`, (secondSeconds / copy.seconds).toFixed(2), "<= 1.5", target(`${s}: second push / bare R2 copy`, secondSeconds / copy.seconds, 1.5, "max")]);
    rows.push(["push", `${label}:   same, vs bare concatenation of the ${fmt(parts.length)} pool objects`, `${secondSeconds.toFixed(2)} s`, `${concat.seconds.toFixed(2)} s (bare: ${fmt(parts.length)} gets into one put)`, (secondSeconds / concat.seconds).toFixed(2), "(diagnosis)", ""]);
    rows.push(["push", `${label}:   bare floors' workerd peak RSS over idle: concatenation / R2->R2 copy`, `+${fmt(mib(run.bareConcatOverIdle), 1)} MiB / +${fmt(mib(run.bareCopyOverIdle), 1)} MiB`, `+${fmt(mib(run.barePutOverIdle), 1)} MiB (bare single put)`, signedMiB(run.bareConcatOverIdle - run.barePutOverIdle), "(diagnosis)", ""]);
    rows.push(["push", `${label}: assembling, workerd peak RSS over idle`, `+${fmt(mib(run.assemblyOverIdle), 1)} MiB`, `+${fmt(mib(run.barePutOverIdle), 1)} MiB (bare single put)`, signedMiB(run.assemblyOverIdle - run.barePutOverIdle), "<= +24 MiB", target(`${s}: assembly memory over bare put (MiB)`, mib(run.assemblyOverIdle - run.barePutOverIdle), 24, "max")]);
  }
  const [a, b] = results.push;
  const growth = mib(b.assemblyOverIdle - a.assemblyOverIdle);
  rows.push(["push", "  bare concatenation: memory growth from 50 MB to 200 MB (diagnosis)", signedMiB(b.bareConcatOverIdle - a.bareConcatOverIdle), `+${fmt(mib(a.bareConcatOverIdle), 1)} MiB at 50 MB`, "", "(diagnosis)", ""]);
  rows.push(["push", "assembling: memory growth from 50 MB to 200 MB", `${growth >= 0 ? "+" : ""}${fmt(growth, 1)} MiB`, `+${fmt(mib(a.assemblyOverIdle), 1)} MiB at 50 MB`, "", "<= +8 MiB", target("push: assembly memory growth 50 -> 200 MB (MiB)", growth, 8, "max")]);
}

function rm(file) {
  try {
    rmSync(file);
  } catch {
    // already gone
  }
}

// ------------------------------------------------------------------------------------------------
// Output

function table() {
  const header = ["", "what", "measured", "baseline (same run)", "ratio", "target", "ok"];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? "").length)));
  const line = (r) => `| ${r.map((c, i) => String(c ?? "").padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

// ------------------------------------------------------------------------------------------------
// Main

let exitCode = 0;
try {
  await bundle(); // always: the dev server runs this bundle
  const needLarge = wants("scaling");
  const needApp = wants("request") || wants("scaling") || wants("bits") || wants("presign") || wants("bits200") || wants("cpu") || wants("match") || wants("push");
  if (needApp) {
    log(`seeding: 1,000 packages${needLarge ? ` and ${fmt(LARGE)} packages` : ""} straight into local D1`);
    const seeded = await Promise.all([
      prepareDatabase({ cwd: ROOT, persistTo: dirs.small, total: SMALL, sqlDir: dirs.sql }),
      needLarge ? prepareDatabase({ cwd: ROOT, persistTo: dirs.large, total: LARGE, sqlDir: dirs.sql }) : null,
    ]);
    results.seedSeconds = { small: seeded[0], large: seeded[1] };
    if (wants("match")) {
      // The same 1,000-package database twice, with the match user's role: one with an empty pool, one with 100,000 entries.
      log(`seeding: the match user's role, and ${fmt(POOL_ENTRIES)} pool entries into a second database`);
      await prepareDatabase({ cwd: ROOT, persistTo: dirs.pool, total: SMALL, sqlDir: dirs.sql });
      await seedMatch({ cwd: ROOT, persistTo: dirs.pool, entries: POOL_ENTRIES, sqlDir: dirs.sql });
      await seedMatch({ cwd: ROOT, persistTo: dirs.small, entries: 0, sqlDir: dirs.sql });
    }
    log(`seeded in ${seeded.filter(Boolean).map((s) => `${s.toFixed(1)} s`).join(" / ")}`);

    const app = await start("app", workerArgs(dirs.small), PORT);
    const bare = wants("bits") || wants("request") || wants("presign") || wants("bits200") || wants("cpu") || wants("push") ? await start("bare", [join(ROOT, "bench", "bare-worker", "index.js"), "-c", join(ROOT, "bench", "bare-worker", "wrangler.toml"), "--persist-to", dirs.bare], PORT + 2) : null;
    startupRows(app, bare);
    const token = await signToken(secret, { ttlSeconds: 3 * 3600 });
    results.idleMemory = { appRuntime: memory(app.runtimePid).rss, appProxy: app.proxyPid ? memory(app.proxyPid).rss : null };

    if (wants("request")) await requestPath(app, bare, token);
    if (wants("scaling")) {
      const large = await start("app-large", workerArgs(dirs.large), PORT + 1);
      await scaling(app, large, token);
      await large.stop();
      await plans(token);
    }
    if (wants("bits")) await bits(app, bare, token);
    if (wants("presign")) await presign(bare, token);
    if (wants("bits200")) await bits200(app, bare, token);
    if (wants("cpu")) await cpu(app, bare, token);
    if (wants("match")) {
      const full = await start("app-pool", workerArgs(dirs.pool), PORT + 6);
      await matchScenario(app, full, await signToken(secret, { user: MATCH_USER, scopes: ["cloud_controller.read", "cloud_controller.write"], ttlSeconds: 3600 }));
      await full.stop();
    }
    if (wants("push")) await push(app, bare, token);
  }
  if (wants("dbsize")) await dbsize(await signToken(secret, { ttlSeconds: 3600 }));
  if (wants("multipart")) {
    const dir = join(ROOT, "bench", "multipart-worker");
    await multipart(async () => {
      const worker = await startWorker({
        name: "multipart", args: [join(dir, "index.js"), "-c", join(dir, "wrangler.toml"), "--persist-to", dirs.multipart],
        port: PORT + 5, cwd: ROOT, logFile: join(state, "multipart.log"),
      });
      workers.push(worker); // stopped by cleanup() too, should the run be interrupted
      return worker;
    });
  }
} catch (err) {
  console.error(err instanceof Error ? err.stack : err);
  results.error = err instanceof Error ? err.message : String(err);
  exitCode = 1;
} finally {
  await cleanup();
}

results.rows = rows;
results.targets = targets;
results.totalSeconds = (Date.now() - T0) / 1000;
mkdirSync(dirname(opts.out), { recursive: true });
writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);

if (results.match) {
  console.log("Resource matching: the one statement, EXPLAIN QUERY PLAN on the 100,000-entry pool:");
  for (const m of results.match) {
    console.log(`\n  ${m.entries} entries (${m.held ? "all" : "none"} held): ${m.statementMs?.toFixed(3)} ms: ${m.sql}`);
    for (const l of m.plan) console.log(`      ${l}`);
  }
  console.log("");
}
if (results.plans) {
  console.log("Query plans (the Worker's statements, EXPLAIN QUERY PLAN on the large database):");
  for (const p of results.plans) {
    console.log(`\n  ${p.path}`);
    for (const s of p.statements) {
      console.log(`    ${s.msLarge} ms @${fmt(LARGE / 1000)}k, ${s.msSmall} ms @1k: ${s.sql.length > 150 ? `${s.sql.slice(0, 150)}…` : s.sql}`);
      for (const l of s.plan) console.log(`      ${l}`);
    }
  }
  console.log("");
}
console.log(table());
if (results.dbsize) console.log(`\nD1 bytes per row (${fmt(ROWS)} rows of each, dbstat; 10 GB = 10^10 bytes):\n\n${dbsizeTable()}`);
const missed = targets.filter((t) => !t.met);
console.log(`\n${targets.length - missed.length} of ${targets.length} targets met${missed.length ? `; missed: ${missed.map((t) => `${t.name} = ${t.value} (${t.target})`).join("; ")}` : ""}.`);
console.log(`${fmt(results.totalSeconds)} s in all; figures in ${opts.out}`);
process.exitCode = exitCode;
