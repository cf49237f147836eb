import type { Space } from "../../db/schema";
import type { Metadata } from "../../metadata";

/** The v3 space (SpacePresenter). No space quotas or space suspension here. */
export function presentSpace(space: Space, metadata: Metadata) {
  return {
    guid: space.guid,
    created_at: space.createdAt,
    updated_at: space.updatedAt,
    name: space.name,
    suspended: false,
    relationships: {
      organization: { data: { guid: space.organizationGuid } },
      quota: { data: null },
    },
    metadata,
    links: {
      self: { href: `/v3/spaces/${space.guid}` },
      organization: { href: `/v3/organizations/${space.organizationGuid}` },
    },
  };
}
