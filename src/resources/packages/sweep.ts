// Package housekeeping: expiry of old bits (the reference's lib/cloud_controller/bits_expiration.rb) and
// the scheduled sweep that ends what dead requests left half-done (src/housekeeping.ts runs it).
import { timestamp, type Db } from "../../db/client";
import { randomStart, sweepOrphanedBits } from "../../bits/orphans";
import { PACKAGES_PREFIX, partialKeyOf } from "../../bits/keys";
import { deleteBits } from "../../bits/store";
import { expiredWithBits, expireOldPackages, failStuck, forgetExpiredBits, referencedPackageBits, stuckPackages } from "./store";

/**
 * An upload or copy runs inside its request; one still PROCESSING_UPLOAD or COPYING this long after
 * it started lost its isolate. Generous, so that a slow 1.5 GB upload is not cut off.
 */
export const STUCK_PACKAGE_TIMEOUT_MS = 60 * 60 * 1000;

const UPLOAD_LOST = "The app upload is invalid: the upload did not complete (the request ended before the bits were stored)";
const COPY_LOST = "failed to copy - the copy did not complete";

/** Packages handled per sweep pass; the next run (every 5 minutes) takes the rest. */
const SWEEP_BATCH = 200;

/** Expires all but the newest READY/FAILED packages of an app, and deletes the expired ones' bits. */
export async function expirePackagesOfApp(db: Db, bucket: R2Bucket, appGuid: string): Promise<void> {
  const expired = await expireOldPackages(db, appGuid);
  await deleteExpiredBits(db, bucket, expired);
}

async function deleteExpiredBits(db: Db, bucket: R2Bucket, expired: readonly { guid: string; bitsKey: string | null }[]): Promise<void> {
  const withBits = expired.filter((p): p is { guid: string; bitsKey: string } => p.bitsKey !== null);
  if (withBits.length === 0) return;
  await deleteBits(bucket, withBits.map((p) => p.bitsKey));
  await forgetExpiredBits(db, withBits);
}

interface PackageSweepResult {
  /** Uploads and copies failed because their requests died. */
  failed: number;
  /** Expired packages whose bits were deleted now (an expiry that was interrupted). */
  expiredBitsDeleted: number;
  /** Objects no package names, deleted (see src/bits/orphans.ts). */
  orphansDeleted: number;
}

/**
 * Fails packages stuck in PROCESSING_UPLOAD or COPYING for longer than STUCK_PACKAGE_TIMEOUT_MS and
 * deletes what their requests may have written; finishes interrupted expiries; deletes objects that
 * no package names any more (deletes whose R2 calls failed), up to 5,000 keys per pass from
 * `orphansFrom` (a random place, so that passes cover a large bucket between them). Each failure is a
 * conditional update on the state and key the sweep saw, so a request that finishes at the same
 * moment wins or loses cleanly (a request that loses deletes its own object).
 */
export async function sweepPackages(db: Db, bucket: R2Bucket, now = Date.now(), orphansFrom = randomStart(PACKAGES_PREFIX)): Promise<PackageSweepResult> {
  const cutoff = timestamp(new Date(now - STUCK_PACKAGE_TIMEOUT_MS));
  const at = timestamp(new Date(now));
  let failed = 0;
  for (const stuck of await stuckPackages(db, cutoff, SWEEP_BATCH)) {
    const error = stuck.state === "COPYING" ? COPY_LOST : UPLOAD_LOST;
    if (!(await failStuck(db, stuck, error, at))) continue;
    failed++;
    // The partial key: where an upload whose bits were not the last part was being rewritten.
    if (stuck.bitsKey !== null) await deleteBits(bucket, [stuck.bitsKey, partialKeyOf(stuck.bitsKey)]);
  }
  const expired = await expiredWithBits(db, SWEEP_BATCH);
  await deleteExpiredBits(db, bucket, expired);
  // Last, so that what the steps above failed is no longer named when the orphans are looked for.
  const orphansDeleted = await sweepOrphanedBits(bucket, {
    prefix: PACKAGES_PREFIX,
    referenced: (keys) => referencedPackageBits(db, keys),
    now,
    startAfter: orphansFrom,
  });
  return { failed, expiredBitsDeleted: expired.length, orphansDeleted };
}
