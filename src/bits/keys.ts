// The R2 key layout, in one place: `packages/<package guid>/<uuid>` and `buildpacks/<buildpack guid>/<uuid>`.
// Every upload or copy gets a fresh uuid, so a new object never overwrites bits a record still names;
// `<key>.partial` is the object through which a put of the wrong expected length is rewritten.

export const PACKAGES_PREFIX = "packages/";
export const BUILDPACKS_PREFIX = "buildpacks/";

/** A fresh key `<segments joined by '/'>/<uuid>`. */
export function newBitsKey(...segments: string[]): string {
  return [...segments, crypto.randomUUID()].join("/");
}

export const newPackageBitsKey = (packageGuid: string): string => newBitsKey("packages", packageGuid);
export const newBuildpackBitsKey = (buildpackGuid: string): string => newBitsKey("buildpacks", buildpackGuid);

/** The package guid a package key names, or undefined for a key of another shape. */
export function packageGuidOfKey(key: string): string | undefined {
  const guid = key.split("/")[1];
  return guid === undefined || guid === "" ? undefined : guid;
}

/** Where putExpectedLength keeps the true bytes while it rewrites `key` (the package sweep deletes it with `key`; the buildpack sweep finds it under buildpacks/). */
export const partialKeyOf = (key: string): string => `${key}.partial`;
