// Audit event retention: the one table that grows with every request that changes something. As the
// reference's `audit_events` cleanup (cloud_controller_ng app/jobs/runtime/events_cleanup.rb,
// EventsCleanup through lib/database/old_record_cleanup.rb; `audit_events.cutoff_age_in_days`, 31 by
// default), events older than the cutoff are deleted; here by the scheduled sweep, a bounded number
// of rows per run so that one run stays far inside D1's per-query time and the Worker's CPU limit.
import { sql } from "drizzle-orm";
import { timestamp, type Db } from "../db/client";

const DEFAULT_RETENTION_DAYS = 31;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Rows per DELETE statement, and statements per run: at most 5,000 events a run (every 5 minutes). */
export const RETENTION_CHUNK = 1_000;
export const RETENTION_CHUNKS_PER_RUN = 5;

/** AUDIT_EVENTS_RETENTION_DAYS: a positive whole number of days; anything else is the default. */
export function retentionDays(configured: string | undefined): number {
  const n = Number(configured);
  return configured !== undefined && configured.trim() !== "" && Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_RETENTION_DAYS;
}

export interface RetentionBounds {
  chunk?: number;
  chunksPerRun?: number;
}

/**
 * Deletes audit events created before `now - days`, oldest first, in statements of `chunk` rows, at
 * most `chunksPerRun` of them; returns how many went. The next run takes what is left. Each statement
 * walks `audit_events_created_at_idx` (created_at, id) from its start, so it reads only what it deletes.
 */
export async function deleteOldAuditEvents(db: Db, days: number, now = Date.now(), bounds: RetentionBounds = {}): Promise<number> {
  const chunk = bounds.chunk ?? RETENTION_CHUNK;
  const chunks = bounds.chunksPerRun ?? RETENTION_CHUNKS_PER_RUN;
  const cutoff = timestamp(new Date(now - days * DAY_MS));
  let deleted = 0;
  for (let i = 0; i < chunks; i++) {
    const result = await db.run(sql`DELETE FROM audit_events WHERE id IN (
      SELECT id FROM audit_events WHERE created_at < ${cutoff} ORDER BY created_at, id LIMIT ${chunk})`);
    const changed = result.meta.changes ?? 0;
    deleted += changed;
    if (changed < chunk) break;
  }
  return deleted;
}
