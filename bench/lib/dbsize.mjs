// D1 bytes per row: what one package, buildpack, app and audit event costs a database, its table row
// and its index entries together. Rows the Worker itself wrote (through the API) are the templates;
// `cloneSql` copies them N times in the local D1 (`wrangler d1 execute --local`) with fresh GUIDs and
// timestamps, so every column has the length the API gives it; `objectSizes` reads every table's and
// index's pages from SQLite's `dbstat` on a copy of the database file (the file D1 stores and bills).
import { DatabaseSync } from "node:sqlite";

/** The kinds measured: table, and the columns that must differ per row (unique, or sorted on). */
export const KINDS = [
  { kind: "package", table: "packages" },
  { kind: "buildpack", table: "buildpacks", suffix: ["name"], offset: ["position"] },
  { kind: "app", table: "apps", suffix: ["name"] },
  { kind: "audit event", table: "audit_events" },
];

// A random version-4 GUID, 36 characters like crypto.randomUUID()'s.
const GUID_SQL = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-8' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`;

/** Column names of a table, from a copy of the database. */
export function columnsOf(file, table) {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare(`PRAGMA table_info(${table})`).all().map((c) => c.name);
  } finally {
    db.close();
  }
}

/** How many rows each table holds, and the largest id (the templates are the rows up to it). */
export function templateCounts(file, tables) {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT count(*) AS n, max(id) AS maxId FROM ${t}`).get()]));
  } finally {
    db.close();
  }
}

/**
 * SQL that inserts `rows` copies of a table's template rows (round robin over them, so an "audit event"
 * is the average of the events the API wrote), each with a new guid, a created_at one second later per
 * copy, `suffix` columns made unique with `-<n>`, and `offset` columns counted on.
 */
export function cloneSql({ table, columns, templates, maxId, rows, suffix = [], offset = [] }) {
  const expr = (c) => {
    if (c === "guid") return GUID_SQL;
    if (c === "created_at") return `strftime('%Y-%m-%dT%H:%M:%SZ', tpl.created_at, '+' || n.i || ' seconds')`;
    if (suffix.includes(c)) return `tpl.${c} || '-' || n.i`;
    if (offset.includes(c)) return `tpl.${c} + n.i`;
    return `tpl.${c}`;
  };
  const cols = columns.filter((c) => c !== "id");
  const out = [];
  // Statements of at most 25,000 rows each, to keep each one short.
  for (let from = 1; from <= rows; from += 25_000) {
    const to = Math.min(rows, from + 25_000 - 1);
    out.push(`WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to})
INSERT INTO ${table} (${cols.join(", ")})
SELECT ${cols.map(expr).join(", ")}
FROM n JOIN (SELECT *, row_number() OVER (ORDER BY id) - 1 AS k FROM ${table} WHERE id <= ${maxId}) AS tpl ON tpl.k = n.i % ${templates};`);
  }
  return out.join("\n");
}

/**
 * Bytes on pages per table (its rows) and per index, from dbstat: `{ [table]: { table, indexes,
 * payload, objects: { name: bytes } } }`, and the page size.
 */
export function objectSizes(file) {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const owner = new Map(db.prepare("SELECT name, tbl_name, type FROM sqlite_schema WHERE type IN ('table', 'index')").all().map((r) => [r.name, r]));
    const byTable = {};
    for (const r of db.prepare("SELECT name, SUM(pgsize) AS bytes, SUM(payload) AS payload FROM dbstat GROUP BY name").all()) {
      const o = owner.get(r.name);
      if (!o) continue; // sqlite_schema itself
      const t = (byTable[o.tbl_name] ??= { table: 0, indexes: 0, payload: 0, objects: {} });
      if (o.type === "table") {
        t.table += r.bytes;
        t.payload += r.payload;
      } else t.indexes += r.bytes;
      t.objects[r.name] = r.bytes;
    }
    return { pageSize: db.prepare("PRAGMA page_size").get().page_size, byTable };
  } finally {
    db.close();
  }
}
