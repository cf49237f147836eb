// How metadata appears in a v3 resource (the reference's MetadataPresentationHelpers): `"metadata":
// {"labels": {...}, "annotations": {...}}`, keys "prefix/name" or "name", both objects always present.
import type { Metadata } from "./types";

/** `{ labels: {}, annotations: {} }`, a fresh object each time. */
export const emptyMetadata = (): Metadata => ({ labels: {}, annotations: {} });

/**
 * The `metadata` object of one resource from what `loadMetadata` returned for a page of resources;
 * `{}`s when the guid has nothing (or was not loaded). Fresh objects, safe to hand to JSON.
 */
export function presentMetadata(loaded: ReadonlyMap<string, Metadata>, guid: string): Metadata {
  const m = loaded.get(guid);
  return { labels: { ...m?.labels }, annotations: { ...m?.annotations } };
}
