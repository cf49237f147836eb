// Rows written straight into a bench state directory's local D1 (no HTTP), with SQL that SQLite
// expands itself (recursive CTEs), so 100,000 packages take one small file and one wrangler call.
//
// Layout (deterministic GUIDs, so both databases of a run hold the same target records):
// - one organization and one space;
// - apps: index 0 is the TARGET app, 1.. are filler apps, each holding 100 packages;
// - packages 1..1,000: every 10th belongs to the target app (100 in all), the rest to apps 1..9;
//   packages 1,001..N belong to apps 10.. (the 100,000 database only), so the target app has 100
//   packages in both databases and only the table around it grows;
// - 60 buildpacks (more than one page of 50).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { wrangler } from "./worker.mjs";

export const PACKAGES_PER_APP = 100;
export const SMALL = 1_000;
export const BUILDPACKS = 60;

const guidSql = (variant, expr) => `printf('00000000-0000-4000-${variant}-%012x', ${expr})`;
const guid = (variant, n) => `00000000-0000-4000-${variant}-${n.toString(16).padStart(12, "0")}`;

export const ORG_GUID = guid("8000", 0xabc);
export const SPACE_GUID = guid("8001", 0xabc);
export const appGuid = (index) => guid("8002", index);
export const packageGuid = (n) => guid("9000", n);
export const buildpackGuid = (n) => guid("a000", n);
export const TARGET_APP = appGuid(0);
/** A package of the target app (n % 10 === 0), created early in the table. */
export const TARGET_PACKAGE = packageGuid(500);

const stamp = (expr) => `strftime('%Y-%m-%dT%H:%M:%SZ', '2025-01-01 00:00:00', '+' || (${expr}) || ' seconds')`;
const hex = (bytes) => `lower(hex(randomblob(${bytes})))`;

function packagesSql(from, to, appIndexExpr) {
  return `WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to})
INSERT INTO packages (guid, app_guid, type, state, bits_key, bits_size, sha1, sha256, created_at, updated_at)
SELECT ${guidSql("9000", "i")}, ${guidSql("8002", appIndexExpr)}, 'bits', 'READY',
  'packages/' || ${guidSql("9000", "i")} || '/' || ${hex(16)}, 1048576 + i, ${hex(20)}, ${hex(32)}, ${stamp("i")}, ${stamp("i + 30")}
FROM n;`;
}

function appsSql(from, to) {
  return `WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to})
INSERT INTO apps (guid, name, space_guid, state, lifecycle_type, lifecycle_data, created_at)
SELECT ${guidSql("8002", "i")}, CASE WHEN i = 0 THEN 'bench-target' ELSE 'bench-filler-' || i END, '${SPACE_GUID}', 'STOPPED',
  'buildpack', '{"buildpacks":[],"stack":"cflinuxfs4"}', ${stamp("i")}
FROM n;`;
}

/** The SQL for a database with `total` packages (1,000 or a multiple of 100 above it). */
export function seedSql(total) {
  if (total < SMALL || total % PACKAGES_PER_APP !== 0) throw new RangeError(`packages: at least ${SMALL}, a multiple of ${PACKAGES_PER_APP}`);
  const apps = total / PACKAGES_PER_APP; // 10 for 1,000
  const statements = [
    `INSERT INTO organizations (guid, name, created_at) VALUES ('${ORG_GUID}', 'bench-org', '2025-01-01T00:00:00Z');`,
    `INSERT INTO spaces (guid, name, organization_guid, created_at) VALUES ('${SPACE_GUID}', 'bench-space', '${ORG_GUID}', '2025-01-01T00:00:00Z');`,
    appsSql(0, apps - 1),
    packagesSql(1, SMALL, "i % 10"),
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${BUILDPACKS})
INSERT INTO buildpacks (guid, name, stack, lifecycle, position, enabled, locked, filename, created_at)
SELECT ${guidSql("a000", "i")}, 'bench_buildpack_' || i, 'cflinuxfs4', 'buildpack', i, 1, 0, 'bench_buildpack_' || i || '.zip', ${stamp("i")}
FROM n;`,
  ];
  // The rest in statements of 25,000 rows, to keep each one short.
  for (let from = SMALL + 1; from <= total; from += 25_000) {
    const to = Math.min(total, from + 25_000 - 1);
    statements.push(packagesSql(from, to, `10 + (i - ${SMALL + 1}) / ${PACKAGES_PER_APP}`));
  }
  return statements.join("\n");
}

/** Applies the migrations to `persistTo` and seeds `total` packages; returns the seconds it took. */
export async function prepareDatabase({ cwd, persistTo, total, sqlDir }) {
  const started = Date.now();
  await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], { cwd });
  mkdirSync(sqlDir, { recursive: true });
  const file = join(sqlDir, `seed-${total}.sql`);
  writeFileSync(file, seedSql(total));
  await wrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--file", file, "--yes"], { cwd });
  return (Date.now() - started) / 1000;
}

// ------------------------------------------------------------------------------------------------
// Resource matching (--only=match)

/** The user the match scenario signs its token for: a space developer of the bench space. */
export const MATCH_USER = "bench-dev";
/**
 * The SHA-1 of pool entry i (1-based): deterministic, so a request can name entries the pool holds,
 * and spread over the key space like real digests (a multiplicative hash in front, i behind).
 */
export const poolSha1 = (i) => `${((i * 2654435761) % 4294967296).toString(16).padStart(8, "0")}${i.toString(16).padStart(32, "0")}`;

/** The bench user's role, and `entries` pool rows in the bench organization's scope (none: an empty pool). */
export function matchSeedSql(entries) {
  const statements = [
    `INSERT INTO roles (guid, type, user_guid, space_guid, created_at) VALUES ('${guid("b000", 1)}', 'space_developer', '${MATCH_USER}', '${SPACE_GUID}', '2025-01-01T00:00:00Z');`,
  ];
  for (let from = 1; from <= entries; from += 25_000) {
    const to = Math.min(entries, from + 25_000 - 1);
    statements.push(`WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to})
INSERT INTO resource_pool (scope, sha1, size, compressed_size, crc32, method, created_at, last_used_at)
SELECT '${ORG_GUID}', printf('%08x%032x', (i * 2654435761) % 4294967296, i), 100000 + i, 90000 + i, i, 8, ${stamp("i")}, ${stamp("i")}
FROM n;`);
  }
  return statements.join("\n");
}

/** Runs matchSeedSql on a prepared database. */
export async function seedMatch({ cwd, persistTo, entries, sqlDir }) {
  const file = join(sqlDir, `match-${entries}.sql`);
  writeFileSync(file, matchSeedSql(entries));
  await wrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--file", file, "--yes"], { cwd });
}
