// The database handle and the one timestamp format of the service.
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = DrizzleD1Database<typeof schema>;

export const database = (d1: D1Database): Db => drizzle(d1, { schema });

/** ISO-8601 UTC with second precision and `Z`, as every timestamp the API shows. */
export const timestamp = (date: Date = new Date()): string => date.toISOString().replace(/\.\d{3}Z$/, "Z");
