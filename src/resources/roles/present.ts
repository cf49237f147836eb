import type { Role } from "../../db/schema";

/** The v3 role (RolePresenter). */
export function presentRole(role: Role) {
  const space = role.spaceGuid !== null;
  return {
    guid: role.guid,
    created_at: role.createdAt,
    updated_at: role.updatedAt,
    type: role.type,
    relationships: {
      user: { data: { guid: role.userGuid } },
      space: { data: space ? { guid: role.spaceGuid } : null },
      organization: { data: space ? null : { guid: role.organizationGuid } },
    },
    links: {
      self: { href: `/v3/roles/${role.guid}` },
      user: { href: `/v3/users/${encodeURIComponent(role.userGuid)}` },
      ...(space
        ? { space: { href: `/v3/spaces/${role.spaceGuid}` } }
        : { organization: { href: `/v3/organizations/${role.organizationGuid}` } }),
    },
  };
}
