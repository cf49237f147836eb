// UAA token verification, as the reference does it (lib/cloud_controller/uaa/uaa_token_decoder.rb)
// without its upload loophole: RSA keys from {UAA_URL}/token_keys (cached per isolate, fetched again when
// a token names a key we do not have), the issuer check, audience, expiry, jti, identity. HS256/384/512
// tokens pass only with a development secret (`developmentSecret`): never in production.
import { decodeProtectedHeader, importJWK, importSPKI, jwtVerify, type CryptoKey, type JWK, type JWTPayload } from "jose";
import { ApiError } from "../http/errors";

export interface Identity {
  /** `user_id`, else `client_id`. */
  guid: string;
  /** True for a client_credentials token (no user_id). */
  isClient: boolean;
  scopes: ReadonlySet<string>;
  email: string | null;
  userName: string | null;
}

interface TokenConfig {
  uaaUrl: string;
  /** Expected issuer; when absent it is read from the UAA's OpenID configuration. */
  issuer?: string | undefined;
  audience: string;
  /** The HMAC secret of development tokens (see `developmentSecret`); absent, they are refused. */
  signingSecret?: string | undefined;
}

/** The shortest TOKEN_SIGNING_SECRET used, in bytes (RFC 7518 §3.2: at least the hash size of HS256). */
const MIN_SIGNING_SECRET_BYTES = 32;

/**
 * The HMAC secret development tokens are checked with, or undefined when they are refused: in
 * production (`DEPLOYMENT_ENVIRONMENT = "production"`, which only `[env.production.vars]` sets), even
 * if a secret was bound there by mistake, and everywhere for a secret shorter than 32 bytes.
 */
export function developmentSecret(secret: string | undefined, deployment: string | undefined): string | undefined {
  if (deployment === "production" || !secret) return undefined;
  return new TextEncoder().encode(secret).length >= MIN_SIGNING_SECRET_BYTES ? secret : undefined;
}

const RSA_ALGS = new Set(["RS256", "RS384", "RS512"]);
const HMAC_ALGS = new Set(["HS256", "HS384", "HS512"]);
const CACHE_MS = 30_000;
/** A forced refetch (unknown key, issuer mismatch) happens at most this often per UAA. */
const REFETCH_COOLDOWN_MS = 1_000;

const invalid = () => new ApiError("InvalidAuthToken");

/**
 * Verifies an Authorization header value and returns who is asking.
 * Throws 401 NotAuthenticated (no bearer token), 401 InvalidAuthToken, or 502 UaaUnavailable.
 */
export async function verifyAuthorization(header: string | undefined, config: TokenConfig): Promise<Identity> {
  if (!header || !/^bearer(\s|$)/i.test(header)) throw new ApiError("NotAuthenticated");
  const parts = header.trim().split(/\s+/);
  if (parts.length !== 2 || !parts[1]) throw invalid();
  const token = parts[1];

  let alg: string | undefined;
  let kid: string | undefined;
  try {
    ({ alg, kid } = decodeProtectedHeader(token));
  } catch {
    throw invalid();
  }
  if (!alg) throw invalid();

  let payload: JWTPayload;
  if (HMAC_ALGS.has(alg)) {
    if (!config.signingSecret) throw invalid();
    const issuer = config.issuer ?? `${trimSlash(config.uaaUrl)}/oauth/token`;
    try {
      payload = await verifyWith(token, await hmacKey(config.signingSecret, alg), alg, config, issuer);
    } catch {
      throw invalid();
    }
  } else if (RSA_ALGS.has(alg)) {
    payload = await verifyRsa(token, alg, kid, config);
  } else {
    // `none` and anything else: never.
    throw invalid();
  }
  return identityFrom(payload);
}

async function verifyRsa(token: string, alg: string, kid: string | undefined, config: TokenConfig): Promise<JWTPayload> {
  const uaa = uaaState(config.uaaUrl);
  let keys = await uaa.keys(false);
  if (kid !== undefined && !keys.some((k) => k.kid === kid)) keys = await uaa.keys(true);
  const candidates = kid === undefined ? keys : keys.filter((k) => k.kid === kid);
  if (candidates.length === 0) throw invalid();

  const issuer = config.issuer ?? (await uaa.issuer(false));
  const first = await tryKeys(token, candidates, alg, config, issuer);
  if (first.payload) return first.payload;
  // The UAA may have moved to a new issuer since we cached it: look once more, then give up.
  if (first.issuerMismatch && !config.issuer) {
    const fresh = await uaa.issuer(true);
    if (fresh !== issuer) {
      const again = await tryKeys(token, candidates, alg, config, fresh);
      if (again.payload) return again.payload;
    }
  }
  throw invalid();
}

async function tryKeys(
  token: string, keys: UaaKey[], alg: string, config: TokenConfig, issuer: string,
): Promise<{ payload?: JWTPayload; issuerMismatch: boolean }> {
  let issuerMismatch = false;
  for (const key of keys) {
    try {
      return { payload: await verifyWith(token, await key.importFor(alg), alg, config, issuer), issuerMismatch };
    } catch (err) {
      issuerMismatch ||= isIssuerMismatch(err);
    }
  }
  return { issuerMismatch };
}

/** The development secret as a key for `alg`, imported once per isolate (jose would import it on every request). */
const hmacKeys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string, alg: string): Promise<CryptoKey> {
  const id = `${alg}:${secret}`;
  let key = hmacKeys.get(id);
  if (key === undefined) {
    if (hmacKeys.size >= 8) hmacKeys.clear(); // a changed secret: nothing to keep
    const hash = `SHA-${alg.slice(2)}`; // HS256 → SHA-256
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash }, false, ["verify"]);
    key.catch(() => hmacKeys.delete(id));
    hmacKeys.set(id, key);
  }
  return key;
}

/**
 * jose's verification: signature with exactly `alg`, issuer, exp (no skew), jti present; then the
 * audience, which jose would compare whole when it is a string.
 */
async function verifyWith(
  token: string, key: CryptoKey | Uint8Array, alg: string, config: TokenConfig, issuer: string,
): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, key, {
    algorithms: [alg],
    issuer,
    requiredClaims: ["exp", "jti"],
  });
  if (!audiencesOf(payload.aud).includes(config.audience)) throw invalid();
  return payload;
}

/** `aud`: an array, or a string split on whitespace, as the reference's UAA library reads it (cf-uaa-lib `TokenCoder.decode`, `Util.arglist`). */
function audiencesOf(aud: unknown): string[] {
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === "string");
  if (typeof aud === "string") return aud.split(/\s+/).filter(Boolean);
  return [];
}

const isIssuerMismatch = (err: unknown): boolean =>
  err instanceof Error && "claim" in err && (err as { claim?: unknown }).claim === "iss";

function identityFrom(payload: JWTPayload): Identity {
  const jti = payload.jti;
  if (typeof jti !== "string" || jti.endsWith("-r")) throw invalid();
  if (typeof payload.exp !== "number" || !Number.isInteger(payload.exp)) throw invalid();
  const userId = identityClaim(payload.user_id);
  const clientId = identityClaim(payload.client_id);
  const guid = userId ?? clientId;
  if (!guid) throw invalid();
  return {
    guid,
    isClient: userId === null,
    scopes: new Set(scopesOf(payload.scope)),
    email: stringClaim(payload.email),
    userName: stringClaim(payload.user_name),
  };
}

const stringClaim = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

/**
 * `user_id` or `client_id`: absent is null; present, it must be what the UAA issues (a guid, a
 * client name): 1–255 visible ASCII characters. Anything else (another type, an empty string, CR/LF
 * or other control characters) makes the token invalid: the identity becomes a record's actor and
 * the X-USER-GUID header, and must never fail either after the work is done.
 */
function identityClaim(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || !/^[\x21-\x7e]{1,255}$/.test(value)) throw invalid();
  return value;
}

function scopesOf(scope: unknown): string[] {
  if (Array.isArray(scope)) return scope.filter((s): s is string => typeof s === "string");
  if (typeof scope === "string") return scope.split(/\s+/).filter(Boolean);
  return [];
}

const trimSlash = (url: string) => url.replace(/\/+$/, "");

// ---------------------------------------------------------------------------------------------
// What we know of each UAA, per isolate: its keys and issuer, each cached for about 30 s.

interface UaaKey {
  kid: string | undefined;
  importFor(alg: string): Promise<CryptoKey>;
}

/** A value fetched from the UAA, kept for CACHE_MS; a failed fetch is not kept. */
class Cached<T> {
  private value: Promise<T> | undefined;
  private fetchedAt = 0;

  constructor(private readonly load: () => Promise<T>) {}

  get(force: boolean): Promise<T> {
    const age = Date.now() - this.fetchedAt;
    const fresh = this.value !== undefined && age < CACHE_MS && (!force || age < REFETCH_COOLDOWN_MS);
    if (fresh && this.value) return this.value;
    const value = this.load();
    this.value = value;
    this.fetchedAt = Date.now();
    value.catch(() => {
      if (this.value === value) this.value = undefined;
    });
    return value;
  }
}

class UaaState {
  private readonly keySet = new Cached(() => this.fetchKeys());
  private readonly issuerValue = new Cached(() => this.fetchIssuer());

  constructor(private readonly baseUrl: string) {}

  keys(force: boolean): Promise<UaaKey[]> {
    return this.keySet.get(force);
  }

  issuer(force: boolean): Promise<string> {
    return this.issuerValue.get(force);
  }

  private async fetchKeys(): Promise<UaaKey[]> {
    const body = await fetchJson(`${this.baseUrl}/token_keys`);
    const keys = (body as { keys?: unknown }).keys;
    if (!Array.isArray(keys)) throw new ApiError("UaaUnavailable");
    return keys.filter(isRsaKey).map(toUaaKey);
  }

  private async fetchIssuer(): Promise<string> {
    const body = await fetchJson(`${this.baseUrl}/.well-known/openid-configuration`);
    const issuer = (body as { issuer?: unknown }).issuer;
    if (typeof issuer !== "string") throw new ApiError("UaaUnavailable");
    return issuer;
  }
}

async function fetchJson(url: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { Accept: "application/json" } });
  } catch {
    throw new ApiError("UaaUnavailable");
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new ApiError("UaaUnavailable");
  }
  try {
    return await res.json();
  } catch {
    throw new ApiError("UaaUnavailable");
  }
}

interface RawKey {
  kty: "RSA";
  kid?: string;
  alg?: string;
  n?: string;
  e?: string;
  value?: string;
}

const isRsaKey = (k: unknown): k is RawKey =>
  typeof k === "object" && k !== null && (k as { kty?: unknown }).kty === "RSA";

function toUaaKey(raw: RawKey): UaaKey {
  const imported = new Map<string, Promise<CryptoKey>>();
  return {
    kid: typeof raw.kid === "string" ? raw.kid : undefined,
    importFor(alg) {
      let key = imported.get(alg);
      if (!key) {
        key = raw.n && raw.e
          ? (importJWK({ kty: "RSA", n: raw.n, e: raw.e } satisfies JWK, alg) as Promise<CryptoKey>)
          : importSPKI(raw.value ?? "", alg);
        key.catch(() => imported.delete(alg));
        imported.set(alg, key);
      }
      return key.catch(() => {
        throw invalid();
      });
    },
  };
}

const states = new Map<string, UaaState>();

function uaaState(uaaUrl: string): UaaState {
  const base = trimSlash(uaaUrl);
  let state = states.get(base);
  if (!state) {
    state = new UaaState(base);
    states.set(base, state);
  }
  return state;
}

/** Forgets every cached key and issuer (tests rotate keys and take the UAA down). */
export function forgetUaaCaches(): void {
  states.clear();
}
