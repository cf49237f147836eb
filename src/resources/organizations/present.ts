import type { Organization } from "../../db/schema";
import type { Metadata } from "../../metadata";

/** The v3 organization (OrganizationPresenter). There are no quotas here: `quota.data` is null. */
export function presentOrganization(org: Organization, metadata: Metadata) {
  return {
    guid: org.guid,
    created_at: org.createdAt,
    updated_at: org.updatedAt,
    name: org.name,
    suspended: org.suspended,
    relationships: { quota: { data: null } },
    metadata,
    links: { self: { href: `/v3/organizations/${org.guid}` } },
  };
}
