// Who is asking: the middleware that authenticates a route and checks its scope, before any
// body is read or any record is looked up (the reference's before_action order).
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../http/errors";
import { isV2 } from "../http/respond";
import { developmentSecret, verifyAuthorization, type Identity } from "./token";
import { assertIdentityKind } from "./kind";
import { READ_SCOPES, WRITE_SCOPES } from "./permissions";

type Access = "read" | "write";

/**
 * Authenticates the request and requires the scopes for `access`. A token that lacks them gets
 * 403: CF-NotAuthorized on v3, CF-InsufficientScope on v2 (the v2 token check).
 */
export function authenticated(access: Access): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const identity = await verifiedCaller(c);
    await assertIdentityKind(c.get("db"), identity);
    c.set("identity", identity);
    const needed = access === "read" ? READ_SCOPES : WRITE_SCOPES;
    if (!needed.some((s) => identity.scopes.has(s))) {
      throw new ApiError(isV2(c.req.path) ? "InsufficientScope" : "NotAuthorized");
    }
    await next();
  };
}

export const read = authenticated("read");
export const write = authenticated("write");

/**
 * The request's Authorization header verified, once per request: the rate limiter asks before the
 * route's auth middleware does, and both get the same answer (an identity or the same ApiError).
 */
export function verifiedCaller(c: Context<AppEnv>): Promise<Identity> {
  let verification = c.get("verification");
  if (verification === undefined) {
    verification = verifyAuthorization(c.req.header("Authorization"), {
      uaaUrl: c.env.UAA_URL,
      issuer: c.env.UAA_ISSUER || undefined,
      audience: c.env.TOKEN_AUDIENCE || "cloud_controller",
      signingSecret: developmentSecret(c.env.TOKEN_SIGNING_SECRET, c.env.DEPLOYMENT_ENVIRONMENT),
    });
    c.set("verification", verification);
  }
  return verification;
}

/** The identity of an authenticated request. */
export function identityOf(c: Context<AppEnv>): Identity {
  return c.get("identity");
}
