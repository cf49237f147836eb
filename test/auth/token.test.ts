// Token verification (contract "Authentication"; the reference's UaaTokenDecoder): every case against a
// real signed token.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { base64url, SignJWT, UnsecuredJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { call, get, jsonOf, ORIGIN } from "../helpers/api";
import { claimsFor, fakeUaa, hsToken, SCOPES } from "../helpers/tokens";

// Any authenticated read: an unknown job is 404 once the token passes.
const READ_PATH = "/v3/jobs/00000000-0000-4000-8000-000000000000";

async function errorOf(res: Response) {
  const body = await jsonOf<{ errors: { detail: string; title: string; code: number }[] }>(res);
  return body.errors[0];
}

const notAuthenticated = { detail: "Authentication error", title: "CF-NotAuthenticated", code: 10002 };
const invalidToken = { detail: "Invalid Auth Token", title: "CF-InvalidAuthToken", code: 1000 };

let uaa: Awaited<ReturnType<typeof fakeUaa>>;
beforeEach(async () => {
  uaa = await fakeUaa();
});
afterEach(() => uaa.restore());

describe("missing or foreign credentials", () => {
  it("no Authorization header is 401 CF-NotAuthenticated", async () => {
    const res = await get(READ_PATH);
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toEqual(notAuthenticated);
  });

  it("another scheme is 401 CF-NotAuthenticated", async () => {
    const res = await get(READ_PATH, `Basic ${btoa("admin:admin")}`);
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toEqual(notAuthenticated);
  });

  it("the scheme is case-insensitive", async () => {
    const res = await get(READ_PATH, `BEARER ${await hsToken()}`);
    expect(res.status).toBe(404);
  });

  it("garbage after bearer is 401 CF-InvalidAuthToken", async () => {
    for (const auth of ["bearer garbage", "bearer a.b.c", "bearer", "bearer x y"]) {
      const res = await get(READ_PATH, auth);
      expect(res.status, auth).toBe(401);
      expect(await errorOf(res)).toEqual(invalidToken);
    }
  });
});

describe("claims", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["expired", { exp: Math.floor(Date.now() / 1000) - 5 }],
    ["wrong audience", { aud: ["other_service"] }],
    ["wrong issuer", { iss: "https://evil.example.com/oauth/token" }],
    ["no jti", { jti: undefined }],
    ["a refresh token (jti ending -r)", { jti: "abc123-r" }],
    ["no exp", { exp: undefined }],
    ["neither user_id nor client_id", { user_id: undefined, client_id: undefined }],
    // Identities that cannot be an actor or an X-USER-GUID header (these were 500s after the work was done).
    ["a user_id with CR/LF", { user_id: "abc\r\nX-Injected: 1" }],
    ["a client_id with LF (no user_id)", { user_id: undefined, client_id: "c\nx" }],
    ["a user_id with a control character", { user_id: "a\u0001b" }],
    ["a user_id of 256 characters", { user_id: "u".repeat(256) }],
    ["a user_id that is a number", { user_id: 12345 }],
    ["a user_id that is an object", { user_id: {} }],
    ["an empty user_id", { user_id: "" }],
    ["a non-ASCII user_id", { user_id: "ü-42" }],
  ];
  for (const [name, claims] of cases) {
    it(`${name} is 401 CF-InvalidAuthToken (RS256 and HS256)`, async () => {
      for (const token of [await uaa.token({ claims }), await hsToken({ claims })]) {
        const res = await get(READ_PATH, `bearer ${token}`);
        expect(res.status).toBe(401);
        expect(await errorOf(res)).toEqual(invalidToken);
      }
    });
  }

  it("a valid RS256 token from the UAA passes, and X-USER-GUID names its user", async () => {
    const res = await get(READ_PATH, `bearer ${await uaa.token({ user: "u-42" })}`);
    expect(res.status).toBe(404);
    expect(res.headers.get("X-USER-GUID")).toBe("u-42");
    expect(await errorOf(res)).toEqual({ detail: "Job not found", title: "CF-ResourceNotFound", code: 10010 });
  });

  it("a client_credentials token (client_id, no user_id) passes with the client as identity", async () => {
    const token = await uaa.token({ claims: { user_id: undefined, user_name: undefined, email: undefined, client_id: "ci-pipeline", scope: ["cloud_controller.read"] } });
    const res = await get(READ_PATH, `bearer ${token}`);
    expect(res.status).toBe(404);
    expect(res.headers.get("X-USER-GUID")).toBe("ci-pipeline");
  });

  it("a space-separated scope string and a string audience are read too", async () => {
    const token = await uaa.token({ claims: { scope: "openid cloud_controller.read", aud: "cloud_controller" } });
    expect((await get(READ_PATH, `bearer ${token}`)).status).toBe(404);
  });
});

describe("audience", () => {
  it("a space-separated aud string is split on whitespace, as the reference (\"foo cloud_controller\" passes)", async () => {
    for (const aud of ["foo cloud_controller", "cloud_controller openid", " foo\tcloud_controller "]) {
      for (const token of [await uaa.token({ claims: { aud } }), await hsToken({ claims: { aud } })]) {
        expect((await get(READ_PATH, `bearer ${token}`)).status, aud).toBe(404);
      }
    }
  });

  it("a string naming other audiences only, or a near miss, is still 401 CF-InvalidAuthToken", async () => {
    for (const aud of ["foo bar", "cloud_controllerx openid", "cloud_controller.read", "", " "]) {
      const res = await get(READ_PATH, `bearer ${await uaa.token({ claims: { aud } })}`);
      expect(res.status, aud).toBe(401);
      expect(await errorOf(res)).toEqual(invalidToken);
    }
  });

  it("no aud claim is 401 CF-InvalidAuthToken", async () => {
    const res = await get(READ_PATH, `bearer ${await uaa.token({ claims: { aud: undefined } })}`);
    expect(res.status).toBe(401);
  });
});

describe("algorithms", () => {
  it("alg none never passes", async () => {
    const token = new UnsecuredJWT(claimsFor()).encode();
    const res = await get(READ_PATH, `bearer ${token}`);
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toEqual(invalidToken);
  });

  it("an HS256 token signed with the RSA public key as its secret is refused", async () => {
    const publicJwk = uaa.state.keys[0]!.publicJwk;
    for (const secret of [JSON.stringify(publicJwk), String(publicJwk.n)]) {
      const token = await new SignJWT(claimsFor())
        .setProtectedHeader({ alg: "HS256", kid: "key-1" })
        .sign(new TextEncoder().encode(secret));
      const res = await get(READ_PATH, `bearer ${token}`);
      expect(res.status).toBe(401);
      expect(await errorOf(res)).toEqual(invalidToken);
    }
  });

  it("an HS256 token signed with another secret is refused", async () => {
    const res = await get(READ_PATH, `bearer ${await hsToken({}, "not-the-secret")}`);
    expect(res.status).toBe(401);
  });

  it("a tampered payload is refused", async () => {
    const [h, , s] = (await uaa.token()).split(".");
    const forged = base64url.encode(JSON.stringify(claimsFor({ scopes: SCOPES.admin })));
    const res = await get(READ_PATH, `bearer ${h}.${forged}.${s}`);
    expect(res.status).toBe(401);
  });

  it("RS384 and RS512 tokens from UAA keys pass", async () => {
    const keys = [await uaa.newKey("key-RS384", "RS384"), await uaa.newKey("key-RS512", "RS512")];
    uaa.state.keys.push(...keys);
    for (const [alg, key] of [["RS384", keys[0]!], ["RS512", keys[1]!]] as const) {
      const token = await new SignJWT(claimsFor()).setProtectedHeader({ alg, kid: key.kid }).sign(key.privateKey);
      expect((await get(READ_PATH, `bearer ${token}`)).status, alg).toBe(404);
    }
  });
});

describe("development tokens (HS256/384/512) and production", () => {
  /** The Worker with other bindings: `worker.fetch` as the runtime calls it. */
  async function getWith(overrides: Record<string, unknown>, auth: string) {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`${ORIGIN}${READ_PATH}`, { headers: { Authorization: auth } }), { ...env, ...overrides }, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }

  it("production (DEPLOYMENT_ENVIRONMENT=production) refuses HS256/384/512 even with TOKEN_SIGNING_SECRET bound; UAA tokens still pass", async () => {
    const production = { DEPLOYMENT_ENVIRONMENT: "production" };
    for (const alg of ["HS256", "HS384", "HS512"]) {
      const token = await new SignJWT(claimsFor()).setProtectedHeader({ alg }).sign(new TextEncoder().encode(env.TOKEN_SIGNING_SECRET));
      const res = await getWith(production, `bearer ${token}`);
      expect(res.status, alg).toBe(401);
      expect(await errorOf(res)).toEqual(invalidToken);
      // The same token elsewhere passes: only the deployment decides.
      expect((await getWith({}, `bearer ${token}`)).status, alg).toBe(404);
    }
    expect((await getWith(production, `bearer ${await uaa.token()}`)).status).toBe(404);
  });

  it("a TOKEN_SIGNING_SECRET shorter than 32 bytes is never used: its tokens are 401 everywhere", async () => {
    for (const secret of ["short", "x".repeat(31), "ü".repeat(15)]) {
      const res = await getWith({ TOKEN_SIGNING_SECRET: secret }, `bearer ${await hsToken({}, secret)}`);
      expect(res.status, secret).toBe(401);
      expect(await errorOf(res)).toEqual(invalidToken);
    }
    const long = "y".repeat(32);
    expect((await getWith({ TOKEN_SIGNING_SECRET: long }, `bearer ${await hsToken({}, long)}`)).status).toBe(404);
  });
});

describe("UAA keys", () => {
  it("are fetched once and cached", async () => {
    for (let i = 0; i < 3; i++) expect((await get(READ_PATH, `bearer ${await uaa.token()}`)).status).toBe(404);
    expect(uaa.state.tokenKeyFetches).toBe(1);
    expect(uaa.state.openIdFetches).toBe(1);
  });

  it("a token from an unknown key is refused after one refetch", async () => {
    expect((await get(READ_PATH, `bearer ${await uaa.token()}`)).status).toBe(404);
    await new Promise((r) => setTimeout(r, 1100)); // past the refetch cooldown
    const stranger = await uaa.newKey("key-unknown");
    const res = await get(READ_PATH, `bearer ${await uaa.token({}, stranger)}`);
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toEqual(invalidToken);
    expect(uaa.state.tokenKeyFetches).toBe(2);
  });

  it("a key rotated at the UAA is accepted after one refetch", async () => {
    expect((await get(READ_PATH, `bearer ${await uaa.token()}`)).status).toBe(404);
    await new Promise((r) => setTimeout(r, 1100));
    const rotated = await uaa.rotate("key-2");
    const res = await get(READ_PATH, `bearer ${await uaa.token({}, rotated)}`);
    expect(res.status).toBe(404);
    expect(uaa.state.tokenKeyFetches).toBe(2);
  });

  it("the UAA down is 502 CF-UaaUnavailable", async () => {
    uaa.state.down = true;
    const res = await get(READ_PATH, `bearer ${await uaa.token()}`);
    expect(res.status).toBe(502);
    expect(await errorOf(res)).toEqual({
      detail: "The UAA service is currently unavailable", title: "CF-UaaUnavailable", code: 20004,
    });
  });

  it("the UAA coming back is used again (a failed fetch is not cached)", async () => {
    uaa.state.down = true;
    expect((await get(READ_PATH, `bearer ${await uaa.token()}`)).status).toBe(502);
    uaa.state.down = false;
    expect((await get(READ_PATH, `bearer ${await uaa.token()}`)).status).toBe(404);
  });

  it("HS256 development tokens need no UAA", async () => {
    uaa.state.down = true;
    expect((await get(READ_PATH, `bearer ${await hsToken()}`)).status).toBe(404);
  });
});

describe("scopes", () => {
  it("a token with no read scope is 403 CF-NotAuthorized on a read", async () => {
    const res = await get(READ_PATH, `bearer ${await hsToken({ scopes: SCOPES.writeOnly })}`);
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toEqual({
      detail: "You are not authorized to perform the requested action", title: "CF-NotAuthorized", code: 10003,
    });
  });

  it.each([["admin_read_only", SCOPES.adminReadOnly], ["global_auditor", SCOPES.globalAuditor], ["read", SCOPES.readOnly]])(
    "%s may read", async (_name, scopes) => {
      expect((await get(READ_PATH, `bearer ${await hsToken({ scopes })}`)).status).toBe(404);
    },
  );

  it("a read-only token is 403 CF-NotAuthorized on a write, before the body is read", async () => {
    const res = await call("POST", "/v3/stacks", { auth: `bearer ${await hsToken({ scopes: SCOPES.readOnly })}`, body: "{not json" });
    expect(res.status).toBe(403);
    expect((await errorOf(res))?.code).toBe(10003);
  });

  it("the v2 token check answers 403 CF-InsufficientScope in the v2 envelope", async () => {
    const res = await get("/v2/jobs/x", `bearer ${await hsToken({ scopes: SCOPES.writeOnly })}`);
    expect(res.status).toBe(403);
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=utf-8");
    expect(await jsonOf(res)).toEqual({
      description: "Your token lacks the necessary scopes to access this resource.", error_code: "CF-InsufficientScope", code: 10007,
    });
  });
});

describe("configuration", () => {
  it("UAA_ISSUER, when set, is the issuer checked", async () => {
    expect(env.UAA_ISSUER).toBeUndefined();
  });
});
