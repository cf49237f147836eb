import { and, eq, sql, type SQL } from "drizzle-orm";
import type { Identity } from "../../auth/token";
import { auditEventInsert } from "../../audit/events";
import { isForeignKeyViolation, isUniqueViolation, type Statement } from "../../db/batch";
import { firstRowOf, type Reads } from "../../db/reads";
import { type PageWithMetadata } from "../../metadata/store";
import { timestamp, type Db } from "../../db/client";
import { commonConditions, inList } from "../../db/lists";
import { roles, spaces, type Space } from "../../db/schema";
import { unprocessable } from "../../http/errors";
import type { ListParams } from "../../http/query";
import { labelSelectorCondition, metadataCreateStatements, metadataDeleteStatements } from "../../metadata";
import { purgeAppsStatements } from "../apps/store";
import { listWithMetadata, updateWithAudit } from "../records";
import type { SpaceCreate, SpaceUpdate } from "./schema";

export const findSpace = (db: Db, guid: string) => db.query.spaces.findFirst({ where: eq(spaces.guid, guid) });

/** The space, as reads for the caller's batch; `visible` (a condition on spaces columns) can hide it. */
export const spaceLookup = (db: Db, guid: string, visible?: SQL): Reads<Space | undefined> =>
  firstRowOf(db.select().from(spaces).where(and(eq(spaces.guid, guid), visible)));

/** A page with its metadata, as reads for the caller's batch. */
export function spaceList(db: Db, params: ListParams, visible: SQL | undefined): Reads<PageWithMetadata<Space>> {
  const conditions: (SQL | undefined)[] = [visible, ...commonConditions(params, spaces)];
  if (params.lists.names) conditions.push(inList(spaces.name, params.lists.names));
  if (params.lists.organization_guids) conditions.push(inList(spaces.organizationGuid, params.lists.organization_guids));
  if (params.values.label_selector !== undefined) conditions.push(labelSelectorCondition("space", spaces.guid, params.values.label_selector));
  return listWithMetadata<Space>(db, spaces, "space", params, conditions, {
    created_at: spaces.createdAt, updated_at: spaces.updatedAt, name: spaces.name,
  });
}

const nameTaken = () => unprocessable("Name must be unique per organization");
export const invalidOrganization = () => unprocessable("Invalid organization. Ensure the organization exists and you have access to it.");

/** Inserts the space, its metadata and audit.space.create in one batch; the database decides on name and organization. */
export async function createSpace(db: Db, who: Identity, input: SpaceCreate): Promise<Space> {
  const guid = crypto.randomUUID();
  const organizationGuid = input.relationships.organization;
  const insert = db.insert(spaces).values({ guid, name: input.name, organizationGuid, createdAt: timestamp() }).returning();
  const request: Record<string, unknown> = { name: input.name, relationships: { organization: { data: { guid: organizationGuid } } } };
  if (input.metadata) request.metadata = input.metadata;
  const rest: Statement[] = [
    ...metadataCreateStatements(db, "space", guid, input.metadata),
    auditEventInsert(db, {
      type: "audit.space.create", actor: who, actee: { guid, type: "space", name: input.name },
      spaceGuid: guid, organizationGuid, data: { request },
    }),
  ];
  try {
    const [[space]] = await db.batch([insert, ...rest]);
    return space!;
  } catch (err) {
    if (isUniqueViolation(err, "spaces.name")) throw nameTaken();
    if (isForeignKeyViolation(err)) throw invalidOrganization();
    throw err;
  }
}

/** Applies a PATCH (name, metadata) in one batch with audit.space.update; undefined when the space is gone. */
export async function updateSpace(db: Db, who: Identity, space: Space, input: SpaceUpdate): Promise<Space | undefined> {
  const set: Partial<typeof spaces.$inferInsert> = {};
  if (input.name != null) set.name = input.name;
  const request: Record<string, unknown> = {};
  if (input.name != null) request.name = input.name;
  if (input.metadata) request.metadata = input.metadata;
  return updateWithAudit<Space>(db, spaces, {
    resourceType: "space", guid: space.guid, set, metadata: input.metadata,
    audit: {
      type: "audit.space.update", actor: who, actee: { guid: space.guid, type: "space", name: set.name ?? space.name },
      spaceGuid: space.guid, organizationGuid: space.organizationGuid, data: { request },
    },
    ...(input.name != null ? { nameTaken: { index: "spaces.name", error: nameTaken } } : {}),
  });
}

/**
 * Deletes the space and everything in it (apps, packages, roles, metadata) in one batch with
 * audit.space.delete-request. Returns the R2 keys of the deleted packages' bits.
 */
export async function deleteSpace(db: Db, who: Identity, space: Space): Promise<string[]> {
  const purge = purgeAppsStatements(db, sql`SELECT guid FROM apps WHERE space_guid = ${space.guid}`);
  const results = await db.batch([
    ...(purge.statements as [Statement, ...Statement[]]),
    db.delete(roles).where(eq(roles.spaceGuid, space.guid)),
    ...metadataDeleteStatements(db, "space", space.guid),
    db.delete(spaces).where(eq(spaces.guid, space.guid)),
    auditEventInsert(db, {
      type: "audit.space.delete-request", actor: who, actee: { guid: space.guid, type: "space", name: space.name },
      spaceGuid: space.guid, organizationGuid: space.organizationGuid, data: { request: { recursive: true } },
    }),
  ]);
  return purge.bitsKeys(results);
}
