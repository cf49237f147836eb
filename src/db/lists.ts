// The SQL of v3 list filters and orders: `IN` over one bound JSON value, timestamp comparisons, the
// filters every list has (guids, created_ats, updated_ats) and order_by with its tie-break.
import { and, asc, desc, gt, gte, lt, lte, sql, type SQL, type SQLWrapper } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

export type TimestampFilter =
  | { op: "eq"; values: string[] }
  | { op: "lt" | "lte" | "gt" | "gte"; value: string };

/** What a parsed list query asks of the SQL (http/query.ts parses it). */
export interface ListFilters {
  /** The client's order_by, if any. */
  orderBy: { field: string; direction: "asc" | "desc" } | null;
  /** Comma lists, split at commas (and the spaces after them), unescaped. */
  lists: Record<string, string[]>;
  timestamps: Partial<Record<"created_ats" | "updated_ats", TimestampFilter>>;
}

/** The SQL for a timestamp filter; stored timestamps have second precision, so comparisons are exact. */
export function timestampCondition(column: SQLWrapper, filter: TimestampFilter): SQL | undefined {
  switch (filter.op) {
    // One bound JSON list, not an OR chain: 95 timestamps would pass SQLite's expression depth of 100.
    case "eq": return inList(column, filter.values);
    case "lt": return lt(column, filter.value);
    case "lte": return lte(column, filter.value);
    case "gt": return gt(column, filter.value);
    case "gte": return gte(column, filter.value);
  }
}

/**
 * `column IN (values)` binding ONE parameter (a JSON array unpacked by json_each), so a filter of any
 * length stays within D1's 100 bound parameters per statement.
 */
export function inList(column: SQLWrapper, values: readonly string[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;
}

/** The common filters of every v3 list: guids and the two timestamp filters. */
export function commonConditions(
  params: ListFilters,
  table: { guid: SQLiteColumn; createdAt: SQLiteColumn; updatedAt: SQLiteColumn },
): SQL[] {
  const conditions: (SQL | undefined)[] = [];
  if (params.lists.guids) conditions.push(inList(table.guid, params.lists.guids));
  if (params.timestamps.created_ats) conditions.push(timestampCondition(table.createdAt, params.timestamps.created_ats));
  if (params.timestamps.updated_ats) conditions.push(timestampCondition(table.updatedAt, params.timestamps.updated_ats));
  return conditions.filter((c): c is SQL => c !== undefined);
}

/**
 * ORDER BY for a list: the client's order_by on one of `columns`, then the secondary key in the
 * same direction; else the default order.
 */
export function orderBy(
  params: ListFilters,
  columns: Record<string, SQLWrapper>,
  tieBreak: SQLiteColumn,
  defaultOrder: SQL[],
): SQL[] {
  if (!params.orderBy) return defaultOrder;
  const column = columns[params.orderBy.field];
  if (!column) return defaultOrder;
  const dir = params.orderBy.direction === "desc" ? desc : asc;
  return [dir(column), dir(tieBreak)];
}

/** AND of the given conditions, or undefined when there are none. */
export const allOf = (conditions: (SQL | undefined)[]): SQL | undefined => and(...conditions.filter(Boolean));
