import type { User } from "../../db/schema";
import type { Metadata } from "../../metadata";

/** The v3 user (UserPresenter): username and origin as last seen in the user's token. */
export function presentUser(user: User, metadata: Metadata) {
  return {
    guid: user.guid,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
    username: user.username,
    presentation_name: user.username ?? user.guid,
    origin: user.origin,
    metadata,
    links: { self: { href: `/v3/users/${encodeURIComponent(user.guid)}` } },
  };
}
