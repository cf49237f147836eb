// The scheduled sweep (wrangler.toml [triggers]): ends what dead requests left half-done, keeps the
// resource pool filled and pruned, and deletes audit events past their retention.
import type { Bindings } from "./env";
import { deleteOldAuditEvents, retentionDays } from "./audit/retention";
import { database } from "./db/client";
import { failLostJobs } from "./jobs/jobs";
import { sweepPackages } from "./resources/packages/sweep";
import { reencryptDockerPasswords } from "./resources/packages/store";
import { encryptionKeys } from "./db/encryption";
import { sweepBuildpackBits } from "./resources/buildpacks/upload";
import { sweepPool } from "./pool/sweep";

export async function housekeeping(env: Bindings, now = Date.now()): Promise<void> {
  const db = database(env.DB);
  await failLostJobs(db, now);
  await sweepPackages(db, env.BITS, now);
  await sweepBuildpackBits(db, env.BITS, now);
  await sweepPool(db, env, now);
  await deleteOldAuditEvents(db, retentionDays(env.AUDIT_EVENTS_RETENTION_DAYS), now);
  await rotateDockerPasswords(env);
}

/** Passwords under an old key (or stored before encryption) move to the current key, a batch per run. */
async function rotateDockerPasswords(env: Bindings): Promise<void> {
  let keys;
  try {
    keys = await encryptionKeys(env);
  } catch (err) {
    console.error("database encryption:", err instanceof Error ? err.message : String(err));
    return;
  }
  if (keys !== undefined) await reencryptDockerPasswords(database(env.DB), keys);
}
