// The scheduled sweep (wrangler.toml [triggers]): ends what dead requests left half-done.
import type { Bindings } from "./env";
import { database } from "./db/client";
import { failLostJobs } from "./jobs/jobs";

export async function housekeeping(env: Bindings, now = Date.now()): Promise<void> {
  const db = database(env.DB);
  await failLostJobs(db, now);
}
