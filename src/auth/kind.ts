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

type Kind = "user" | "client";

/**
 * Identities whose kind is known, per isolate. A known kind never changes (nothing here turns a user
 * row into a client's or back, and user rows are never deleted), so a repeat caller costs no query.
 */
const knownKinds = new Map<string, Kind>();
const MAX_KNOWN = 10_000;

function remember(guid: string, kind: Kind): void {
  if (knownKinds.size >= MAX_KNOWN) knownKinds.clear();
  knownKinds.set(guid, kind);
}

/** The token contradicts `known`: a client naming a user (or shadowing one), or a user naming a client. */
const contradicts = (who: Identity, known: Kind | undefined): boolean =>
  who.isClient ? known === "user" || (known === undefined && UUID.test(who.guid)) : known === "client";

/**
 * Throws 401 CF-InvalidAuthToken when the token contradicts what its identity is known to be, and
 * records the identity (and the kind of one not known yet). One round trip the first time an isolate
 * sees an identity; none after that.
 */
export async function assertIdentityKind(db: Db, who: Identity): Promise<void> {
  const cached = knownKinds.get(who.guid);
  if (cached !== undefined) {
    if (contradicts(who, cached)) throw new ApiError("InvalidAuthToken");
    return;
  }
  // Every caller has a record, as in the reference (a User is created for an unknown id): the insert
  // does nothing when there is one, and the read answers what it says, in one round trip.
  const [, rows] = await db.batch([
    db.insert(users).values({
      guid: who.guid, isOauthClient: who.isClient, username: who.userName, origin: who.isClient ? null : "uaa", createdAt: timestamp(),
    }).onConflictDoNothing({ target: users.guid }),
    db.select({ isOauthClient: users.isOauthClient, origin: users.origin }).from(users).where(eq(users.guid, who.guid)).limit(1),
  ]);
  const row = rows[0];
  if (row === undefined) return; // (not possible after the insert)
  const known: Kind | undefined = row.isOauthClient ? "client" : row.origin !== null ? "user" : undefined;
  // (A client whose id is shaped like a user's guid may not take over a row with that guid: the
  // reference asks its UAA whether such a user exists; a row here for that guid is a user's, or will be.)
  if (contradicts(who, known)) throw new ApiError("InvalidAuthToken");
  if (known !== undefined) return remember(who.guid, known);
  // Not known yet: this token decides, unless another request decided first (then look again).
  const claimed = await db.update(users).set(who.isClient
    ? { isOauthClient: true, updatedAt: timestamp() }
    : { origin: "uaa", username: sql`coalesce(${users.username}, ${who.userName})`, updatedAt: timestamp() })
    .where(and(eq(users.guid, who.guid), eq(users.isOauthClient, false), isNull(users.origin)))
    .returning({ guid: users.guid });
  if (claimed.length === 0) return assertIdentityKind(db, who);
  remember(who.guid, who.isClient ? "client" : "user");
}
