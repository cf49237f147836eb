import { and, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import type { Identity } from "../../auth/token";
import { auditEventInsert } from "../../audit/events";
import { guard, isForeignKeyViolation, isGuardFailure, isUniqueViolation, type Statement } from "../../db/batch";
import { firstRowOf, type Reads } from "../../db/reads";
import { metadataDeletesIn, type PageWithMetadata } from "../../metadata/store";
import { timestamp, type Db } from "../../db/client";
import { commonConditions, inList } from "../../db/lists";
import { apps, buildpacks, packages, spaces, stacks, type App, type Stack } from "../../db/schema";
import { ApiError, unprocessable } from "../../http/errors";
import type { ListParams } from "../../http/query";
import { deleteBitsKeys } from "../../bits/store";
import { isBlank, labelSelectorCondition, metadataCreateStatements } from "../../metadata";
import { listWithMetadata, updateWithAudit } from "../records";
import type { AppCreate, AppUpdate, LifecycleRequest } from "./schema";

/** The app, as reads for the caller's batch; `visible` (a condition on apps columns) can hide it. */
export const appLookup = (db: Db, guid: string, visible?: SQL): Reads<App | undefined> =>
  firstRowOf(db.select().from(apps).where(and(eq(apps.guid, guid), visible)));

/** The guid of the app's space, as a scalar subquery (NULL when there is no such app): for `spaceAccessReads`. */
export const spaceOfApp = (guid: string): SQL => sql`(SELECT ${apps.spaceGuid} FROM ${apps} WHERE ${apps.guid} = ${guid})`;

/** A page of apps, as reads for the caller's batch (with the page's guids for its metadata). */
export function appList(db: Db, params: ListParams, visible: SQL | undefined): Reads<PageWithMetadata<App>> {
  const conditions: (SQL | undefined)[] = [visible, ...commonConditions(params, apps)];
  if (params.lists.names) conditions.push(inList(apps.name, params.lists.names));
  if (params.lists.space_guids) conditions.push(inList(apps.spaceGuid, params.lists.space_guids));
  if (params.lists.organization_guids) {
    conditions.push(sql`${apps.spaceGuid} IN (SELECT ${spaces.guid} FROM ${spaces} WHERE ${inList(spaces.organizationGuid, params.lists.organization_guids)})`);
  }
  if (params.lists.stacks) {
    conditions.push(sql`${apps.lifecycleType} = 'buildpack' AND ${inList(sql`json_extract(${apps.lifecycleData}, '$.stack')`, params.lists.stacks)}`);
  }
  if (params.values.lifecycle_type !== undefined) conditions.push(sql`${apps.lifecycleType} = ${params.values.lifecycle_type}`);
  if (params.values.label_selector !== undefined) conditions.push(labelSelectorCondition("app", apps.guid, params.values.label_selector));
  return listWithMetadata<App>(db, apps, "app", params, conditions, {
    created_at: apps.createdAt, updated_at: apps.updatedAt, name: apps.name, state: apps.state,
  });
}

/**
 * The stored lifecycle of a new app, with the reference's checks: the stack must exist (default:
 * the default stack); each buildpack must be an admin buildpack (for that stack) or a git URL.
 */
export async function resolveLifecycle(db: Db, request: LifecycleRequest | undefined): Promise<{ type: App["lifecycleType"]; data: string }> {
  if (request?.type === "docker") return { type: "docker", data: "{}" };
  const stackName = request?.stack ?? null;
  const stack = stackName === null
    ? await db.query.stacks.findFirst({ where: eq(stacks.isDefault, true) })
    : await db.query.stacks.findFirst({ where: eq(stacks.name, stackName) });
  const errors: string[] = [];
  const names = [...new Set(request?.buildpacks ?? [])].filter((b) => !isBuildpackUrl(b));
  const known = names.length === 0 ? [] : await db.select({ name: buildpacks.name }).from(buildpacks)
    .where(and(inList(buildpacks.name, names), stack ? or(eq(buildpacks.stack, stack.name), sql`${buildpacks.stack} IS NULL`) : undefined));
  const knownNames = new Set(known.map((b) => b.name));
  for (const name of request?.buildpacks ?? []) {
    if (isBuildpackUrl(name) || knownNames.has(name)) continue;
    errors.push(stack
      ? `Buildpack "${name}" for stack "${stack.name}" must be an existing admin buildpack or a valid git URI`
      : `Buildpack "${name}" must be an existing admin buildpack or a valid git URI`);
  }
  const problem = stackProblem(stack);
  if (problem) errors.push(problem);
  if (errors.length > 0) throw new ApiError("UnprocessableEntity", errors);
  return { type: "buildpack", data: JSON.stringify({ buildpacks: request?.buildpacks ?? [], stack: stack!.name }) };
}

/** The stacks new apps may use: DISABLED and RESTRICTED take none (StackStateValidator.validate_for_new_app!). */
const USABLE_STACK_STATES = ["ACTIVE", "DEPRECATED"] as const;

/**
 * Why a new app cannot use the stack, if it cannot: there is none, or its state refuses new apps (the
 * reference refuses them when staging; this service has no staging, so it refuses them on create).
 */
function stackProblem(stack: Stack | undefined): string | undefined {
  if (!stack) return "Stack must be an existing stack";
  if ((USABLE_STACK_STATES as readonly string[]).includes(stack.state)) return undefined;
  const reason = stack.stateReason !== null && !isBlank(stack.stateReason) ? ` ${stack.stateReason}` : "";
  return `The stack '${stack.name}' is '${stack.state}' and cannot be used for new apps.${reason}`;
}

/** What the reference takes for a git URI rather than a buildpack name (`BuildpackLifecycleDataValidator`). */
export const isBuildpackUrl = (value: string): boolean => /^(https?|git|ssh):\/\/\S+$/i.test(value) || isGitSshUrl(value);

/**
 * /^git@\S+:\S+$/ without backtracking: as a regular expression it is quadratic (on "git@a:a:a:…a "
 * every ":" retries the rest of the text). The same test: no whitespace, and a ":" with a character
 * on each side after "git@".
 */
const isGitSshUrl = (value: string): boolean => {
  if (!value.startsWith("git@") || /\s/.test(value)) return false;
  const colon = value.indexOf(":", 5);
  return colon >= 0 && colon < value.length - 1;
};

const invalidSpace = () => unprocessable("Invalid space. Ensure that the space exists and you have access to it.");
const nameTaken = (name: string) => new ApiError("UniquenessError", `App with the name '${name}' already exists.`);

/** Inserts the app, its metadata and audit.app.create in one batch; the database decides on name and space. */
export async function createApp(
  db: Db, who: Identity, input: AppCreate, lifecycle: { type: App["lifecycleType"]; data: string }, organizationGuid: string | null,
): Promise<App> {
  const guid = crypto.randomUUID();
  const spaceGuid = input.relationships.space;
  const insert = db.insert(apps).values({
    guid, name: input.name, spaceGuid, lifecycleType: lifecycle.type, lifecycleData: lifecycle.data, createdAt: timestamp(),
  }).returning();
  const request: Record<string, unknown> = { name: input.name, relationships: { space: { data: { guid: spaceGuid } } } };
  if (input.lifecycle) request.lifecycle = { type: lifecycle.type, data: JSON.parse(lifecycle.data) as unknown };
  if (input.metadata) request.metadata = input.metadata;
  const rest: Statement[] = [
    ...metadataCreateStatements(db, "app", guid, input.metadata),
    auditEventInsert(db, {
      type: "audit.app.create", actor: who, actee: { guid, type: "app", name: input.name },
      spaceGuid, organizationGuid, data: { request },
    }),
  ];
  // The stack was read before this batch: it must still be there, and usable, when the app is written.
  const stackName = lifecycle.type === "buildpack" ? (JSON.parse(lifecycle.data) as { stack: string }).stack : undefined;
  if (stackName !== undefined) {
    rest.unshift(guard(db, sql`EXISTS (SELECT 1 FROM ${stacks} WHERE ${stacks.name} = ${stackName} AND ${inList(stacks.state, USABLE_STACK_STATES)})`, "stack-usable"));
  }
  try {
    const [[app]] = await db.batch([insert, ...rest]);
    return app!;
  } catch (err) {
    if (stackName !== undefined && isGuardFailure(err, "stack-usable")) {
      throw unprocessable(stackProblem(await db.query.stacks.findFirst({ where: eq(stacks.name, stackName) })) ?? "Stack must be an existing stack");
    }
    if (isUniqueViolation(err, "apps.name")) throw nameTaken(input.name);
    if (isForeignKeyViolation(err)) throw invalidSpace();
    throw err;
  }
}

/** Applies a PATCH (name, metadata) in one batch, with audit.app.update; undefined when the app is gone. */
export async function updateApp(db: Db, who: Identity, app: App, input: AppUpdate, organizationGuid: string | null): Promise<App | undefined> {
  const set: Partial<typeof apps.$inferInsert> = {};
  if (input.name != null) set.name = input.name;
  const request: Record<string, unknown> = {};
  if (input.name != null) request.name = input.name;
  if (input.metadata) request.metadata = input.metadata;
  const name = input.name;
  return updateWithAudit<App>(db, apps, {
    resourceType: "app", guid: app.guid, set, metadata: input.metadata,
    audit: {
      type: "audit.app.update", actor: who, actee: { guid: app.guid, type: "app", name: set.name ?? app.name },
      spaceGuid: app.spaceGuid, organizationGuid, data: { request },
    },
    ...(name != null ? { nameTaken: { index: "apps.name", error: () => nameTaken(name) } } : {}),
  });
}

/**
 * Statements that delete the apps a subquery selects, with their packages and the metadata of both,
 * in the order foreign keys need. Put them FIRST in the caller's batch: `bitsKeys(results)` then reads
 * the R2 keys of the deleted packages' bits from the batch results, to delete once the records are gone.
 */
export function purgeAppsStatements(db: Db, appGuids: SQL) {
  const packageGuids = sql`SELECT guid FROM packages WHERE app_guid IN (${appGuids})`;
  const statements: Statement[] = [
    ...metadataDeletesIn(db, "package", packageGuids),
    db.delete(packages).where(sql`${packages.appGuid} IN (${appGuids})`).returning({ bitsKey: packages.bitsKey }),
    ...metadataDeletesIn(db, "app", appGuids),
    db.delete(apps).where(sql`${apps.guid} IN (${appGuids})`),
  ];
  const packageDeleteIndex = 2;
  return {
    statements,
    bitsKeys: (results: readonly unknown[]): string[] =>
      ((results[packageDeleteIndex] ?? []) as { bitsKey: string | null }[])
        .map((r) => r.bitsKey)
        .filter((k): k is string => k !== null),
  };
}

/**
 * Deletes the app, its packages and all their metadata in one batch with audit.app.delete-request,
 * then the packages' bits from R2.
 */
export async function deleteApp(db: Db, bucket: R2Bucket, who: Identity, app: App, organizationGuid: string | null): Promise<void> {
  const purge = purgeAppsStatements(db, sql`SELECT ${app.guid}`);
  const results = await db.batch([
    ...(purge.statements as [Statement, ...Statement[]]),
    auditEventInsert(db, {
      type: "audit.app.delete-request", actor: who, actee: { guid: app.guid, type: "app", name: app.name },
      spaceGuid: app.spaceGuid, organizationGuid, data: { request: { recursive: true } },
    }),
  ]);
  await deleteBitsKeys(bucket, purge.bitsKeys(results));
}
