// The package object as clients read it: the seed's shape (v3-get-a-package.md) with the contract's
// additions (`data.checksum`, `relationships`, `metadata`). Links are relative paths, as in the seed.
import type { Package } from "../../db/schema";
import type { Metadata } from "../../metadata/types";

const EMPTY_METADATA: Metadata = { labels: {}, annotations: {} };

function bitsData(pkg: Package) {
  return {
    // Old clients read `hash` (the seed), new ones `checksum`.
    hash: { type: "sha1", value: pkg.sha1 },
    checksum: { type: "sha256", value: pkg.sha256 },
    error: pkg.error,
  };
}

function dockerData(pkg: Package) {
  return {
    image: pkg.dockerImage,
    username: pkg.dockerUsername,
    // The password is never shown; "***" says that one is set, and only when a username is.
    password: pkg.dockerUsername === null ? null : "***",
  };
}

function links(pkg: Package) {
  const self = `/v3/packages/${pkg.guid}`;
  const stage = { href: `${self}/droplets`, method: "POST" };
  const app = { href: `/v3/apps/${pkg.appGuid}` };
  if (pkg.type === "docker") return { self: { href: self }, stage, app };
  return {
    self: { href: self },
    upload: { href: `${self}/upload`, method: "POST" },
    download: { href: `${self}/download`, method: "GET" },
    stage,
    app,
  };
}

export function presentPackage(pkg: Package, metadata: Metadata = EMPTY_METADATA) {
  return {
    guid: pkg.guid,
    type: pkg.type,
    data: pkg.type === "docker" ? dockerData(pkg) : bitsData(pkg),
    state: pkg.state,
    created_at: pkg.createdAt,
    updated_at: pkg.updatedAt,
    relationships: { app: { data: { guid: pkg.appGuid } } },
    metadata,
    links: links(pkg),
  };
}
