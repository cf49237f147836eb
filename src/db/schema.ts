// Every table and index of the service, in one place: the source of the row types and of the
// migrations that drizzle-kit writes into migrations/.
//
// Conventions: `id` is an internal insertion-order key used only to break ties when sorting
// (timestamps have second precision); `guid` is what clients see. Timestamps are ISO-8601 UTC
// strings with second precision ("2026-01-02T03:04:05Z"), so text order is time order.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const id = () => integer("id").primaryKey({ autoIncrement: true });
const guid = () => text("guid").notNull().unique();
const createdAt = () => text("created_at").notNull();
/** null until the record first changes after creation, as both seeds show. */
const updatedAt = () => text("updated_at");

/**
 * Organization quotas (the reference's QuotaDefinition). Only the default quota exists (migration
 * 0003), served read-only; null limits are unlimited (the reference's -1).
 */
export const organizationQuotas = sqliteTable("organization_quotas", {
  id: id(),
  guid: guid(),
  name: text("name").notNull().unique(),
  isDefault: integer("is_default", { mode: "boolean" }).notNull().default(false),
  totalMemoryInMb: integer("total_memory_in_mb"),
  perProcessMemoryInMb: integer("per_process_memory_in_mb"),
  totalInstances: integer("total_instances"),
  perAppTasks: integer("per_app_tasks"),
  logRateLimitInBytesPerSecond: integer("log_rate_limit_in_bytes_per_second"),
  paidServicesAllowed: integer("paid_services_allowed", { mode: "boolean" }).notNull().default(true),
  totalServiceInstances: integer("total_service_instances"),
  totalServiceKeys: integer("total_service_keys"),
  totalRoutes: integer("total_routes"),
  totalReservedPorts: integer("total_reserved_ports"),
  totalDomains: integer("total_domains"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const organizations = sqliteTable("organizations", {
  id: id(),
  guid: guid(),
  name: text("name").notNull().unique(),
  suspended: integer("suspended", { mode: "boolean" }).notNull().default(false),
  /** The organization's quota; a trigger gives a new organization the default quota when none is named. */
  quotaGuid: text("quota_guid").references(() => organizationQuotas.guid),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [index("organizations_created_at_idx").on(t.createdAt, t.id)]);

export const spaces = sqliteTable("spaces", {
  id: id(),
  guid: guid(),
  name: text("name").notNull(),
  organizationGuid: text("organization_guid").notNull().references(() => organizations.guid),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [
  uniqueIndex("spaces_org_name_idx").on(t.organizationGuid, t.name),
  index("spaces_created_at_idx").on(t.createdAt, t.id),
]);

export const apps = sqliteTable("apps", {
  id: id(),
  guid: guid(),
  name: text("name").notNull(),
  spaceGuid: text("space_guid").notNull().references(() => spaces.guid),
  state: text("state", { enum: ["STOPPED", "STARTED"] }).notNull().default("STOPPED"),
  lifecycleType: text("lifecycle_type", { enum: ["buildpack", "docker", "cnb"] }).notNull(),
  /** JSON: `{"buildpacks": [...], "stack": "..."}` for buildpack apps, `{}` for docker. */
  lifecycleData: text("lifecycle_data").notNull().default("{}"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [
  uniqueIndex("apps_space_name_idx").on(t.spaceGuid, t.name),
  index("apps_created_at_idx").on(t.createdAt, t.id),
]);

const packageStates = [
  "AWAITING_UPLOAD", "PROCESSING_UPLOAD", "COPYING", "READY", "FAILED", "EXPIRED",
] as const;
export type PackageState = (typeof packageStates)[number];

export const packages = sqliteTable("packages", {
  id: id(),
  guid: guid(),
  appGuid: text("app_guid").notNull().references(() => apps.guid),
  type: text("type", { enum: ["bits", "docker"] }).notNull(),
  state: text("state", { enum: packageStates }).notNull(),
  /** The R2 key of the bits, once they are stored. */
  bitsKey: text("bits_key"),
  bitsSize: integer("bits_size"),
  sha1: text("sha1"),
  sha256: text("sha256"),
  error: text("error"),
  dockerImage: text("docker_image"),
  dockerUsername: text("docker_username"),
  /** AES-GCM ciphertext, base64 (src/db/encryption.ts); plaintext only on a row from before encryption (no key label). */
  dockerPassword: text("docker_password"),
  dockerPasswordIv: text("docker_password_iv"),
  /** The label of the key `docker_password` is encrypted under (DB_ENCRYPTION_KEYS). */
  dockerPasswordKeyLabel: text("docker_password_key_label"),
  /**
   * When the resource pool took this package's files (src/pool/fill.ts); null until then. The sweep
   * pools READY packages still null whose queue message was lost.
   */
  pooledAt: text("pooled_at"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [
  index("packages_created_at_idx").on(t.createdAt, t.id),
  index("packages_app_created_at_idx").on(t.appGuid, t.createdAt, t.id),
  index("packages_state_idx").on(t.state, t.updatedAt),
  // The sweep's search for passwords under an old key (or none) reads only packages that have one.
  index("packages_docker_password_key_label_idx").on(t.dockerPasswordKeyLabel).where(sql`${t.dockerPassword} IS NOT NULL`),
  index("packages_unpooled_idx").on(t.updatedAt).where(sql`state = 'READY' AND type = 'bits' AND pooled_at IS NULL`),
]);

export const stacks = sqliteTable("stacks", {
  id: id(),
  guid: guid(),
  name: text("name").notNull().unique(),
  description: text("description"),
  buildRootfsImage: text("build_rootfs_image"),
  runRootfsImage: text("run_rootfs_image"),
  isDefault: integer("is_default", { mode: "boolean" }).notNull().default(false),
  /** The reference's StackStates: ACTIVE, RESTRICTED, DEPRECATED or DISABLED (migration 0004). */
  state: text("state", { enum: ["ACTIVE", "RESTRICTED", "DEPRECATED", "DISABLED"] }).notNull().default("ACTIVE"),
  stateReason: text("state_reason"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const buildpacks = sqliteTable("buildpacks", {
  id: id(),
  guid: guid(),
  name: text("name").notNull(),
  stack: text("stack"),
  lifecycle: text("lifecycle").notNull().default("buildpack"),
  /** 1..n per lifecycle; kept contiguous by single-batch shifts (see resources/buildpacks). */
  position: integer("position").notNull(),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  locked: integer("locked", { mode: "boolean" }).notNull().default(false),
  filename: text("filename"),
  bitsKey: text("bits_key"),
  sha256: text("sha256"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [
  index("buildpacks_lifecycle_position_idx").on(t.lifecycle, t.position),
  index("buildpacks_name_idx").on(t.name, t.stack, t.lifecycle),
  // SQLite treats NULLs as distinct, so the null-stack case is enforced with an expression index.
  uniqueIndex("buildpacks_name_stack_lifecycle_idx").on(t.name, sql`coalesce(${t.stack}, '')`, t.lifecycle),
]);

const jobStates = ["PROCESSING", "COMPLETE", "FAILED", "POLLING"] as const;

export const jobs = sqliteTable("jobs", {
  id: id(),
  guid: guid(),
  operation: text("operation").notNull(),
  state: text("state", { enum: jobStates }).notNull(),
  resourceType: text("resource_type"),
  resourceGuid: text("resource_guid"),
  /** JSON array of v3 error objects. */
  errors: text("errors").notNull().default("[]"),
  /** JSON array of `{detail}` warnings. */
  warnings: text("warnings").notNull().default("[]"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [index("jobs_state_idx").on(t.state, t.createdAt)]);

/** Labels of every resource; selectors become EXISTS subqueries over this table. */
export const labels = sqliteTable("labels", {
  resourceType: text("resource_type").notNull(),
  resourceGuid: text("resource_guid").notNull(),
  keyPrefix: text("key_prefix").notNull().default(""),
  keyName: text("key_name").notNull(),
  value: text("value"),
}, (t) => [
  primaryKey({ columns: [t.resourceGuid, t.keyPrefix, t.keyName] }),
  index("labels_lookup_idx").on(t.resourceType, t.keyPrefix, t.keyName, t.value),
]);

export const annotations = sqliteTable("annotations", {
  resourceType: text("resource_type").notNull(),
  resourceGuid: text("resource_guid").notNull(),
  keyPrefix: text("key_prefix").notNull().default(""),
  keyName: text("key_name").notNull(),
  value: text("value"),
}, (t) => [primaryKey({ columns: [t.resourceGuid, t.keyPrefix, t.keyName] })]);

export const users = sqliteTable("users", {
  id: id(),
  guid: guid(),
  /** Whether the identity came from a client_credentials token. */
  isOauthClient: integer("is_oauth_client", { mode: "boolean" }).notNull().default(false),
  username: text("username"),
  origin: text("origin"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const roleTypes = [
  "organization_user", "organization_auditor", "organization_manager", "organization_billing_manager",
  "space_auditor", "space_developer", "space_manager", "space_supporter",
] as const;
export type RoleType = (typeof roleTypes)[number];

/**
 * Organization roles set `organization_guid` (and no space); space roles set `space_guid` (and no
 * organization). Permission queries rely on that.
 */
export const roles = sqliteTable("roles", {
  id: id(),
  guid: guid(),
  type: text("type", { enum: roleTypes }).notNull(),
  userGuid: text("user_guid").notNull(),
  organizationGuid: text("organization_guid"),
  spaceGuid: text("space_guid"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [
  uniqueIndex("roles_unique_idx").on(t.type, t.userGuid, sql`coalesce(${t.organizationGuid}, '')`, sql`coalesce(${t.spaceGuid}, '')`),
  index("roles_user_idx").on(t.userGuid, t.type),
  index("roles_space_idx").on(t.spaceGuid),
  index("roles_org_idx").on(t.organizationGuid),
]);

export const auditEvents = sqliteTable("audit_events", {
  id: id(),
  guid: guid(),
  type: text("type").notNull(),
  actorGuid: text("actor_guid").notNull(),
  actorType: text("actor_type").notNull(),
  actorName: text("actor_name"),
  actorUsername: text("actor_username"),
  acteeGuid: text("actee_guid").notNull(),
  acteeType: text("actee_type").notNull(),
  acteeName: text("actee_name"),
  spaceGuid: text("space_guid"),
  organizationGuid: text("organization_guid"),
  /** JSON object. */
  data: text("data").notNull().default("{}"),
  createdAt: createdAt(),
}, (t) => [
  index("audit_events_created_at_idx").on(t.createdAt, t.id),
  index("audit_events_actee_idx").on(t.acteeGuid),
  index("audit_events_space_idx").on(t.spaceGuid),
]);

/**
 * Row counts kept by triggers (migrations/0002_row_counts.sql) in the same transaction as every
 * insert and delete, so that an unfiltered list's total is one row read instead of an O(N) count(*).
 * One row per counted table, named after it: "packages".
 */
export const rowCounts = sqliteTable("row_counts", {
  name: text("name").primaryKey(),
  n: integer("n").notNull(),
});

/**
 * The resource pool (src/pool/): files of READY packages, by SHA-1 of their content, within a scope
 * (an organization guid, or "global" under RESOURCE_POOL_SCOPE=global). Each row's R2 object
 * (`pool/<scope>/<sha1>`) holds the entry's compressed bytes as a zip stores them after the local
 * header, so a package zip is assembled by copying them. The row is written after its object.
 */
export const resourcePool = sqliteTable("resource_pool", {
  scope: text("scope").notNull(),
  /** Lower-case hex SHA-1 of the uncompressed bytes. */
  sha1: text("sha1").notNull(),
  /** Uncompressed bytes. */
  size: integer("size").notNull(),
  compressedSize: integer("compressed_size").notNull(),
  /** CRC-32 of the uncompressed bytes, unsigned, as a zip stores it. */
  crc32: integer("crc32").notNull(),
  /** 0 stored, 8 deflate. */
  method: integer("method").notNull(),
  createdAt: createdAt(),
  lastUsedAt: text("last_used_at").notNull(),
  /**
   * A package object that also holds these compressed bytes (the newest known), its etag, and where the
   * bytes start in it: assembly reads runs of them with one ranged get instead of one get per pool object.
   */
  sourceKey: text("source_key"),
  sourceEtag: text("source_etag"),
  sourceOffset: integer("source_offset"),
}, (t) => [
  primaryKey({ columns: [t.scope, t.sha1] }),
  index("resource_pool_last_used_idx").on(t.lastUsedAt),
  // Matching probes by SHA-1 and reads the scope from the same index entry (covering).
  index("resource_pool_sha1_idx").on(t.sha1, t.scope),
  // Filling skips entries already pooled by what the central directory tells before any byte is read.
  index("resource_pool_crc_idx").on(t.scope, t.crc32, t.size),
]);

export type Organization = typeof organizations.$inferSelect;
export type OrganizationQuota = typeof organizationQuotas.$inferSelect;
export type Space = typeof spaces.$inferSelect;
export type App = typeof apps.$inferSelect;
export type Package = typeof packages.$inferSelect;
export type Stack = typeof stacks.$inferSelect;
export type Buildpack = typeof buildpacks.$inferSelect;
export type Job = typeof jobs.$inferSelect;
export type Role = typeof roles.$inferSelect;
export type User = typeof users.$inferSelect;
export type AuditEvent = typeof auditEvents.$inferSelect;
export type ResourcePoolRow = typeof resourcePool.$inferSelect;
