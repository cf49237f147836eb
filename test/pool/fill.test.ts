// Filling the pool from READY packages (src/pool/fill.ts), through the real queue and consumer.
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { database } from "../../src/db/client";
import { packages, resourcePool } from "../../src/db/schema";
import { fillFromPackage } from "../../src/pool/fill";
import { poolKey, recordPooled, type PoolEntry } from "../../src/pool/store";
import { sweepPool } from "../../src/pool/sweep";
import { buildZip, crc32, deflateRaw, type FixtureEntry } from "../helpers/zip";
import { digestHex as hex, pseudoRandomBytes } from "../helpers/bytes";
import { makeApp, makeOrg, makeSpace } from "../helpers/fixtures";
import { createBits, uploadZip } from "../resources/packages/helpers";

const db = () => database(env.DB);

async function poolRows(scope: string) {
  return (await db().select().from(resourcePool).where(eq(resourcePool.scope, scope))).sort((a, b) => a.size - b.size);
}

async function pooledAt(guid: string): Promise<string | null> {
  const [row] = await db().select({ pooledAt: packages.pooledAt }).from(packages).where(eq(packages.guid, guid));
  return row?.pooledAt ?? null;
}

async function waitPooled(guid: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await pooledAt(guid)) !== null) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`package ${guid} was not pooled`);
}

describe("a READY package's eligible files go into its organization's pool", () => {
  it("through the queue: exactly the eligible files, with their SHA-1, CRC-32, sizes, and the compressed bytes in R2", async () => {
    const org = await makeOrg();
    const app = await makeApp({ spaceGuid: (await makeSpace({ orgGuid: org.guid })).guid });
    const big = pseudoRandomBytes(70_000, 1);
    const justAbove = pseudoRandomBytes(65_537, 2);
    const atMin = pseudoRandomBytes(65_536, 3);
    const compressible = new TextEncoder().encode("x".repeat(200_000));
    const entries: FixtureEntry[] = [
      { name: "lib/" },
      { name: "big.bin", data: big, method: 8 },
      { name: "lib/above.bin", data: justAbove },
      { name: "at-min.bin", data: atMin, method: 8 },
      { name: "small.txt", data: "hello" },
      { name: "text.txt", data: compressible, method: 8 },
    ];
    const pkg = await createBits(app.guid);
    expect((await uploadZip(pkg.guid, await buildZip(entries))).status).toBe(200);
    await waitPooled(pkg.guid);

    const rows = await poolRows(org.guid);
    const expected = [
      { data: justAbove, stored: justAbove, method: 0 },
      { data: big, stored: await deflateRaw(big), method: 8 },
      { data: compressible, stored: await deflateRaw(compressible), method: 8 },
    ];
    expect(rows.map((r) => ({ sha1: r.sha1, size: r.size, compressedSize: r.compressedSize, crc32: r.crc32, method: r.method }))).toEqual(
      await Promise.all(expected.map(async (e) => ({ sha1: await hex("SHA-1", e.data), size: e.data.length, compressedSize: e.stored.length, crc32: crc32(e.data), method: e.method }))),
    );
    for (const [i, e] of expected.entries()) {
      const obj = await env.BITS.get(poolKey(org.guid, rows[i]!.sha1));
      expect(new Uint8Array(await obj!.arrayBuffer())).toEqual(e.stored);
    }
    // Each row names the package as its source: its key, its etag, and where the compressed bytes start in it.
    const [pkgRow] = await db().select({ bitsKey: packages.bitsKey }).from(packages).where(eq(packages.guid, pkg.guid));
    const object = await env.BITS.get(pkgRow!.bitsKey!);
    const bytes = new Uint8Array(await object!.arrayBuffer());
    for (const [i, e] of expected.entries()) {
      const row = rows[i]!;
      expect([row.sourceKey, row.sourceEtag]).toEqual([pkgRow!.bitsKey, object!.etag]);
      expect(bytes.subarray(row.sourceOffset!, row.sourceOffset! + e.stored.length)).toEqual(e.stored);
    }
  });
});

/** A READY package made straight in D1 and R2: no message was sent for it (as when one is lost). */
async function readyWithoutMessage(appGuid: string, zip: Uint8Array, readyAt = "2020-01-01T00:00:00Z"): Promise<string> {
  const guid = crypto.randomUUID();
  const bitsKey = `packages/${guid}/${crypto.randomUUID()}`;
  await env.BITS.put(bitsKey, zip);
  await db().insert(packages).values({
    guid, appGuid, type: "bits", state: "READY", bitsKey, bitsSize: zip.length, sha1: await hex("SHA-1", zip), sha256: await hex("SHA-256", zip),
    createdAt: readyAt, updatedAt: readyAt,
  });
  return guid;
}

async function orgAndApp() {
  const org = await makeOrg();
  const app = await makeApp({ spaceGuid: (await makeSpace({ orgGuid: org.guid })).guid });
  return { org: org.guid, app: app.guid };
}

/** The zip with one byte of `name`'s stored data changed: its CRC-32 no longer matches. */
function corrupt(zip: Uint8Array, name: string, at: number): Uint8Array {
  const out = zip.slice();
  const needle = new TextEncoder().encode(name);
  for (let i = 0; i < out.length - 30; i++) {
    if (out[i] === 0x50 && out[i + 1] === 0x4b && out[i + 2] === 3 && out[i + 3] === 4) {
      const n = out[i + 26]! | (out[i + 27]! << 8);
      const m = out[i + 28]! | (out[i + 29]! << 8);
      if (n === needle.length && needle.every((b, j) => out[i + 30 + j] === b)) {
        const k = i + 30 + n + m + at;
        out[k] = out[k]! ^ 0xff;
        return out;
      }
    }
  }
  throw new Error(`no entry ${name}`);
}

describe("verification", () => {
  it("an entry whose bytes do not match its CRC-32 (stored or deflated) is never pooled; the others are", async () => {
    const { org, app } = await orgAndApp();
    const good = pseudoRandomBytes(80_000, 10);
    let zip = await buildZip([
      { name: "bad-stored.bin", data: pseudoRandomBytes(80_000, 11) },
      { name: "good.bin", data: good },
      { name: "bad-deflated.bin", data: new TextEncoder().encode("abc".repeat(50_000)), method: 8 },
    ]);
    zip = corrupt(corrupt(zip, "bad-stored.bin", 1000), "bad-deflated.bin", 100);
    const pkg = await createBits(app);
    expect((await uploadZip(pkg.guid, zip)).status).toBe(200);
    await waitPooled(pkg.guid);
    expect((await poolRows(org)).map((r) => r.sha1)).toEqual([await hex("SHA-1", good)]);
    const keys = (await env.BITS.list({ prefix: `pool/${org}/` })).objects.map((o) => o.key);
    expect(keys).toEqual([poolKey(org, await hex("SHA-1", good))]);
  });

  it("symbolic links and files at or below the minimum size are not pooled", async () => {
    const { org, app } = await orgAndApp();
    const target = pseudoRandomBytes(70_000, 20);
    const zip = await buildZip([{ name: "link", data: target }, { name: "file.bin", data: pseudoRandomBytes(65_536, 21) }]);
    // Make "link" a symlink: unix S_IFLNK in the external attributes of its central directory entry.
    const cd = zip.findIndex((_, i) => zip[i] === 0x50 && zip[i + 1] === 0x4b && zip[i + 2] === 1 && zip[i + 3] === 2);
    new DataView(zip.buffer, zip.byteOffset).setUint32(cd + 38, (0o120777 << 16) >>> 0, true);
    const guid = await readyWithoutMessage(app, zip);
    const result = await runConsumer({ packageGuid: guid });
    expect(result.outcome).toBe("ok");
    expect(await poolRows(org)).toEqual([]);
    expect(await pooledAt(guid)).not.toBeNull();
  });
});

/** Runs the Worker's queue() handler on one message, as the queue would deliver it. */
async function runConsumer(body: unknown) {
  const batch = createMessageBatch("cf-bits-api-pool", [{ id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body }]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

describe("bounded work per message", () => {
  it("a message verifies at most FILL_BUDGET entries and queues the rest as a continuation", async () => {
    const { org, app } = await orgAndApp();
    const files = [1, 2, 3].map((i) => pseudoRandomBytes(66_000 + i, 30 + i));
    const guid = await readyWithoutMessage(app, await buildZip(files.map((data, i) => ({ name: `f${i}.bin`, data }))));
    const first = await fillFromPackage(env, { packageGuid: guid }, { entries: 2, bytes: 1 << 30 });
    expect(first).toEqual({ pooled: 2, known: 0, corrupt: 0, next: 2 });
    expect(await pooledAt(guid)).toBeNull();
    // The continuation goes through the queue and finishes the package.
    await waitPooled(guid);
    expect((await poolRows(org)).map((r) => r.sha1).sort()).toEqual((await Promise.all(files.map((f) => hex("SHA-1", f)))).sort());
  });

  it("files the scope already holds are not read again but count as used; the same files in another organization are pooled there", async () => {
    const { org, app } = await orgAndApp();
    const data = pseudoRandomBytes(90_000, 40);
    const zip = await buildZip([{ name: "a.bin", data }]);
    const first = await readyWithoutMessage(app, zip);
    expect(await fillFromPackage(env, { packageGuid: first })).toEqual({ pooled: 1, known: 0, corrupt: 0 });
    await db().update(resourcePool).set({ lastUsedAt: "2020-01-01T00:00:00Z" }).where(eq(resourcePool.scope, org));
    const again = await readyWithoutMessage(app, zip);
    expect(await fillFromPackage(env, { packageGuid: again })).toEqual({ pooled: 0, known: 0, corrupt: 0 });
    // Held again by a package: used, so pruning keeps it.
    expect((await poolRows(org))[0]!.lastUsedAt > "2020-01-01T00:00:00Z").toBe(true);
    expect(await pooledAt(again)).not.toBeNull();
    const other = await orgAndApp();
    expect(await fillFromPackage(env, { packageGuid: await readyWithoutMessage(other.app, zip) })).toEqual({ pooled: 1, known: 0, corrupt: 0 });
    expect((await poolRows(other.org)).map((r) => r.sha1)).toEqual([await hex("SHA-1", data)]);
    expect(await poolRows(org)).toHaveLength(1);
  });
});

describe("the sweep", () => {
  it("queues again a READY package whose message was lost, and the consumer pools it; a package READY just now is left to its message", async () => {
    const { org, app } = await orgAndApp();
    const data = pseudoRandomBytes(100_000, 50);
    const lost = await readyWithoutMessage(app, await buildZip([{ name: "x.bin", data }]));
    const recent = await readyWithoutMessage(app, await buildZip([{ name: "y.bin", data: pseudoRandomBytes(100_000, 51) }]), new Date().toISOString().replace(/\.\d{3}Z$/, "Z"));
    const result = await sweepPool(db(), env);
    expect(result.requeued).toBeGreaterThanOrEqual(1);
    await waitPooled(lost);
    expect((await poolRows(org)).map((r) => r.sha1)).toEqual([await hex("SHA-1", data)]);
    expect(await pooledAt(recent)).toBeNull();
  });

  it("prunes entries unused for RESOURCE_POOL_MAX_IDLE_DAYS, rows and objects, and keeps recent ones", async () => {
    const scope = (await makeOrg()).guid;
    const now = Date.now();
    const day = 24 * 60 * 60 * 1000;
    const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
    const entry = (n: number): PoolEntry => ({ scope, sha1: n.toString(16).padStart(40, "0"), size: 70_000, compressedSize: 3, crc32: n, method: 0 });
    const ages = [{ n: 1, days: 36 }, { n: 2, days: 34 }, { n: 3, days: 400 }, { n: 4, days: 1 }];
    for (const { n, days } of ages) {
      await env.BITS.put(poolKey(scope, entry(n).sha1), "abc");
      await recordPooled(db(), [entry(n)], at(now - days * day));
    }
    const result = await sweepPool(db(), env, now);
    expect(result.pruned).toBe(2);
    expect((await poolRows(scope)).map((r) => r.crc32).sort()).toEqual([2, 4]);
    expect((await env.BITS.list({ prefix: `pool/${scope}/` })).objects.map((o) => o.key).sort()).toEqual([entry(2), entry(4)].map((e) => poolKey(scope, e.sha1)));
    // The age follows the var.
    expect((await sweepPool(db(), { ...env, RESOURCE_POOL_MAX_IDLE_DAYS: "7" }, now)).pruned).toBe(1);
    expect((await poolRows(scope)).map((r) => r.crc32)).toEqual([4]);
  });
});
