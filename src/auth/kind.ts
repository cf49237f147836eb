// Users and clients are kept apart, as the reference's SecurityContextConfigurer
// (cloud_controller_ng `lib/cloud_controller/security/security_context_configurer.rb`): an identity
// known as a user cannot come back as a client, nor the reverse, and a client may not shadow a user.
//
// What a row says (users.is_oauth_client with the origin a user token writes):
// - a client: is_oauth_client = 1;
// - a user: is_oauth_client = 0 and an origin (a user token was seen);
// - not known yet: is_oauth_client = 0 and no origin (a row a role grant made). The first token decides,
//   as the reference's `set_is_oauth_client` does for its NULL.
import { and, eq, isNull, sql } from "drizzle-orm";
import { timestamp, type Db } from "../db/client";
import { users } from "../db/schema";
import { ApiError } from "../http/errors";
import type { Identity } from "./token";

const UUID = /^[\da-f]{8}-([\da-f]{4}-){3}[\da-f]{12}$/i;

/**
 * Throws 401 CF-InvalidAuthToken when the token contradicts what its identity is known to be, and
 * records the kind of an identity not known yet. One read per request; the record once per identity.
 */
export async function assertIdentityKind(db: Db, who: Identity): Promise<void> {
  const row = await db.select({ isOauthClient: users.isOauthClient, origin: users.origin }).from(users).where(eq(users.guid, who.guid)).get();
  if (row === undefined) return;
  // A client whose id is shaped like a user's guid may not take over a row with that guid (the
  // reference asks its UAA whether such a user exists; a row here for that guid is a user's, or will be).
  const shadowing = who.isClient && UUID.test(who.guid);
  const known = row.isOauthClient ? "client" : row.origin !== null ? "user" : undefined;
  if (who.isClient ? known === "user" || (shadowing && known !== "client") : known === "client") throw new ApiError("InvalidAuthToken");
  if (known !== undefined) return;
  // Not known yet: this token decides, unless another request decided first (then look again).
  const claimed = await db.update(users).set(who.isClient
    ? { isOauthClient: true, updatedAt: timestamp() }
    : { origin: "uaa", username: sql`coalesce(${users.username}, ${who.userName})`, updatedAt: timestamp() })
    .where(and(eq(users.guid, who.guid), eq(users.isOauthClient, false), isNull(users.origin)))
    .returning({ guid: users.guid });
  if (claimed.length === 0) await assertIdentityKind(db, who);
}
