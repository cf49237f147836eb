// What the organization, space and app stores share: a v3 list page with each row's metadata, and an
// update of name (and the like) with its metadata patch and its audit event in one batch.
import { asc, count, eq, type SQL, type SQLWrapper } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { auditEventInsert, type AuditEventInput } from "../audit/events";
import { isUniqueViolation } from "../db/batch";
import { timestamp, type Db } from "../db/client";
import { allOf, orderBy } from "../db/lists";
import type { Reads } from "../db/reads";
import { pageWindow } from "../http/pagination";
import type { ListParams } from "../http/query";
import { prepareMetadataPatch, type MetadataUpdate } from "../metadata";
import { metadataColumns, pageWithMetadata, type MetadataColumnValues, type PageWithMetadata } from "../metadata/store";
import type { MetadataResourceType } from "../metadata/types";

type RecordTable = SQLiteTable & { id: SQLiteColumn; guid: SQLiteColumn; createdAt: SQLiteColumn; updatedAt: SQLiteColumn };

/**
 * One page of `table` where all `conditions` hold, each row with its labels and annotations, and the
 * total: as reads for one round trip. `sortable` maps the list's order_by values to columns; ties and
 * the default order go by id.
 */
export function listWithMetadata<Row>(
  db: Db,
  table: RecordTable,
  resourceType: MetadataResourceType,
  params: ListParams,
  conditions: (SQL | undefined)[],
  sortable: Record<string, SQLWrapper>,
): Reads<PageWithMetadata<Row>> {
  const where = allOf(conditions);
  const { limit, offset } = pageWindow(params);
  const ordering = orderBy(params, sortable, table.id, [asc(table.id)]);
  return pageWithMetadata(
    db.select({ n: count() }).from(table).where(where),
    db.select({ row: table, ...metadataColumns(resourceType, table.guid) }).from(table).where(where).orderBy(...ordering).limit(limit).offset(offset),
    (r: { row: unknown } & MetadataColumnValues) => r.row as Row,
  );
}

export interface RecordUpdate {
  resourceType: MetadataResourceType;
  guid: string;
  /** The columns to change besides updated_at. */
  set: Record<string, unknown>;
  metadata: MetadataUpdate | undefined;
  audit: AuditEventInput;
  /** The unique index a new name may collide with, and the error that collision is (only when renaming). */
  nameTaken?: { index: string; error: () => Error };
}

/**
 * Updates one record (and updated_at), patches its metadata and writes its audit event in ONE batch.
 * The metadata patch is checked first, so its errors come before anything is written. Undefined when
 * the record is gone.
 */
export async function updateWithAudit<Row>(db: Db, table: RecordTable, update: RecordUpdate): Promise<Row | undefined> {
  const patch = await prepareMetadataPatch(db, update.resourceType, update.guid, update.metadata);
  const statement = db.update(table).set({ ...update.set, updatedAt: timestamp() }).where(eq(table.guid, update.guid)).returning();
  try {
    const [[updated]] = await db.batch([statement, ...patch.statements, auditEventInsert(db, update.audit)]).catch(patch.rethrow);
    return updated as Row | undefined;
  } catch (err) {
    if (update.nameTaken && isUniqueViolation(err, update.nameTaken.index)) throw update.nameTaken.error();
    throw err;
  }
}
