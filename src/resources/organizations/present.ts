import type { Organization } from "../../db/schema";
import type { Metadata } from "../../metadata";

/** The v3 organization (OrganizationPresenter); `quota` names its organization quota (the default one). */
export function presentOrganization(org: Organization, metadata: Metadata) {
  return {
    guid: org.guid,
    created_at: org.createdAt,
    updated_at: org.updatedAt,
    name: org.name,
    suspended: org.suspended,
    relationships: { quota: { data: org.quotaGuid === null ? null : { guid: org.quotaGuid } } },
    metadata,
    links: { self: { href: `/v3/organizations/${org.guid}` } },
  };
}
