// The bits of a copied package (POST /v3/packages?source_guid=): the new package is COPYING until
// its own object is written. The copy runs inside the request (an R2-to-R2 stream with a known length,
// nothing buffered), because work after the response is cut off after 30 seconds and a 1 GB copy may
// need longer; a request that dies midway leaves the package to the sweep.
import type { Db } from "../../db/client";
import type { Package } from "../../db/schema";
import { copyBits, deleteBits } from "../../bits/store";
import { markFailed, markReady } from "./store";
import { expirePackagesOfApp } from "./sweep";
import type { PoolMessage } from "../../pool/fill";

/** Copies the source's object to the copy's key and leaves the copy READY or FAILED ("failed to copy - ..."). */
export async function copyPackageBits(db: Db, bucket: R2Bucket, source: Package, copy: Package, pool: Queue<PoolMessage>): Promise<void> {
  const key = copy.bitsKey;
  if (key === null) return;
  let error: string;
  try {
    const copied = source.bitsKey === null ? null : await copyBits(bucket, source.bitsKey, key);
    if (copied !== null) {
      if (!(await markReady(db, copy.guid, "COPYING", key, copied, pool))) await deleteBits(bucket, key);
      else await expirePackagesOfApp(db, bucket, copy.appGuid);
      return;
    }
    error = "failed to copy - the source package has no bits";
  } catch (err) {
    console.error("package copy failed", source.guid, copy.guid, err instanceof Error ? err.message : String(err));
    error = "failed to copy - the bits could not be copied";
    await deleteBits(bucket, key).catch(() => undefined);
  }
  await markFailed(db, copy.guid, "COPYING", key, error);
}
