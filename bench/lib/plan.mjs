// The query plans of the list endpoints, from the statements the Worker really issues: src/index.ts is
// bundled for Node and its own Hono app answers the request against a copy of a bench database, through
// a small D1 adapter over node:sqlite that records every statement. Each recorded SELECT then gets
// `EXPLAIN QUERY PLAN` (with its parameters) and is timed on the same database, which is what a
// profile of the list queries needs: which statement costs what, and whether it walks an index.
import { copyFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DatabaseSync } from "node:sqlite";

/** The SQLite file of the DB binding in a wrangler --persist-to directory. */
export function d1File(persistTo) {
  const dir = join(persistTo, "v3", "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  if (!file) throw new Error(`no D1 database under ${dir}`);
  return join(dir, file);
}

/** Copies a live database (with its WAL) so that it can be opened without disturbing the Worker. */
export function snapshotDatabase(persistTo, to) {
  const file = d1File(persistTo);
  copyFileSync(file, to);
  for (const suffix of ["-wal", "-shm"]) if (existsSync(file + suffix)) copyFileSync(file + suffix, to + suffix);
  return to;
}

const bindable = (v) => (typeof v === "boolean" ? (v ? 1 : 0) : v instanceof ArrayBuffer ? new Uint8Array(v) : v === undefined ? null : v);

/** Just enough of D1Database for drizzle-orm/d1, over node:sqlite, recording each statement run. */
class RecordingD1 {
  constructor(db) {
    this.db = db;
    this.log = [];
    /** Calls that would each be one round trip to D1 (a batch is one). */
    this.roundTrips = 0;
    this.inBatch = false;
  }
  prepare(sql) {
    return new RecordingStatement(this, sql, []);
  }
  /** A D1 session (src/db/session.ts) reads and writes the same database here: its statements are recorded alike. */
  withSession() {
    return this;
  }
  getBookmark() {
    return null;
  }
  async batch(statements) {
    this.roundTrips++;
    this.inBatch = true;
    try {
      return await Promise.all(statements.map((s) => s.all()));
    } finally {
      this.inBatch = false;
    }
  }
  async exec(sql) {
    this.db.exec(sql);
    return { count: 1, duration: 0 };
  }
}

class RecordingStatement {
  constructor(d1, sql, params) {
    Object.assign(this, { d1, sql, params });
  }
  bind(...params) {
    return new RecordingStatement(this.d1, this.sql, params.map(bindable));
  }
  statement(arrays = false) {
    if (!this.d1.inBatch) this.d1.roundTrips++;
    this.d1.log.push({ sql: this.sql, params: this.params });
    const stmt = this.d1.db.prepare(this.sql);
    stmt.setReturnArrays(arrays);
    return stmt;
  }
  async all() {
    const stmt = this.statement();
    const reader = /^\s*(select|with|pragma|explain)/i.test(this.sql) || /\breturning\b/i.test(this.sql);
    if (reader) return { results: stmt.all(...this.params), success: true, meta: {} };
    const r = stmt.run(...this.params);
    return { results: [], success: true, meta: { changes: Number(r.changes), last_row_id: Number(r.lastInsertRowid) } };
  }
  async raw() {
    return this.statement(true).all(...this.params);
  }
  async first(column) {
    const row = this.statement().get(...this.params);
    return row === undefined ? null : column ? row[column] : row;
  }
  async run() {
    return this.all();
  }
}

/** Bundles src/index.ts for Node once; returns the path of the module. */
export async function bundleAppForNode({ root, outfile }) {
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [join(root, "src", "index.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    // CommonJS dependencies (yaml) require Node's built-ins; an ESM bundle has no `require` of its own.
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
    outfile,
    logLevel: "silent",
  });
  return outfile;
}

/** Loads the bundled app (its `app` export, the Hono app). */
export async function loadApp(modulePath) {
  const mod = await import(pathToFileURL(modulePath).href);
  if (!mod.app?.fetch) throw new Error("src/index.ts does not export `app`");
  return mod.app;
}

function timeStatement(db, sql, params, rounds = 20) {
  const stmt = db.prepare(sql);
  stmt.all(...params); // warm the page cache
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) stmt.all(...params);
  return Number(process.hrtime.bigint() - started) / 1e6 / rounds;
}

/**
 * Answers `path` (a GET, or `method` with `body`, expecting `status`) with the app against `dbFile`; returns { status, statements: [{ sql, params, plan, ms }] }
 * for each SELECT the request issued (plan lines as SQLite prints them, ms the mean time of the statement).
 */
export async function explainRequest(app, dbFile, path, { env, headers, explain = true, method = "GET", body: requestBody, status = 200 }) {
  const db = new DatabaseSync(dbFile);
  try {
    const d1 = new RecordingD1(db);
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} };
    const res = await app.fetch(new Request(`http://127.0.0.1${path}`, { method, headers, body: requestBody }), { ...env, DB: d1 }, ctx);
    const body = await res.text();
    if (res.status !== status) throw new Error(`${method} ${path} answered ${res.status} in Node: ${body.slice(0, 300)}`);
    if (!explain) return { status: res.status, roundTrips: d1.roundTrips, statementCount: d1.log.length, statements: [] };
    const statements = d1.log
      .filter((s) => /^\s*select/i.test(s.sql))
      .map(({ sql, params }) => ({
        sql,
        params,
        plan: db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params).map((r) => ({ id: r.id, parent: r.parent, detail: r.detail })),
        ms: timeStatement(db, sql, params),
      }));
    return { status: res.status, roundTrips: d1.roundTrips, statementCount: d1.log.length, statements };
  } finally {
    db.close();
  }
}

/** The plan as an indented tree, one line per step. */
export function planLines(plan) {
  const depth = new Map([[0, -1]]);
  return plan.map((row) => {
    const d = (depth.get(row.parent) ?? -1) + 1;
    depth.set(row.id, d);
    return `${"  ".repeat(d)}${row.detail}`;
  });
}

/** Steps that read a whole table of rows without an index ("SCAN t" alone). */
export const fullScans = (plan) => plan.map((r) => r.detail).filter((d) => /^SCAN \S+$/.test(d.trim()));
/** Steps that scan a whole index (no `=`/range constraint): O(rows) even though an index is used. */
export const fullIndexScans = (plan) => plan.map((r) => r.detail).filter((d) => /^SCAN \S+ USING (COVERING )?INDEX \S+$/.test(d.trim()));
export const tempSorts = (plan) => plan.map((r) => r.detail).filter((d) => /TEMP B-TREE/.test(d));
