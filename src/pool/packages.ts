// What the pool reads and writes of packages: the package to pool (with its organization), the
// pooled_at marker, and the READY packages whose pooling message was lost (src/db/schema.ts
// packages_unpooled_idx keeps that lookup on the few rows it concerns).
import { and, eq, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { apps, packages, spaces } from "../db/schema";

export interface PackageToPool {
  guid: string;
  state: string;
  bitsKey: string | null;
  organizationGuid: string;
  pooledAt: string | null;
}

/** The package with its organization; undefined when it is gone. */
export async function packageToPool(db: Db, guid: string): Promise<PackageToPool | undefined> {
  const [row] = await db
    .select({ guid: packages.guid, state: packages.state, bitsKey: packages.bitsKey, organizationGuid: spaces.organizationGuid, pooledAt: packages.pooledAt })
    .from(packages)
    .innerJoin(apps, eq(apps.guid, packages.appGuid))
    .innerJoin(spaces, eq(spaces.guid, apps.spaceGuid))
    .where(eq(packages.guid, guid));
  return row;
}

/** The package's files are in the pool (or it had none to give); updated_at stays as it is: nothing a client sees changed. */
export async function markPooled(db: Db, guid: string, now: string): Promise<void> {
  await db.update(packages).set({ pooledAt: now }).where(and(eq(packages.guid, guid), isNull(packages.pooledAt)));
}

/** READY bits packages not pooled, READY since before `cutoff` (a timestamp): their message was lost. */
export const unpooledPackages = (db: Db, cutoff: string, limit: number) =>
  db.select({ guid: packages.guid }).from(packages)
    .where(and(sql`${packages.state} = 'READY' AND ${packages.type} = 'bits' AND ${packages.pooledAt} IS NULL`, lt(packages.updatedAt, cutoff)))
    .orderBy(packages.updatedAt)
    .limit(limit);
