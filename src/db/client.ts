// The database handle and the one timestamp format of the service.
import {
  createTableRelationsHelpers, extractTablesRelationalConfig, type ExtractTablesWithRelations, type RelationalSchemaConfig,
} from "drizzle-orm";
import { DrizzleD1Database, SQLiteD1Session } from "drizzle-orm/d1";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import * as schema from "./schema";

export type Db = DrizzleD1Database<typeof schema>;

/**
 * Drizzle's relational config for the schema, built once per isolate: building it reads the whole
 * schema, a cost every request paid when each made its handle with `drizzle(d1, { schema })`. A
 * request's handle is made per request (it wraps that request's D1 session) around this one config,
 * as drizzle-orm/d1's `drizzle()` builds it.
 */
const dialect = new SQLiteAsyncDialect();
type Tables = ExtractTablesWithRelations<typeof schema>;
const tables = extractTablesRelationalConfig<Tables>(schema, createTableRelationsHelpers);
const relational: RelationalSchemaConfig<Tables> = { fullSchema: schema, schema: tables.tables, tableNamesMap: tables.tableNamesMap };

/**
 * The handle for a D1 binding or one of its sessions (`DB.withSession(...)`). Drizzle's D1 session
 * uses only `prepare` and `batch`, which a D1 session has as the binding does.
 */
export function database(d1: D1Database | D1DatabaseSession): Db {
  const session = new SQLiteD1Session<typeof schema, Tables>(d1 as D1Database, dialect, relational, {});
  return new DrizzleD1Database<typeof schema>("async", dialect, session, relational);
}

/** ISO-8601 UTC with second precision and `Z`, as every timestamp the API shows. */
export const timestamp = (date: Date = new Date()): string => date.toISOString().replace(/\.\d{3}Z$/, "Z");
