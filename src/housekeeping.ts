// The scheduled sweep (wrangler.toml [triggers]): ends what dead requests left half-done, and deletes
// audit events past their retention.
import type { Bindings } from "./env";
import { deleteOldAuditEvents, retentionDays } from "./audit/retention";
import { database } from "./db/client";
import { failLostJobs } from "./jobs/jobs";
import { sweepPackages } from "./resources/packages/sweep";
import { sweepBuildpackBits } from "./resources/buildpacks/upload";

export async function housekeeping(env: Bindings, now = Date.now()): Promise<void> {
  const db = database(env.DB);
  await failLostJobs(db, now);
  await sweepPackages(db, env.BITS, now);
  await sweepBuildpackBits(db, env.BITS, now);
  await deleteOldAuditEvents(db, retentionDays(env.AUDIT_EVENTS_RETENTION_DAYS), now);
}
