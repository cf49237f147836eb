// Headers on every response, errors included: the request id, the security headers the reference
// sends, X-Runtime, X-USER-GUID once the token is known, and the B3 trace ids echoed back.
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";

const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "SAMEORIGIN",
  "X-XSS-Protection": "1; mode=block",
};

/** The client's id (X-VCAP-Request-ID, else X-Request-ID) cleaned, then "::" and a new uuid. */
function requestIdFrom(headers: Headers): string {
  const own = crypto.randomUUID();
  const given = headers.get("X-VCAP-Request-ID") ?? headers.get("X-Request-ID");
  if (!given) return own;
  const cleaned = given.replace(/[^A-Za-z0-9_-]/g, "").slice(0, 255);
  return cleaned ? `${cleaned}::${own}` : own;
}

export const standardHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = performance.now();
  const requestId = requestIdFrom(c.req.raw.headers);
  c.set("requestId", requestId);

  await next();

  // Every response of ours is built with mutable headers (never Response.redirect or a fetched one).
  const headers = c.res.headers;
  headers.set("X-VCAP-Request-ID", requestId);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value);
  headers.set("X-Runtime", ((performance.now() - started) / 1000).toFixed(6));
  const identity = c.get("identity");
  if (identity) headers.set("X-USER-GUID", identity.guid);
  const traceId = c.req.header("X-B3-TraceId");
  const spanId = c.req.header("X-B3-SpanId");
  if (traceId && spanId) {
    headers.set("X-B3-TraceId", traceId);
    headers.set("X-B3-SpanId", spanId);
  }
};
