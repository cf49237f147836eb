// HS256 development tokens as the Worker accepts them when TOKEN_SIGNING_SECRET is set (local
// development and previews): signed with that secret, issued by `{UAA_URL}/oauth/token` unless
// UAA_ISSUER says otherwise, for the audience TOKEN_AUDIENCE. Used by `npm run token` and `npm run smoke`.
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";

export const ADMIN_SCOPES = ["cloud_controller.admin", "cloud_controller.read", "cloud_controller.write"];

/** The issuer the Worker expects of an HS256 token, from its UAA_URL. */
export const devIssuer = (uaaUrl) => `${String(uaaUrl ?? "").replace(/\/+$/, "")}/oauth/token`;

/**
 * A signed token: a user's (password grant) unless only `client` is given (client_credentials).
 * `scopes` also name the audiences, as UAA does.
 */
export async function signDevToken({ secret, issuer, audience = "cloud_controller", scopes = ADMIN_SCOPES, user, client, ttlSeconds = 3600 }) {
  const now = Math.floor(Date.now() / 1000);
  const claims = client && !user
    ? { client_id: client, sub: client, cid: client, grant_type: "client_credentials" }
    : {
        user_id: user ?? "local-admin",
        sub: user ?? "local-admin",
        user_name: user ?? "local-admin",
        email: `${user ?? "local-admin"}@localhost`,
        client_id: client ?? "cf",
        grant_type: "password",
      };
  return new SignJWT({ ...claims, scope: scopes, aud: [audience, ...scopes.map((s) => s.split(".")[0]).filter((a) => a !== audience)], jti: randomUUID().replace(/-/g, "") })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}
