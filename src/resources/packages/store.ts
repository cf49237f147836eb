// Package queries. D1 has no interactive transactions: every state change is a conditional update
// (`WHERE state = ...`, and for bits in flight `AND bits_key = <this attempt's key>`), so whoever
// loses a race learns it from the changed-row count and cleans up after itself; a change and its
// audit event (and metadata) go in one `db.batch`.
import { and, asc, count, eq, inArray, lt, notInArray, or, sql, type SQL } from "drizzle-orm";
import type { SQLiteSelect } from "drizzle-orm/sqlite-core";
import type { Identity } from "../../auth/token";
import { readableSpaces } from "../../auth/permissions";
import { packageGuidOfKey } from "../../bits/keys";
import { timestamp, type Db } from "../../db/client";
import { apps, auditEvents, packages, rowCounts, spaces, type Package, type PackageState } from "../../db/schema";
import { pageWindow } from "../../http/pagination";
import type { ListParams } from "../../http/query";
import { labelSelectorCondition } from "../../metadata/selector";
import { guard, isGuardFailure, type Statement } from "../../db/batch";
import { allOf, inList, orderBy, timestampCondition } from "../../db/lists";
import { firstRowOf, mapReads, type Reads } from "../../db/reads";
import {
  metadataColumns, metadataFromColumns, pageWithMetadata, type MetadataColumnValues, type PageWithMetadata,
} from "../../metadata/store";
import type { Metadata } from "../../metadata/types";
import type { DockerCredentials, PackageType } from "./schema";
import { seal, unseal, type EncryptionKeys, type Sealed } from "../../db/encryption";
import { announceReady, type PoolMessage } from "../../pool/fill";

/** The app a package belongs to, with what permissions and audit events need. */
export interface AppRef {
  guid: string;
  name: string;
  spaceGuid: string;
  organizationGuid: string;
  lifecycleType: "buildpack" | "docker" | "cnb";
}

export interface PackageWithApp {
  pkg: Package;
  app: AppRef;
}

const appRefColumns = {
  // Aliased: a batch answers rows as objects keyed by column name, and packages has a `guid` too.
  guid: sql<string>`${apps.guid}`.as("app_ref_guid"),
  name: apps.name,
  spaceGuid: apps.spaceGuid,
  organizationGuid: spaces.organizationGuid,
  lifecycleType: apps.lifecycleType,
};

/** `updated_at` is null until a record first changes; filters and ordering use the creation time then. */
const effectiveUpdatedAt = sql`coalesce(${packages.updatedAt}, ${packages.createdAt})`;

/** The app, as reads for the caller's batch; with `who`, only if `who` may read its space (auth/permissions.ts). */
export function appLookup(db: Db, guid: string, who?: Identity): Reads<AppRef | undefined> {
  const readable = who && readableSpaces(who, apps.spaceGuid, spaces.organizationGuid);
  return firstRowOf(db.select(appRefColumns).from(apps).innerJoin(spaces, eq(spaces.guid, apps.spaceGuid)).where(and(eq(apps.guid, guid), readable)));
}

/** The package with its app, as reads for the caller's batch. */
export function packageLookup(db: Db, guid: string): Reads<PackageWithApp | undefined> {
  return firstRowOf(db
    .select({ pkg: packages, app: appRefColumns })
    .from(packages)
    .innerJoin(apps, eq(apps.guid, packages.appGuid))
    .innerJoin(spaces, eq(spaces.guid, apps.spaceGuid))
    .where(eq(packages.guid, guid)));
}

export { spaceOfApp } from "../apps/store";

/**
 * The package with its metadata, only if `who` may read its space (auth/permissions.ts), as ONE
 * statement for the caller's batch: `GET /v3/packages/:guid` whole.
 */
export function readablePackageWithMetadata(db: Db, guid: string, who: Identity): Reads<{ pkg: Package; metadata: Metadata } | undefined> {
  const readable = readableSpaces(who, apps.spaceGuid, spaces.organizationGuid);
  // Apps and spaces are joined only when the condition reads them (not for global readers).
  const joined = <T extends SQLiteSelect>(q: T): T =>
    readable ? q.innerJoin(apps, eq(apps.guid, packages.appGuid)).innerJoin(spaces, eq(spaces.guid, apps.spaceGuid)) as unknown as T : q;
  const statement = joined(db.select({ pkg: packages, ...metadataColumns("package", packages.guid) }).from(packages).$dynamic())
    .where(and(eq(packages.guid, guid), readable));
  return mapReads(firstRowOf(statement), (r) => r && { pkg: r.pkg, metadata: metadataFromColumns(r) });
}

/** The guid of the package's space, as a scalar subquery (NULL when there is no such package). */
export const spaceOfPackage = (guid: string): SQL =>
  sql`(SELECT ${apps.spaceGuid} FROM ${packages} INNER JOIN ${apps} ON ${apps.guid} = ${packages.appGuid} WHERE ${packages.guid} = ${guid})`;

// ---------------------------------------------------------------------------------------------
// Lists

interface ListScope {
  /** Only this app's packages (the nested list, or `?app_guid=`). */
  appGuid?: string;
}

/**
 * A page of the packages `who` may read (auth/permissions.ts `readableSpaces`), with their metadata,
 * as reads for the caller's batch.
 */
export function packageList(db: Db, who: Identity, params: ListParams, scope: ListScope = {}): Reads<PageWithMetadata<Package>> {
  const { lists, timestamps, values } = params;
  const readable = readableSpaces(who, apps.spaceGuid, spaces.organizationGuid);
  const conditions: (SQL | undefined)[] = [
    readable,
    scope.appGuid === undefined ? undefined : eq(packages.appGuid, scope.appGuid),
    lists.guids && inList(packages.guid, lists.guids),
    lists.states && inList(packages.state, lists.states),
    lists.types && inList(packages.type, lists.types),
    lists.app_guids && inList(packages.appGuid, lists.app_guids),
    lists.space_guids && inList(apps.spaceGuid, lists.space_guids),
    lists.organization_guids && inList(spaces.organizationGuid, lists.organization_guids),
    timestamps.created_ats && timestampCondition(packages.createdAt, timestamps.created_ats),
    timestamps.updated_ats && timestampCondition(effectiveUpdatedAt, timestamps.updated_ats),
    values.label_selector === undefined ? undefined : labelSelectorCondition("package", packages.guid, values.label_selector),
  ];
  const where = allOf(conditions);
  const { limit, offset } = pageWindow(params);
  const ordering = orderBy(params, { created_at: packages.createdAt, updated_at: effectiveUpdatedAt }, packages.id, [asc(packages.id)]);
  // Apps and spaces are joined only when a condition reads them (a reader limited to some spaces, or
  // space/organization filters): a join costs two index lookups per package, which made count(*)
  // 20x slower at 100,000 packages (bench/README.md, scaling).
  const needsApps = readable !== undefined || lists.space_guids !== undefined || lists.organization_guids !== undefined;
  // (Inner joins that select nothing leave the row type as it is.)
  const joined = <T extends SQLiteSelect>(q: T): T =>
    needsApps ? q.innerJoin(apps, eq(apps.guid, packages.appGuid)).innerJoin(spaces, eq(spaces.guid, apps.spaceGuid)) as unknown as T : q;
  // Nothing to filter (an admin's or global reader's plain list): the total the triggers keep
  // (migrations/0002_row_counts.sql), one row instead of an O(N) count.
  const countAll = where === undefined
    ? db.select({ n: rowCounts.n }).from(rowCounts).where(eq(rowCounts.name, "packages"))
    : joined(db.select({ n: count() }).from(packages).$dynamic()).where(where);
  const page = joined(db.select({ pkg: packages, ...metadataColumns("package", packages.guid) }).from(packages).$dynamic())
    .where(where).orderBy(...ordering).limit(limit).offset(offset);
  return pageWithMetadata(countAll, page, (r: { pkg: Package } & MetadataColumnValues) => r.pkg);
}

// ---------------------------------------------------------------------------------------------
// Create, copy

interface NewPackage {
  /** Default: a new one. A docker password is sealed for its package's guid, so that comes first. */
  guid?: string;
  type: PackageType;
  appGuid: string;
  state: PackageState;
  /** The registry credentials, the password already sealed (`sealDockerPassword`). */
  docker?: (Omit<DockerCredentials, "password"> & { password: Sealed | null }) | null;
  /** For bits copies: where the copy will be written (the sweep removes it if the copy dies). */
  bitsKey?: string | null;
}

/** The row of a new package; insert it with `insertPackage` in the caller's batch. */
export function newPackageRow(input: NewPackage): Package {
  return {
    id: 0,
    guid: input.guid ?? crypto.randomUUID(),
    appGuid: input.appGuid,
    type: input.type,
    state: input.state,
    bitsKey: input.bitsKey ?? null,
    bitsSize: null,
    sha1: null,
    sha256: null,
    error: null,
    dockerImage: input.docker?.image ?? null,
    dockerUsername: input.docker?.username ?? null,
    ...passwordColumns(input.docker?.password ?? null),
    pooledAt: null,
    createdAt: timestamp(),
    updatedAt: null,
  };
}

/** Inserts the package together with `alongside` (metadata, audit event) in one batch. */
export async function insertPackage(db: Db, row: Package, alongside: readonly Statement[]): Promise<Package> {
  const { id: _id, ...values } = row;
  const [inserted] = await db.batch([db.insert(packages).values(values).returning(), ...alongside]);
  return inserted[0]!;
}

// ---------------------------------------------------------------------------------------------
// Upload and copy state changes

/** Fails the batch it is in unless the package is in `state` with `bitsKey` (the update before it took). */
function requireRow(db: Db, guid: string, state: PackageState, bitsKey: string): Statement {
  return guard(db, sql`EXISTS (SELECT 1 FROM ${packages} WHERE ${packages.guid} = ${guid} AND ${packages.state} = ${state} AND ${packages.bitsKey} = ${bitsKey})`);
}

/**
 * The one decision of an upload race: AWAITING_UPLOAD → PROCESSING_UPLOAD with this attempt's key,
 * and the audit event, only if the row was still AWAITING_UPLOAD. False for every loser.
 */
export async function acceptUpload(db: Db, guid: string, bitsKey: string, audit: Statement): Promise<boolean> {
  try {
    const [update] = await db.batch([
      db.update(packages)
        .set({ state: "PROCESSING_UPLOAD", bitsKey, updatedAt: timestamp() })
        .where(and(eq(packages.guid, guid), eq(packages.state, "AWAITING_UPLOAD"))),
      requireRow(db, guid, "PROCESSING_UPLOAD", bitsKey),
      audit,
    ]);
    return update.meta.changes === 1;
  } catch (err) {
    if (isGuardFailure(err)) return false;
    throw err;
  }
}

/**
 * Back to AWAITING_UPLOAD after a refused request (bad form fields, a short body): the package may be
 * uploaded again, and the refused request leaves no trace, so the upload event `acceptUpload` recorded
 * goes too (a package that was never uploaded has no other one).
 */
export async function reopenUpload(db: Db, pkg: Package, bitsKey: string): Promise<boolean> {
  try {
    const [rows] = await db.batch([
      db.update(packages)
        .set({ state: "AWAITING_UPLOAD", bitsKey: null, updatedAt: pkg.updatedAt })
        .where(and(eq(packages.guid, pkg.guid), eq(packages.state, "PROCESSING_UPLOAD"), eq(packages.bitsKey, bitsKey)))
        .returning({ guid: packages.guid }),
      guard(db, sql`changes() > 0`),
      db.delete(auditEvents).where(and(
        eq(auditEvents.type, "audit.app.package.upload"),
        eq(auditEvents.acteeGuid, pkg.appGuid),
        eq(auditEvents.data, JSON.stringify({ package_guid: pkg.guid })),
      )),
    ]);
    return rows.length === 1;
  } catch (err) {
    if (isGuardFailure(err)) return false;
    throw err;
  }
}

/**
 * Moves an upload in progress to another key (bits sent before their `resources`: the package is
 * assembled at a new key from the object at the old one), if the package still has this attempt's
 * key. False when the sweep failed it or it was deleted meanwhile.
 */
export async function moveUpload(db: Db, guid: string, from: string, to: string): Promise<boolean> {
  const rows = await db.update(packages)
    .set({ bitsKey: to })
    .where(and(eq(packages.guid, guid), eq(packages.state, "PROCESSING_UPLOAD"), eq(packages.bitsKey, from)))
    .returning({ guid: packages.guid });
  return rows.length === 1;
}

interface StoredChecksums {
  sha1: string;
  sha256: string;
  size: number;
}

/**
 * READY with the checksums, if the package is still in `from` with this attempt's key, and then the
 * message that pools its files (src/pool/fill.ts) to `pool`. False when the sweep failed it or it was
 * deleted meanwhile: the caller then deletes its object.
 */
export async function markReady(db: Db, guid: string, from: PackageState, bitsKey: string, bits: StoredChecksums, pool: Queue<PoolMessage>): Promise<boolean> {
  const rows = await db.update(packages)
    .set({ state: "READY", sha1: bits.sha1, sha256: bits.sha256, bitsSize: bits.size, error: null, updatedAt: timestamp() })
    .where(and(eq(packages.guid, guid), eq(packages.state, from), eq(packages.bitsKey, bitsKey)))
    .returning({ guid: packages.guid });
  if (rows.length !== 1) return false;
  await announceReady(pool, guid);
  return true;
}

/** FAILED with `error` and no bits, if the package is still in `from` with this attempt's key. */
export async function markFailed(db: Db, guid: string, from: PackageState, bitsKey: string, error: string): Promise<boolean> {
  const rows = await db.update(packages)
    .set({ state: "FAILED", error, bitsKey: null, bitsSize: null, sha1: null, sha256: null, updatedAt: timestamp() })
    .where(and(eq(packages.guid, guid), eq(packages.state, from), eq(packages.bitsKey, bitsKey)))
    .returning({ guid: packages.guid });
  return rows.length === 1;
}

// ---------------------------------------------------------------------------------------------
// Docker registry passwords, encrypted at rest (db/encryption.ts)

type PasswordColumns = Pick<Package, "dockerPassword" | "dockerPasswordIv" | "dockerPasswordKeyLabel">;

const passwordColumns = (sealed: Sealed | null): PasswordColumns =>
  ({ dockerPassword: sealed?.ciphertext ?? null, dockerPasswordIv: sealed?.iv ?? null, dockerPasswordKeyLabel: sealed?.label ?? null });

/** The password of package `guid` as it is stored: encrypted under the current key, bound to the package. */
export const sealDockerPassword = (keys: EncryptionKeys, guid: string, password: string): Promise<Sealed> => seal(keys, password, guid);

/** How many passwords one sweep re-encrypts. */
const REENCRYPT_BATCH = 100;

/**
 * Re-encrypts stored passwords under the current key: those under another key, and those stored
 * before encryption (no label, plaintext). Each row is rewritten only if it still holds what was read.
 * Returns how many were rewritten; a row whose key is no longer configured is left (and logged).
 */
export async function reencryptDockerPasswords(db: Db, keys: EncryptionKeys): Promise<number> {
  const label = packages.dockerPasswordKeyLabel;
  const rows = await db.select({ guid: packages.guid, ciphertext: packages.dockerPassword, iv: packages.dockerPasswordIv, label })
    .from(packages)
    .where(and(sql`${packages.dockerPassword} IS NOT NULL`, or(sql`${label} IS NULL`, sql`${label} < ${keys.current}`, sql`${label} > ${keys.current}`)))
    .limit(REENCRYPT_BATCH);
  let done = 0;
  for (const row of rows) {
    const plain = row.label === null ? row.ciphertext : await unseal(keys, { label: row.label, iv: row.iv ?? "", ciphertext: row.ciphertext ?? "" }, row.guid);
    if (plain === null || plain === undefined) {
      console.error("database encryption: the docker password of a package cannot be decrypted (its key label is not configured)", row.guid, row.label);
      continue;
    }
    const updated = await db.update(packages).set(passwordColumns(await seal(keys, plain, row.guid)))
      .where(and(
        eq(packages.guid, row.guid),
        eq(packages.dockerPassword, row.ciphertext ?? ""),
        row.label === null ? sql`${label} IS NULL` : eq(label, row.label),
      ))
      .returning({ guid: packages.guid });
    done += updated.length;
  }
  return done;
}

// ---------------------------------------------------------------------------------------------
// Update, delete

export async function updateDockerCredentials(db: Db, guid: string, credentials: { username: string | null; password: Sealed | null }, alongside: readonly Statement[]): Promise<void> {
  const set: Partial<Pick<Package, "dockerUsername"> & PasswordColumns> = {};
  if (credentials.username !== null) set.dockerUsername = credentials.username;
  if (credentials.password !== null) Object.assign(set, passwordColumns(credentials.password));
  const statements: Statement[] = [...alongside];
  // Metadata-only updates leave the package row (and its updated_at) alone, as the reference.
  if (Object.keys(set).length > 0) statements.unshift(db.update(packages).set({ ...set, updatedAt: timestamp() }).where(eq(packages.guid, guid)));
  if (statements.length === 0) return;
  const [first, ...rest] = statements as [Statement, ...Statement[]];
  await db.batch([first, ...rest]);
}

/** Deletes the record with `alongside` (metadata, audit) in one batch; the bits key it had, if any. */
export async function deletePackageRecord(db: Db, guid: string, alongside: readonly Statement[]): Promise<{ deleted: boolean; bitsKey: string | null }> {
  try {
    const [deleted] = await db.batch([
      db.delete(packages).where(eq(packages.guid, guid)).returning({ bitsKey: packages.bitsKey }),
      // A concurrent delete got there first: no second audit event.
      guard(db, sql`changes() > 0`),
      ...alongside,
    ]);
    return { deleted: true, bitsKey: deleted[0]?.bitsKey ?? null };
  } catch (err) {
    if (isGuardFailure(err)) return { deleted: false, bitsKey: null };
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Expiry and the sweep

/** How many READY/FAILED packages an app keeps (the reference's max_valid_packages_stored default). */
const PACKAGES_KEPT_PER_APP = 5;

/**
 * BitsExpiration#expire_packages!: of an app's READY and FAILED packages the newest 5 (by created_at,
 * then id) stay, the rest become EXPIRED. Their bits keys stay on the row until the objects are
 * deleted (`forgetExpiredBits`), so an interruption leaves work the sweep finishes.
 */
export async function expireOldPackages(db: Db, appGuid: string): Promise<{ guid: string; bitsKey: string | null }[]> {
  const finished = and(eq(packages.appGuid, appGuid), inArray(packages.state, ["READY", "FAILED"]));
  const kept = db.select({ id: packages.id }).from(packages).where(finished)
    .orderBy(sql`${packages.createdAt} DESC`, sql`${packages.id} DESC`).limit(PACKAGES_KEPT_PER_APP);
  return db.update(packages)
    .set({ state: "EXPIRED", sha1: null, sha256: null, updatedAt: timestamp() })
    .where(and(finished, notInArray(packages.id, kept)))
    .returning({ guid: packages.guid, bitsKey: packages.bitsKey });
}

/** EXPIRED packages whose objects are still to be deleted. */
export const expiredWithBits = (db: Db, limit: number) =>
  db.select({ guid: packages.guid, bitsKey: packages.bitsKey }).from(packages)
    .where(and(eq(packages.state, "EXPIRED"), sql`${packages.bitsKey} IS NOT NULL`)).limit(limit);

/**
 * Of the given R2 keys, those a package names as its bits. Keys name the package (bits/keys.ts), so
 * the lookup goes through the guid index however many packages there are.
 */
export async function referencedPackageBits(db: Db, keys: readonly string[]): Promise<Set<string>> {
  const guids = [...new Set(keys.map(packageGuidOfKey).filter((g): g is string => g !== undefined))];
  if (guids.length === 0) return new Set();
  const rows = await db.select({ bitsKey: packages.bitsKey }).from(packages).where(inList(packages.guid, guids));
  const named = new Set(rows.map((r) => r.bitsKey));
  return new Set(keys.filter((k) => named.has(k)));
}

/** After their objects are gone: the expired packages no longer name them. */
export async function forgetExpiredBits(db: Db, expired: readonly { guid: string; bitsKey: string }[]): Promise<void> {
  for (let i = 0; i < expired.length; i += 45) {
    const part = expired.slice(i, i + 45);
    await db.update(packages).set({ bitsKey: null, bitsSize: null })
      .where(and(eq(packages.state, "EXPIRED"), or(...part.map((p) => and(eq(packages.guid, p.guid), eq(packages.bitsKey, p.bitsKey))))));
  }
}

/** Packages in PROCESSING_UPLOAD or COPYING since before `cutoff` (a timestamp): their requests or copies died. */
export const stuckPackages = (db: Db, cutoff: string, limit: number) =>
  db.select({ guid: packages.guid, state: packages.state, bitsKey: packages.bitsKey }).from(packages)
    .where(and(inArray(packages.state, ["PROCESSING_UPLOAD", "COPYING"]), lt(sql`coalesce(${packages.updatedAt}, ${packages.createdAt})`, cutoff)))
    .limit(limit);

/** Fails one stuck package if it is still as the sweep saw it (state and key): true when it did. */
export async function failStuck(db: Db, stuck: { guid: string; state: PackageState; bitsKey: string | null }, error: string, now: string): Promise<boolean> {
  const rows = await db.update(packages)
    .set({ state: "FAILED", error, bitsKey: null, bitsSize: null, sha1: null, sha256: null, updatedAt: now })
    .where(and(
      eq(packages.guid, stuck.guid),
      eq(packages.state, stuck.state),
      stuck.bitsKey === null ? sql`${packages.bitsKey} IS NULL` : eq(packages.bitsKey, stuck.bitsKey),
    ))
    .returning({ guid: packages.guid });
  return rows.length === 1;
}
