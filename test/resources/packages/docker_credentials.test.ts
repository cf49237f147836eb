// Docker registry passwords are encrypted at rest (AES-GCM under a labelled key, as the reference's
// database_encryption keys), never shown, and move to a new key when the keys rotate.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { encryptionKeys, unseal, type EncryptionConfig } from "../../../src/db/encryption";
import { housekeeping } from "../../../src/housekeeping";
import { jsonOf, ORIGIN, v3Error } from "../../helpers/api";
import { makeApp } from "../../helpers/fixtures";
import { adminAuth } from "../../helpers/tokens";
import { makeWorld } from "../../helpers/world";
import type { PackageJson } from "./helpers";

let w: Awaited<ReturnType<typeof makeWorld>>;
beforeAll(async () => {
  w = await makeWorld();
});

const SECRET = "Absolutely secret registry password";
const OLD_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; // the test key of vitest.config.ts
const NEW_KEY = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const rotated = { DB_ENCRYPTION_KEYS: JSON.stringify({ "test-key-1": OLD_KEY, "key-2": NEW_KEY }), DB_ENCRYPTION_CURRENT_KEY_LABEL: "key-2" };

interface Row { docker_password: string | null; docker_password_iv: string | null; docker_password_key_label: string | null }
const stored = (guid: string) =>
  env.DB.prepare("SELECT docker_password, docker_password_iv, docker_password_key_label FROM packages WHERE guid = ?").bind(guid).first<Row>();

/** The Worker with other bindings, as the runtime calls it. */
async function send(method: string, path: string, body: unknown, overrides: Record<string, unknown> = {}) {
  const ctx = createExecutionContext();
  const request = new Request(`${ORIGIN}${path}`, {
    method, headers: { Authorization: await adminAuth(), "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const res = await worker.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const dockerBody = (appGuid: string, password: string | undefined, image = "registry.example.com/app:1") =>
  ({ type: "docker", data: { image, username: "robot", ...(password === undefined ? {} : { password }) }, relationships: { app: { data: { guid: appGuid } } } });

async function decrypted(guid: string, config: EncryptionConfig = env) {
  const row = (await stored(guid))!;
  const keys = await encryptionKeys(config)!;
  return unseal(keys, { label: row.docker_password_key_label!, iv: row.docker_password_iv!, ciphertext: row.docker_password! }, guid);
}

describe("docker registry passwords at rest", () => {
  it("are stored encrypted under the current key, bound to their package, and shown as ***", async () => {
    const res = await send("POST", "/v3/packages", dockerBody(w.D.guid, SECRET));
    expect(res.status).toBe(201);
    const pkg = await jsonOf<PackageJson>(res);
    expect(pkg.data.password).toBe("***");
    expect(JSON.stringify(pkg)).not.toContain(SECRET);
    const row = (await stored(pkg.guid))!;
    expect(row.docker_password_key_label).toBe("test-key-1");
    expect(row.docker_password).not.toContain(SECRET);
    expect(atob(row.docker_password!)).not.toContain(SECRET);
    expect(atob(row.docker_password_iv!)).toHaveLength(12);
    expect(await decrypted(pkg.guid)).toBe(SECRET);
    // Copied into another package's row, the ciphertext does not decrypt there.
    const keys = (await encryptionKeys(env))!;
    expect(await unseal(keys, { label: row.docker_password_key_label!, iv: row.docker_password_iv!, ciphertext: row.docker_password! }, crypto.randomUUID())).toBeUndefined();
  });

  it("an update encrypts the new password with a fresh IV", async () => {
    const pkg = await jsonOf<PackageJson>(await send("POST", "/v3/packages", dockerBody(w.D.guid, SECRET)));
    const before = (await stored(pkg.guid))!;
    const res = await send("PATCH", `/v3/packages/${pkg.guid}`, { username: "robot", password: "the next one" });
    expect(res.status).toBe(200);
    expect((await jsonOf<PackageJson>(res)).data.password).toBe("***");
    const after = (await stored(pkg.guid))!;
    expect(after.docker_password_iv).not.toBe(before.docker_password_iv);
    expect(after.docker_password).not.toContain("the next one");
    expect(await decrypted(pkg.guid)).toBe("the next one");
  });

  it("rotation: new passwords use the new current key, old ones still decrypt with their own, and the sweep moves them (legacy plaintext too)", async () => {
    const old = await jsonOf<PackageJson>(await send("POST", "/v3/packages", dockerBody(w.D.guid, "under the old key")));
    const legacy = await jsonOf<PackageJson>(await send("POST", "/v3/packages", dockerBody(w.D.guid, undefined)));
    await env.DB.prepare("UPDATE packages SET docker_password = 'stored before encryption' WHERE guid = ?").bind(legacy.guid).run();
    const fresh = await jsonOf<PackageJson>(await send("POST", "/v3/packages", dockerBody(w.D.guid, "under the new key"), rotated));
    expect((await stored(fresh.guid))!.docker_password_key_label).toBe("key-2");
    expect((await stored(old.guid))!.docker_password_key_label).toBe("test-key-1");
    expect(await decrypted(old.guid, rotated)).toBe("under the old key");

    await housekeeping({ ...env, ...rotated });
    for (const [guid, password] of [[old.guid, "under the old key"], [legacy.guid, "stored before encryption"], [fresh.guid, "under the new key"]] as const) {
      expect((await stored(guid))!.docker_password_key_label).toBe("key-2");
      expect(await decrypted(guid, { DB_ENCRYPTION_KEYS: JSON.stringify({ "key-2": NEW_KEY }) })).toBe(password);
    }
  });

  it("without a configured key a password is refused with 503 before anything is written; without a password nothing needs a key", async () => {
    const app = await makeApp({ spaceGuid: w.S.guid, lifecycle: "docker" });
    const count = async () => (await env.DB.prepare("SELECT (SELECT count(*) FROM packages WHERE app_guid = ?1) + (SELECT count(*) FROM audit_events WHERE actee_guid = ?1) AS n").bind(app.guid).first<{ n: number }>())!.n;
    for (const overrides of [
      { DB_ENCRYPTION_KEYS: undefined },
      { DB_ENCRYPTION_KEYS: "not json" },
      { DB_ENCRYPTION_KEYS: JSON.stringify({ a: OLD_KEY, b: NEW_KEY }), DB_ENCRYPTION_CURRENT_KEY_LABEL: undefined },
      { DB_ENCRYPTION_KEYS: JSON.stringify({ a: "c2hvcnQ=" }) },
    ]) {
      const res = await send("POST", "/v3/packages", dockerBody(app.guid, SECRET), overrides);
      expect(res.status, JSON.stringify(overrides)).toBe(503);
      expect(await v3Error(res)).toEqual({ title: "CF-ServiceUnavailable", code: 10015, detail: "Credentials cannot be stored: database encryption is not configured" });
      expect(await count()).toBe(0);
    }
    const noKey = { DB_ENCRYPTION_KEYS: undefined };
    const created = await send("POST", "/v3/packages", dockerBody(app.guid, undefined), noKey);
    expect(created.status).toBe(201);
    const pkg = await jsonOf<PackageJson>(created);
    const refused = await send("PATCH", `/v3/packages/${pkg.guid}`, { password: SECRET }, noKey);
    expect(refused.status).toBe(503);
    expect(await stored(pkg.guid)).toEqual({ docker_password: null, docker_password_iv: null, docker_password_key_label: null });
  });
});
