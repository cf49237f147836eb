import { and, asc, count, eq, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { allOf, inList, orderBy, timestampCondition } from "../../db/lists";
import { auditEvents, type AuditEvent } from "../../db/schema";
import { pageWindow } from "../../http/pagination";
import type { ListParams } from "../../http/query";

// A plain select, not db.query: the relational builder aliases every column in the condition to its table.
export async function findAuditEvent(db: Db, guid: string, visible: SQL | undefined): Promise<AuditEvent | undefined> {
  const [event] = await db.select().from(auditEvents).where(and(eq(auditEvents.guid, guid), visible)).limit(1);
  return event;
}

/** Events never change: `updated_ats` filters and orders on created_at, as the reference's `timestamp`. */
export async function listAuditEvents(db: Db, params: ListParams, visible: SQL | undefined): Promise<{ total: number; rows: AuditEvent[] }> {
  const conditions: (SQL | undefined)[] = [visible];
  if (params.lists.guids) conditions.push(inList(auditEvents.guid, params.lists.guids));
  if (params.timestamps.created_ats) conditions.push(timestampCondition(auditEvents.createdAt, params.timestamps.created_ats));
  if (params.timestamps.updated_ats) conditions.push(timestampCondition(auditEvents.createdAt, params.timestamps.updated_ats));
  if (params.lists.types) conditions.push(inList(auditEvents.type, params.lists.types));
  if (params.lists.target_guids) conditions.push(inList(auditEvents.acteeGuid, params.lists.target_guids));
  if (params.lists.space_guids) conditions.push(inList(auditEvents.spaceGuid, params.lists.space_guids));
  if (params.lists.organization_guids) conditions.push(inList(auditEvents.organizationGuid, params.lists.organization_guids));
  const where = allOf(conditions);
  const { limit, offset } = pageWindow(params);
  const [[totals], rows] = await db.batch([
    db.select({ n: count() }).from(auditEvents).where(where),
    db.select().from(auditEvents).where(where)
      .orderBy(...orderBy(params, { created_at: auditEvents.createdAt, updated_at: auditEvents.createdAt }, auditEvents.id, [asc(auditEvents.id)]))
      .limit(limit).offset(offset),
  ]);
  return { total: totals?.n ?? 0, rows };
}
