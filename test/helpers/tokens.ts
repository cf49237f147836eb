// Real signed tokens for tests: HS256 with the test secret (as `npm run token` makes them), and
// RS256 from a fake UAA that serves /token_keys and the OpenID configuration through a fetch stub.
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload, type CryptoKey } from "jose";
import { vi } from "vitest";
import { forgetUaaCaches } from "../../src/auth/token";

export const SCOPES = {
  admin: ["cloud_controller.admin", "cloud_controller.read", "cloud_controller.write"],
  adminReadOnly: ["cloud_controller.admin_read_only"],
  globalAuditor: ["cloud_controller.global_auditor"],
  user: ["cloud_controller.read", "cloud_controller.write"],
  readOnly: ["cloud_controller.read"],
  writeOnly: ["cloud_controller.write"],
} as const;

export const uaaUrl = () => env.UAA_URL.replace(/\/+$/, "");
export const uaaIssuer = () => `${uaaUrl()}/oauth/token`;

export interface TokenOptions {
  user?: string;
  scopes?: readonly string[];
  /** Claims to add or override; `undefined` removes a claim. */
  claims?: Record<string, unknown>;
}

export function claimsFor(options: TokenOptions = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  const user = options.user ?? "user-1";
  const claims: Record<string, unknown> = {
    jti: crypto.randomUUID().replace(/-/g, ""),
    sub: user,
    user_id: user,
    user_name: `${user}-name`,
    email: `${user}@example.com`,
    client_id: "cf",
    scope: [...(options.scopes ?? SCOPES.user)],
    aud: ["cloud_controller", "openid"],
    iss: uaaIssuer(),
    iat: now,
    exp: now + 3600,
    ...options.claims,
  };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  return claims as JWTPayload;
}

/** An HS256 token signed with TOKEN_SIGNING_SECRET, as `npm run token` makes. */
export async function hsToken(options: TokenOptions = {}, secret = env.TOKEN_SIGNING_SECRET ?? ""): Promise<string> {
  return new SignJWT(claimsFor(options))
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}

/** `bearer <token>` for a user with the given scopes. */
export async function bearer(options: TokenOptions = {}): Promise<string> {
  return `bearer ${await hsToken(options)}`;
}

export const adminAuth = (user = "admin-user") => bearer({ user, scopes: SCOPES.admin });
export const userAuth = (user = "user-1") => bearer({ user, scopes: SCOPES.user });

/** The global roles as the reference's request specs make their tokens: the global scope plus write. */
export const GLOBAL_ROLE_SCOPES = {
  adminReadOnly: [...SCOPES.adminReadOnly, "cloud_controller.write"],
  globalAuditor: [...SCOPES.globalAuditor, "cloud_controller.write"],
} as const;

/** The global roles and a user without any role (the matrix's no_role column). */
export const auths = {
  admin: () => adminAuth(),
  adminReadOnly: () => bearer({ user: "aro-user", scopes: GLOBAL_ROLE_SCOPES.adminReadOnly }),
  globalAuditor: () => bearer({ user: "ga-user", scopes: GLOBAL_ROLE_SCOPES.globalAuditor }),
  noRole: () => bearer({ user: "no-role-user", scopes: SCOPES.user }),
  readOnly: () => bearer({ user: "read-only-user", scopes: SCOPES.readOnly }),
  writeOnly: () => bearer({ user: "write-only-user", scopes: SCOPES.writeOnly }),
};

/**
 * One token per global scope alone, as the platform resources' tests (buildpacks, stacks) need them:
 * admin, a user with read and write, read only, write only, admin_read_only, global_auditor.
 */
export async function scopeTokens() {
  return {
    admin: await adminAuth(),
    user: await userAuth(),
    reader: await bearer({ user: "reader", scopes: SCOPES.readOnly }),
    writer: await bearer({ user: "writer", scopes: SCOPES.writeOnly }),
    aro: await bearer({ user: "aro", scopes: SCOPES.adminReadOnly }),
    ga: await bearer({ user: "ga", scopes: SCOPES.globalAuditor }),
  };
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: Record<string, unknown>;
}

async function newKey(kid: string, alg = "RS256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg, use: "sig" } };
}

/**
 * A UAA on a fetch stub at UAA_URL. `keys` are what /token_keys serves; `down` makes it fail.
 * Counts calls so tests can check caching and refetching.
 */
export async function fakeUaa() {
  forgetUaaCaches();
  const state = {
    keys: [await newKey("key-1")],
    issuer: uaaIssuer(),
    down: false,
    tokenKeyFetches: 0,
    openIdFetches: 0,
  };
  const realFetch = globalThis.fetch;
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!url.href.startsWith(uaaUrl())) return realFetch(input, init);
    if (state.down) throw new TypeError("connection refused");
    if (url.pathname.endsWith("/token_keys")) {
      state.tokenKeyFetches++;
      return Response.json({ keys: state.keys.map((k) => k.publicJwk) });
    }
    if (url.pathname.endsWith("/.well-known/openid-configuration")) {
      state.openIdFetches++;
      return Response.json({ issuer: state.issuer });
    }
    return new Response("not found", { status: 404 });
  });

  return {
    state,
    /** Signs with the UAA's current key (or a given one). */
    async token(options: TokenOptions = {}, key: SigningKey = state.keys[0]!, alg = "RS256"): Promise<string> {
      return new SignJWT(claimsFor(options))
        .setProtectedHeader({ alg, kid: key.kid, typ: "JWT" })
        .sign(key.privateKey);
    },
    /** Replaces the UAA's keys with a new one and returns it. */
    async rotate(kid: string): Promise<SigningKey> {
      const key = await newKey(kid);
      state.keys = [key];
      return key;
    },
    newKey,
    restore() {
      spy.mockRestore();
      forgetUaaCaches();
    },
  };
}
