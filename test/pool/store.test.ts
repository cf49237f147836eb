// The pool's records (src/pool/store.ts): which entries an upload may use, touching, removing.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { resourcePool } from "../../src/db/schema";
import type { Identity } from "../../src/auth/token";
import { poolKey, pooledForUpload, poolScopeOf, recordPooled, removePooled, touchPooled, type PoolEntry } from "../../src/pool/store";
import { grant, makeOrg, makeSpace } from "../helpers/fixtures";

const db = () => database(env.DB);
const identity = (guid: string, admin = false): Identity => ({
  guid, isClient: false, email: null, userName: null,
  scopes: new Set(admin ? ["cloud_controller.admin", "cloud_controller.write"] : ["cloud_controller.write"]),
});
const sha = (n: number) => n.toString(16).padStart(40, "0");
const entry = (scope: string, n: number, size = 100_000): PoolEntry => ({ scope, sha1: sha(n), size, compressedSize: size - 10, crc32: 0xfedcba98 + n, method: 8 });
const globalEnv = { ...env, RESOURCE_POOL_SCOPE: "global" };

describe("pooledForUpload", () => {
  let own: string, other: string, foreign: string, suspended: string;
  const dev = `dev-${crypto.randomUUID()}`;
  beforeAll(async () => {
    own = (await makeOrg()).guid;
    other = (await makeOrg()).guid;
    foreign = (await makeOrg()).guid;
    suspended = (await makeOrg({ suspended: true })).guid;
    for (const org of [own, other, suspended]) await grant(dev, "space_developer", { spaceGuid: (await makeSpace({ orgGuid: org })).guid });
    // Only an org role in `foreign`: no upload right there.
    await grant(dev, "organization_manager", { orgGuid: foreign });
    await recordPooled(db(), [entry(own, 1), entry(other, 1), entry(other, 2), entry(foreign, 3), entry(suspended, 4), entry("global", 5)]);
  });

  it("prefers the package's own scope, else an organization where the user may upload; never one where they may not", async () => {
    const found = await pooledForUpload(db(), env, identity(dev), own, [sha(1), sha(2), sha(3), sha(4), sha(5), sha(6)]);
    expect([...found.keys()].sort()).toEqual([sha(1), sha(2)]);
    expect(found.get(sha(1))).toEqual(entry(own, 1));
    expect(found.get(sha(2))).toEqual(entry(other, 2));
  });

  it("admins may use any organization's entries", async () => {
    const found = await pooledForUpload(db(), env, identity("admin", true), own, [sha(3), sha(4), sha(5)]);
    expect([...found.keys()].sort()).toEqual([sha(3), sha(4)]);
  });

  it("under global scope only the global scope's entries", async () => {
    expect(poolScopeOf(globalEnv, own)).toBe("global");
    expect(poolScopeOf(env, own)).toBe(own);
    const found = await pooledForUpload(db(), globalEnv, identity(dev), own, [sha(1), sha(5)]);
    expect([...found.values()]).toEqual([entry("global", 5)]);
  });

  it("reads a list of 5,000 in one statement (the list bound as one JSON value)", async () => {
    const list = Array.from({ length: 5000 }, (_, i) => sha(i + 1000));
    const found = await pooledForUpload(db(), env, identity(dev), own, [...list, sha(1)]);
    expect([...found.keys()]).toEqual([sha(1)]);
  });
});

describe("touchPooled and removePooled", () => {
  it("touch bumps last_used_at; remove deletes the row and the object, so it is no longer found", async () => {
    const org = (await makeOrg()).guid;
    const e = entry(org, 77);
    await env.BITS.put(poolKey(org, e.sha1), new Uint8Array(e.compressedSize));
    await recordPooled(db(), [e], "2020-01-01T00:00:00Z");
    await touchPooled(db(), [e]);
    const [row] = await db().select().from(resourcePool).where(eq(resourcePool.scope, org));
    expect(row!.lastUsedAt > "2020-01-01T00:00:00Z").toBe(true);
    expect(row!.createdAt).toBe("2020-01-01T00:00:00Z");

    await removePooled(db(), env.BITS, e);
    expect((await pooledForUpload(db(), env, identity("admin", true), org, [e.sha1])).size).toBe(0);
    expect(await env.BITS.head(poolKey(org, e.sha1))).toBeNull();
  });
});
