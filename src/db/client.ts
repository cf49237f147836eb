// The database handle and the one timestamp format of the service.
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = DrizzleD1Database<typeof schema>;

/**
 * The handle for a D1 binding, made once per binding and isolate: building it reads the whole schema
 * (Drizzle's relational config), a cost every request paid before.
 */
const handles = new WeakMap<D1Database, Db>();
export function database(d1: D1Database): Db {
  let db = handles.get(d1);
  if (db === undefined) {
    db = drizzle(d1, { schema });
    handles.set(d1, db);
  }
  return db;
}

/** ISO-8601 UTC with second precision and `Z`, as every timestamp the API shows. */
export const timestamp = (date: Date = new Date()): string => date.toISOString().replace(/\.\d{3}Z$/, "Z");
