// Rate limits as the reference's (cloud_controller_ng middleware/rate_limiter.rb): per user, per
// client address without a valid token; admins and discovery exempt; 429 with Retry-After in the
// API's envelope. The test bindings allow 3 requests a minute (vitest.config.ts); the Worker's own
// bindings allow far more, so the rest of the suite is never limited.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callWith, jsonOf, type RequestOptions } from "../helpers/api";
import { adminAuth, bearer, SCOPES } from "../helpers/tokens";

const LIMIT = 3;
const LOW = { RATE_LIMITER: env.TEST_RATE_LIMITER_LOW, RATE_LIMITER_UNAUTHENTICATED: env.TEST_RATE_LIMITER_UNAUTHENTICATED_LOW };

const send = (path: string, options: RequestOptions = {}, method = "GET") => callWith(LOW, method, path, options);
const user = (name = `user-${crypto.randomUUID()}`) => bearer({ user: name, scopes: SCOPES.user });
/** A client address no other test uses (documentation prefix 2001:db8::/32). */
const address = () => `2001:db8::${crypto.randomUUID().slice(0, 4)}:${crypto.randomUUID().slice(0, 4)}`;

/**
 * Sends until the first 429 and returns the statuses. The binding's windows roll over on the clock,
 * so a burst may straddle two: then the 429 comes later, but never before LIMIT successes.
 */
async function burst(send1: () => Promise<Response>): Promise<{ statuses: number[]; limited: Response | undefined }> {
  const statuses: number[] = [];
  for (let i = 0; i < 2 * LIMIT + 2; i++) {
    const res = await send1();
    statuses.push(res.status);
    if (res.status === 429) return { statuses, limited: res };
    await res.arrayBuffer();
  }
  return { statuses, limited: undefined };
}

function expectLimitedAfter(statuses: number[]) {
  expect(statuses.at(-1)).toBe(429);
  expect(statuses.length).toBeGreaterThan(LIMIT);
  expect(statuses.slice(0, -1).every((s) => s !== 429)).toBe(true);
}

describe("over the limit", () => {
  it("a user: 429 CF-RateLimitExceeded (10013) in the v3 envelope, with Retry-After", async () => {
    const auth = await user();
    const { statuses, limited } = await burst(() => send("/v3/organizations", { auth }));
    expectLimitedAfter(statuses);
    expect(limited!.headers.get("Retry-After")).toBe("60");
    expect(limited!.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
    expect(limited!.headers.get("X-VCAP-Request-ID")).toBeTruthy();
    expect(await jsonOf(limited!)).toEqual({ errors: [{ detail: "Rate Limit Exceeded", title: "CF-RateLimitExceeded", code: 10013 }] });
  });

  it("a user under /v2: the v2 envelope", async () => {
    const auth = await user();
    const { statuses, limited } = await burst(() => send("/v2/buildpacks", { auth }));
    expectLimitedAfter(statuses);
    expect(limited!.headers.get("Retry-After")).toBe("60");
    expect(await limited!.text()).toBe(`${JSON.stringify({ description: "Rate Limit Exceeded", error_code: "CF-RateLimitExceeded", code: 10013 })}\n`);
  });

  it("Retry-After follows RATE_LIMIT_PERIOD_SECONDS (the bindings' period)", async () => {
    const auth = await user();
    let last: Response | undefined;
    for (let i = 0; i < 2 * LIMIT + 2 && last?.status !== 429; i++) {
      last = await callWith({ ...LOW, RATE_LIMIT_PERIOD_SECONDS: "10" }, "GET", "/v3/organizations", { auth });
    }
    expect(last!.status).toBe(429);
    expect(last!.headers.get("Retry-After")).toBe("10");
  });

  it("every request counts, whatever it answers: writes, 404s and unknown routes", async () => {
    const auth = await user();
    const paths = ["/v3/organizations/does-not-exist", "/v3/no-such-route", "/v3/organizations"];
    let i = 0;
    const { statuses } = await burst(() => send(paths[i++ % paths.length]!, { auth }));
    expectLimitedAfter(statuses);
  });

  it("without a token, per client address (CF-Connecting-IP): CF-IPBasedRateLimitExceeded (10014), as the reference", async () => {
    const ip = address();
    const { statuses, limited } = await burst(() => send("/v3/organizations", { headers: { "CF-Connecting-IP": ip } }));
    expectLimitedAfter(statuses);
    expect(statuses[0]).toBe(401);
    expect(limited!.headers.get("Retry-After")).toBe("60");
    expect(await jsonOf(limited!)).toEqual({ errors: [{
      detail: "Rate Limit Exceeded: Unauthenticated requests from this IP address have exceeded the limit. Please log in.",
      title: "CF-IPBasedRateLimitExceeded", code: 10014,
    }] });
    // Another address is not limited by this one's burst.
    expect((await send("/v3/organizations", { headers: { "CF-Connecting-IP": address() } })).status).toBe(401);
  });

  it("an invalid token counts against the address, not a user", async () => {
    const ip = address();
    const { statuses, limited } = await burst(() => send("/v3/organizations", { auth: "bearer not-a-token", headers: { "CF-Connecting-IP": ip } }));
    expectLimitedAfter(statuses);
    expect((await jsonOf<{ errors: { code: number }[] }>(limited!)).errors[0]!.code).toBe(10014);
  });
});

describe("who is not limited by whom", () => {
  it("one user's burst does not limit another user, nor the same address without a token", async () => {
    const ip = address();
    const noisy = await user();
    const { statuses } = await burst(() => send("/v3/organizations", { auth: noisy, headers: { "CF-Connecting-IP": ip } }));
    expectLimitedAfter(statuses);
    const quiet = await send("/v3/organizations", { auth: await user(), headers: { "CF-Connecting-IP": ip } });
    expect(quiet.status).toBe(200);
    expect((await send("/v3/organizations", { headers: { "CF-Connecting-IP": ip } })).status).toBe(401);
  });

  it("admins and admin_read_only are exempt", async () => {
    for (const auth of [await adminAuth(`admin-${crypto.randomUUID()}`), await bearer({ user: `aro-${crypto.randomUUID()}`, scopes: SCOPES.adminReadOnly })]) {
      for (let i = 0; i < 3 * LIMIT; i++) expect((await send("/v3/organizations", { auth })).status).toBe(200);
    }
  });

  it("global auditors are not (the reference exempts admin and admin_read_only only)", async () => {
    const auth = await bearer({ user: `ga-${crypto.randomUUID()}`, scopes: SCOPES.globalAuditor });
    expectLimitedAfter((await burst(() => send("/v3/organizations", { auth }))).statuses);
  });

  it("discovery (/, /v3, /v2/info) is exempt, with or without a token", async () => {
    const ip = address();
    const auth = await user();
    for (const path of ["/", "/v3", "/v2/info"]) {
      for (let i = 0; i < 3 * LIMIT; i++) {
        expect((await send(path, { headers: { "CF-Connecting-IP": ip } })).status).toBe(200);
        expect((await send(path, { auth })).status).toBe(200);
      }
    }
    // ... and did not use up the caller's allowance.
    expect((await send("/v3/organizations", { auth })).status).toBe(200);
  });

  it("no X-RateLimit-* headers: the binding answers only yes or no", async () => {
    const res = await send("/v3/organizations", { auth: await user() });
    expect(res.status).toBe(200);
    for (const name of ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]) expect(res.headers.has(name)).toBe(false);
  });

  it("without the bindings nothing is limited", async () => {
    const auth = await user();
    for (let i = 0; i < 3 * LIMIT; i++) {
      const res = await callWith({ RATE_LIMITER: undefined, RATE_LIMITER_UNAUTHENTICATED: undefined }, "GET", "/v3/organizations", { auth });
      expect(res.status).toBe(200);
    }
  });
});
