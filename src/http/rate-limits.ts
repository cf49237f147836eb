// Rate limits as the reference's (cloud_controller_ng middleware/rate_limiter.rb, RateLimiter):
// counted per user for a valid token, else per client address; admins and admin_read_only exempt,
// and the discovery endpoints; over the limit 429 CF-RateLimitExceeded (10013), or
// CF-IPBasedRateLimitExceeded (10014) without a valid token, with Retry-After, in the API's envelope.
// The counting is the Workers rate-limiting binding's (one per kind of caller, limits in
// wrangler.toml); without a binding that kind of caller is not limited. No D1 query: the token is
// verified once per request and the route's auth middleware reuses the verdict.
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { verifiedCaller } from "../auth/context";
import { isReadAgain } from "../db/session";
import { isAdmin, scopes } from "../auth/permissions";
import type { Identity } from "../auth/token";
import { ApiError, renderError } from "./errors";

/** RateLimiter#root_api?: what `cf api` reads before it has a token. */
const EXEMPT_PATHS = new Set(["/", "/v3", "/v2/info"]);

/** The longest period the binding allows: a Retry-After never too short when the var is unset. */
const DEFAULT_PERIOD_SECONDS = 60;

const exempt = (who: Identity): boolean => isAdmin(who) || who.scopes.has(scopes.adminReadOnly);

export const rateLimits: MiddlewareHandler<AppEnv> = async (c, next) => {
  // A read asked again on the primary (db/session.ts) was counted when it was first asked.
  if (EXEMPT_PATHS.has(c.req.path) || isReadAgain(c.req.raw)) return next();
  const usersLimiter: RateLimit | undefined = c.env.RATE_LIMITER;
  const addressLimiter: RateLimit | undefined = c.env.RATE_LIMITER_UNAUTHENTICATED;
  if (usersLimiter === undefined && addressLimiter === undefined) return next();

  // An absent or invalid token counts against the address; the route answers 401 as it would.
  const who = c.req.header("Authorization") === undefined ? null : await verifiedCaller(c).catch(() => null);
  if (who !== null && exempt(who)) return next();
  const limiter = who === null ? addressLimiter : usersLimiter;
  if (limiter === undefined) return next();

  const key = who === null ? `address:${c.req.header("CF-Connecting-IP") ?? "unknown"}` : `user:${who.guid}`;
  const { success } = await limiter.limit({ key });
  if (success) return next();

  if (who !== null) c.set("identity", who);
  const res = renderError(c, new ApiError(who === null ? "IPBasedRateLimitExceeded" : "RateLimitExceeded"));
  res.headers.set("Retry-After", String(periodSeconds(c.env.RATE_LIMIT_PERIOD_SECONDS)));
  return res;
};

function periodSeconds(value: string | undefined): number {
  return value === "10" || value === "60" ? Number(value) : DEFAULT_PERIOD_SECONDS;
}
