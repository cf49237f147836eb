// Filling the pool from READY packages (src/pool/fill.ts), through the real queue and consumer.
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { database } from "../../src/db/client";
import { packages, resourcePool } from "../../src/db/schema";
import { poolKey } from "../../src/pool/store";
import { buildZip, crc32, deflateRaw, type FixtureEntry } from "../bits/zipfix";
import { pseudoRandomBytes } from "../bits/helpers";
import { makeApp, makeOrg, makeSpace } from "../helpers/fixtures";
import { createBits, hex, uploadZip } from "../packages/helpers";

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
  });
});
