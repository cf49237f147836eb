// HS256 tokens the bench's Worker accepts, as scripts/token.mjs signs them (TOKEN_SIGNING_SECRET,
// issuer UAA_ISSUER, audience cloud_controller).
import { randomBytes, randomUUID } from "node:crypto";
import { SignJWT } from "jose";

export const BENCH_ISSUER = "http://127.0.0.1:9/uaa/oauth/token";

export const newSecret = () => randomBytes(32).toString("hex");

export const SCOPES = {
  admin: ["cloud_controller.admin", "cloud_controller.read", "cloud_controller.write"],
  user: ["cloud_controller.read", "cloud_controller.write"],
};

export async function signToken(secret, { user = "bench-admin", scopes = SCOPES.admin, ttlSeconds = 3600 } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    user_id: user,
    sub: user,
    user_name: user,
    email: `${user}@localhost`,
    client_id: "cf",
    grant_type: "password",
    scope: scopes,
    aud: ["cloud_controller", ...new Set(scopes.map((s) => s.split(".")[0]))].filter((a, i, all) => all.indexOf(a) === i),
    jti: randomUUID().replace(/-/g, ""),
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(BENCH_ISSUER)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}
