import { and, eq, sql, type SQL } from "drizzle-orm";
import type { Identity } from "../../auth/token";
import { auditEventInsert } from "../../audit/events";
import { timestamp, type Db } from "../../db/client";
import { organizationQuotas, organizations, roles, spaces, type Organization } from "../../db/schema";
import { unprocessable } from "../../http/errors";
import type { ListParams } from "../../http/query";
import { labelSelectorCondition, metadataCreateStatements, metadataDeleteStatements } from "../../metadata";
import { isUniqueViolation, type Statement } from "../../db/batch";
import { commonConditions, inList } from "../../db/lists";
import { firstRowOf, type Reads } from "../../db/reads";
import { metadataDeletesIn, type PageWithMetadata } from "../../metadata/store";
import { purgeAppsStatements } from "../apps/store";
import { listWithMetadata, updateWithAudit } from "../records";
import type { OrgCreate, OrgUpdate } from "./schema";

export const findOrg = (db: Db, guid: string) => db.query.organizations.findFirst({ where: eq(organizations.guid, guid) });

/** The organization, as reads for the caller's batch; `visible` (a condition on its columns) can hide it. */
export const orgLookup = (db: Db, guid: string, visible?: SQL): Reads<Organization | undefined> =>
  firstRowOf(db.select().from(organizations).where(and(eq(organizations.guid, guid), visible)));

/** A page with its metadata, as reads for the caller's batch. */
export function orgList(db: Db, params: ListParams, visible: SQL | undefined): Reads<PageWithMetadata<Organization>> {
  const conditions: (SQL | undefined)[] = [visible, ...commonConditions(params, organizations)];
  if (params.lists.names) conditions.push(inList(organizations.name, params.lists.names));
  if (params.values.label_selector !== undefined) {
    conditions.push(labelSelectorCondition("organization", organizations.guid, params.values.label_selector));
  }
  return listWithMetadata<Organization>(db, organizations, "organization", params, conditions, {
    created_at: organizations.createdAt, updated_at: organizations.updatedAt, name: organizations.name,
  });
}

const nameTaken = (name: string) => unprocessable(`Organization '${name}' already exists.`);

/** Inserts the organization, its metadata and the audit event in one batch; the unique index decides on the name. */
export async function createOrg(db: Db, who: Identity, input: OrgCreate): Promise<Organization> {
  const guid = crypto.randomUUID();
  const insert = db.insert(organizations).values({
    guid, name: input.name, suspended: input.suspended ?? false, createdAt: timestamp(),
    // Named here, not left to the trigger, so that RETURNING shows it.
    quotaGuid: sql`(SELECT ${organizationQuotas.guid} FROM ${organizationQuotas} WHERE ${organizationQuotas.isDefault} = 1)`,
  }).returning();
  const rest: Statement[] = [
    ...metadataCreateStatements(db, "organization", guid, input.metadata),
    auditEventInsert(db, {
      type: "audit.organization.create", actor: who, actee: { guid, type: "organization", name: input.name },
      organizationGuid: guid, data: { request: requestAudit(input) },
    }),
  ];
  try {
    const [[org]] = await db.batch([insert, ...rest]);
    return org!;
  } catch (err) {
    if (isUniqueViolation(err, "organizations.name")) throw nameTaken(input.name);
    throw err;
  }
}

/** Applies a PATCH (name, suspended, metadata) in one batch; null when the organization is gone. */
export async function updateOrg(db: Db, who: Identity, org: Organization, input: OrgUpdate): Promise<Organization | undefined> {
  const set: Partial<typeof organizations.$inferInsert> = {};
  if (input.name != null) set.name = input.name;
  if (input.suspended != null) set.suspended = input.suspended;
  const name = input.name;
  return updateWithAudit<Organization>(db, organizations, {
    resourceType: "organization", guid: org.guid, set, metadata: input.metadata,
    audit: {
      type: "audit.organization.update", actor: who, actee: { guid: org.guid, type: "organization", name: set.name ?? org.name },
      organizationGuid: org.guid, data: { request: requestAudit(input) },
    },
    ...(name != null ? { nameTaken: { index: "organizations.name", error: () => unprocessable(`Organization name '${name}' is already taken.`) } } : {}),
  });
}

/**
 * Deletes the organization and everything in it (spaces, apps, packages, roles, metadata) in one
 * batch, recording audit.organization.delete-request. Returns the R2 keys of the deleted packages'
 * bits, for the caller to delete after the records are gone.
 */
export async function deleteOrg(db: Db, who: Identity, org: Organization): Promise<string[]> {
  const orgSpaces = sql`SELECT ${spaces.guid} FROM ${spaces} WHERE ${spaces.organizationGuid} = ${org.guid}`;
  const purge = purgeAppsStatements(db, sql`SELECT guid FROM apps WHERE space_guid IN (${orgSpaces})`);
  const results = await db.batch([
    ...(purge.statements as [Statement, ...Statement[]]),
    db.delete(roles).where(sql`${roles.spaceGuid} IN (${orgSpaces})`),
    db.delete(roles).where(eq(roles.organizationGuid, org.guid)),
    ...metadataDeletesIn(db, "space", orgSpaces),
    db.delete(spaces).where(eq(spaces.organizationGuid, org.guid)),
    ...metadataDeleteStatements(db, "organization", org.guid),
    db.delete(organizations).where(eq(organizations.guid, org.guid)),
    auditEventInsert(db, {
      type: "audit.organization.delete-request", actor: who, actee: { guid: org.guid, type: "organization", name: org.name },
      organizationGuid: org.guid, data: { request: { recursive: true } },
    }),
  ]);
  return purge.bitsKeys(results);
}

/** What the audit event records of a request: the fields given (the reference's audit_hash). */
function requestAudit(input: OrgCreate | OrgUpdate): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined) out[k] = v;
  return out;
}

