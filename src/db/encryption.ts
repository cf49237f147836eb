// Values encrypted at rest (docker registry passwords), as the reference's `database_encryption`
// (cloud_controller_ng `lib/cloud_controller/encryptor.rb`): every key has a label, new values are
// encrypted under the current one, and a value is decrypted with the key its row names, so keys
// rotate: add a key, make it current, let the sweep re-encrypt (rotateDockerPasswords), drop the old.
//
// AES-256-GCM through WebCrypto, a fresh 96-bit IV per value, and the record's guid as additional
// data so that a ciphertext copied into another row does not decrypt there.
//
// Configuration: DB_ENCRYPTION_KEYS (a secret: JSON `{"<label>": "<base64 of 32 random bytes>", ...}`)
// and DB_ENCRYPTION_CURRENT_KEY_LABEL (a var; may be left out while there is exactly one key).
import { ApiError } from "../http/errors";

export interface Sealed {
  label: string;
  /** Base64. */
  iv: string;
  /** Base64, the GCM tag included. */
  ciphertext: string;
}

export interface EncryptionKeys {
  current: string;
  keys: ReadonlyMap<string, CryptoKey>;
}

export interface EncryptionConfig {
  DB_ENCRYPTION_KEYS?: string;
  DB_ENCRYPTION_CURRENT_KEY_LABEL?: string;
}

/** A configuration that cannot be used: the message names what is wrong, never a key. */
class EncryptionConfigError extends Error {
  override readonly name = "EncryptionConfigError";
}

const LABEL = /^[A-Za-z0-9._-]{1,64}$/;
const cache = new Map<string, Promise<EncryptionKeys>>();

/**
 * The keys of `config`, imported once per isolate; undefined when none are configured. Throws
 * EncryptionConfigError for a configuration that is there but wrong.
 */
export function encryptionKeys(config: EncryptionConfig): Promise<EncryptionKeys> | undefined {
  const json = config.DB_ENCRYPTION_KEYS?.trim();
  if (!json) return undefined;
  const id = `${config.DB_ENCRYPTION_CURRENT_KEY_LABEL ?? ""}\n${json}`;
  let keys = cache.get(id);
  if (keys === undefined) {
    if (cache.size >= 4) cache.clear(); // a changed configuration: nothing to keep
    keys = importKeys(json, config.DB_ENCRYPTION_CURRENT_KEY_LABEL?.trim() || undefined);
    keys.catch(() => cache.delete(id));
    cache.set(id, keys);
  }
  return keys;
}

async function importKeys(json: string, currentLabel: string | undefined): Promise<EncryptionKeys> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new EncryptionConfigError("DB_ENCRYPTION_KEYS is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new EncryptionConfigError("DB_ENCRYPTION_KEYS must be a JSON object of label: base64 key");
  }
  const keys = new Map<string, CryptoKey>();
  for (const [label, value] of Object.entries(parsed)) {
    if (!LABEL.test(label)) throw new EncryptionConfigError(`DB_ENCRYPTION_KEYS: label '${label.slice(0, 64)}' is not 1-64 of A-Z a-z 0-9 . _ -`);
    const raw = typeof value === "string" ? fromBase64(value) : undefined;
    if (raw === undefined || raw.length !== 32) throw new EncryptionConfigError(`DB_ENCRYPTION_KEYS: the key '${label}' is not 32 bytes in base64`);
    keys.set(label, await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]));
  }
  const current = currentLabel ?? (keys.size === 1 ? [...keys.keys()][0] : undefined);
  if (current === undefined) throw new EncryptionConfigError("DB_ENCRYPTION_CURRENT_KEY_LABEL must name one of the DB_ENCRYPTION_KEYS");
  if (!keys.has(current)) throw new EncryptionConfigError(`DB_ENCRYPTION_CURRENT_KEY_LABEL '${current.slice(0, 64)}' is not a label of DB_ENCRYPTION_KEYS`);
  return { current, keys };
}

/**
 * The keys for a request that stores an encrypted value: 503 CF-ServiceUnavailable (nothing stored)
 * when none are configured or the configuration is wrong.
 */
export async function requireEncryptionKeys(config: EncryptionConfig): Promise<EncryptionKeys> {
  try {
    const keys = encryptionKeys(config);
    if (keys !== undefined) return await keys;
    console.error("database encryption: DB_ENCRYPTION_KEYS is not set");
  } catch (err) {
    console.error("database encryption:", err instanceof EncryptionConfigError ? err.message : "the keys cannot be imported");
  }
  throw new ApiError("ServiceUnavailable", "Credentials cannot be stored: database encryption is not configured");
}

/** `plaintext` encrypted under the current key, bound to the record `guid`. */
export async function seal(keys: EncryptionKeys, plaintext: string, guid: string): Promise<Sealed> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = keys.keys.get(keys.current)!;
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(guid) }, key, new TextEncoder().encode(plaintext));
  return { label: keys.current, iv: toBase64(iv), ciphertext: toBase64(new Uint8Array(ciphertext)) };
}

/** The plaintext of `sealed` (under the key its label names), or undefined when that key is gone or the value does not decrypt. */
export async function unseal(keys: EncryptionKeys, sealed: Sealed, guid: string): Promise<string | undefined> {
  const key = keys.keys.get(sealed.label);
  const iv = fromBase64(sealed.iv);
  const ciphertext = fromBase64(sealed.ciphertext);
  if (key === undefined || iv === undefined || ciphertext === undefined) return undefined;
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(guid) }, key, ciphertext);
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(plain);
  } catch {
    return undefined;
  }
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const s = atob(text.trim());
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}
