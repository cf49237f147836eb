// How a buildpack looks to clients: the v2 seed's metadata + entity (with stack and lifecycle), and
// the v3 reference shape (app/presenters/v3/buildpack_presenter.rb). Links and metadata.url are relative
// (the contract).
import type { Buildpack } from "../../db/schema";
import type { Metadata } from "../../metadata";

/**
 * v2 (seed `v2-retrieve-a-buildpack.rst`; the reference's Buildpack model export_attributes): entity keys
 * in the reference's order.
 */
export function presentV2(bp: Buildpack) {
  return {
    metadata: {
      guid: bp.guid,
      url: `/v2/buildpacks/${bp.guid}`,
      created_at: bp.createdAt,
      updated_at: bp.updatedAt,
    },
    entity: {
      name: bp.name,
      stack: bp.stack,
      position: bp.position,
      enabled: bp.enabled,
      locked: bp.locked,
      filename: bp.filename,
      lifecycle: bp.lifecycle,
    },
  };
}

/** `READY` once bits are uploaded, else `AWAITING_UPLOAD`. */
const stateOf = (bp: Buildpack) => (bp.filename ? "READY" : "AWAITING_UPLOAD");

export function presentV3(bp: Buildpack, metadata: Metadata) {
  return {
    guid: bp.guid,
    created_at: bp.createdAt,
    updated_at: bp.updatedAt,
    name: bp.name,
    stack: bp.stack,
    state: stateOf(bp),
    lifecycle: bp.lifecycle,
    filename: bp.filename,
    position: bp.position,
    enabled: bp.enabled,
    locked: bp.locked,
    metadata,
    links: {
      self: { href: `/v3/buildpacks/${bp.guid}` },
      upload: { href: `/v3/buildpacks/${bp.guid}/upload`, method: "POST" },
    },
  };
}
