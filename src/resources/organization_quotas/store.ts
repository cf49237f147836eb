import { and, asc, count, eq, sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { firstRowOf, mapReads, type Reads } from "../../db/reads";
import { organizationQuotas, organizations, type OrganizationQuota } from "../../db/schema";
import { pageWindow } from "../../http/pagination";
import { allOf, commonConditions, inList, orderBy } from "../../db/lists";
import type { ListParams } from "../../http/query";

// Qualified by hand: drizzle writes a single-table query's columns unqualified, and inside a subquery
// on organizations a bare "guid" would be the organization's.
const OUTER_GUID = sql.raw(`"organization_quotas"."guid"`);

/**
 * The guids of the organizations using the quota that `visible` (a condition on organizations.guid)
 * lets the caller see, as a JSON array column of the quota's row.
 */
const organizationGuidsColumn = (visible: SQL | undefined) =>
  sql<string>`(SELECT json_group_array(${organizations.guid} ORDER BY ${organizations.id}) FROM ${organizations}
    WHERE ${organizations.quotaGuid} = ${OUTER_GUID}${visible ? sql` AND ${visible}` : sql``})`.as("organization_guids");

type Row = { quota: OrganizationQuota; organizationGuids: string };
const withOrganizations = (r: Row): QuotaWithOrganizations => ({ quota: r.quota, organizationGuids: JSON.parse(r.organizationGuids) as string[] });

/** A page of quotas with their visible organizations, as reads for the caller's batch. */
interface QuotaWithOrganizations {
  quota: OrganizationQuota;
  organizationGuids: string[];
}

export function organizationQuotaList(db: Db, params: ListParams, visible: SQL | undefined): Reads<{ total: number; rows: QuotaWithOrganizations[] }> {
  const conditions: (SQL | undefined)[] = commonConditions(params, organizationQuotas);
  if (params.lists.names) conditions.push(inList(organizationQuotas.name, params.lists.names));
  if (params.lists.organization_guids) {
    const named = and(inList(organizations.guid, params.lists.organization_guids), visible);
    conditions.push(sql`${organizationQuotas.guid} IN (SELECT ${organizations.quotaGuid} FROM ${organizations} WHERE ${named})`);
  }
  const where = allOf(conditions);
  const { limit, offset } = pageWindow(params);
  const ordering = orderBy(params, { created_at: organizationQuotas.createdAt, updated_at: organizationQuotas.updatedAt, name: organizationQuotas.name }, organizationQuotas.id, [asc(organizationQuotas.id)]);
  const page = db.select({ quota: organizationQuotas, organizationGuids: organizationGuidsColumn(visible) })
    .from(organizationQuotas).where(where).orderBy(...ordering).limit(limit).offset(offset);
  return {
    statements: [db.select({ n: count() }).from(organizationQuotas).where(where), page],
    read: (results) => ({
      total: (results[0] as { n: number }[])[0]?.n ?? 0,
      rows: (results[1] as Row[]).map(withOrganizations),
    }),
  };
}

/** One quota with its visible organizations, as reads for the caller's batch. */
export function organizationQuotaLookup(db: Db, guid: string, visible: SQL | undefined): Reads<QuotaWithOrganizations | undefined> {
  const statement = db.select({ quota: organizationQuotas, organizationGuids: organizationGuidsColumn(visible) })
    .from(organizationQuotas).where(eq(organizationQuotas.guid, guid));
  return mapReads(firstRowOf(statement), (r) => r && withOrganizations(r));
}
