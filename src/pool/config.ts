// The resource pool's settings, from vars (wrangler.toml [vars]; README, configuration).
import type { Bindings } from "../env";

export interface PoolSettings {
  /** "organization": each organization pools its own files (default); "global": one pool, as the reference. */
  scope: "organization" | "global";
  /** Files are pooled and matched only if minSize < size < maxSize (the reference's resource_pool bounds). */
  minSize: number;
  maxSize: number;
  /** Entries not used (pooled, matched into a package) for this many days are pruned by the sweep. */
  maxIdleDays: number;
}

/** capi-release's defaults for resource_pool.minimum_size and maximum_size. */
export const DEFAULT_MIN_SIZE = 65536;
export const DEFAULT_MAX_SIZE = 536870912;
/** See README, "Resource matching": a little over a month covers monthly release cycles. */
export const DEFAULT_MAX_IDLE_DAYS = 35;

function nonNegative(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : fallback;
}

export function poolSettings(env: Bindings): PoolSettings {
  return {
    // Anything but "global" keeps the pool per organization: a typo must not open it across tenants.
    scope: env.RESOURCE_POOL_SCOPE?.trim().toLowerCase() === "global" ? "global" : "organization",
    minSize: nonNegative(env.RESOURCE_MIN_SIZE, DEFAULT_MIN_SIZE),
    maxSize: nonNegative(env.RESOURCE_MAX_SIZE, DEFAULT_MAX_SIZE),
    maxIdleDays: nonNegative(env.RESOURCE_POOL_MAX_IDLE_DAYS, DEFAULT_MAX_IDLE_DAYS),
  };
}

/** Whether a file of this size is pooled and can match (both bounds strict, lib/cloud_controller/resource_pool.rb `size_allowed?`). */
export const sizeEligible = (settings: PoolSettings, size: number): boolean => size > settings.minSize && size < settings.maxSize;
