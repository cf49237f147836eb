// The orphan sweep's pass over a key prefix (src/bits/orphans.ts): what it deletes, what it keeps,
// where a pass starts and how far it goes.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { randomStart, sweepOrphanedBits } from "../../src/bits/orphans";
import { listKeys } from "../helpers/r2";

const HOUR = 3600_000;
const later = () => Date.now() + 2 * HOUR;

async function clear() {
  const keys = await listKeys(env.BITS, "orph/");
  if (keys.length > 0) await env.BITS.delete(keys);
}
beforeEach(clear);

/** Puts `n` objects `orph/<two hex digits>/<i>`, spread over the key space. */
async function putSpread(n: number): Promise<string[]> {
  const keys = Array.from({ length: n }, (_, i) => `orph/${(i * 37 % 256).toString(16).padStart(2, "0")}/${i}`);
  for (const key of keys) await env.BITS.put(key, "x");
  return keys.sort();
}

describe("sweepOrphanedBits", () => {
  it("deletes old objects nobody refers to; keeps referenced ones, recent ones, and everything outside the prefix", async () => {
    const [kept, orphan, another] = await putSpread(3);
    await env.BITS.put("elsewhere/old", "x");
    const referenced = async (keys: string[]) => new Set(keys.filter((k) => k === kept));
    expect(await sweepOrphanedBits(env.BITS, { prefix: "orph/", referenced })).toBe(0); // nothing is an hour old yet
    expect(await sweepOrphanedBits(env.BITS, { prefix: "orph/", referenced, now: later() })).toBe(2);
    expect(await listKeys(env.BITS, "orph/")).toEqual([kept]);
    expect(orphan).not.toBe(another);
    expect(await listKeys(env.BITS, "elsewhere/")).toEqual(["elsewhere/old"]);
    await env.BITS.delete("elsewhere/old");
  });

  it("a pass that starts in the middle wraps around and visits every key once", async () => {
    const keys = await putSpread(40);
    const seen: string[] = [];
    const referenced = async (batch: string[]) => {
      seen.push(...batch);
      return new Set(batch); // keep everything: only count the visits
    };
    expect(await sweepOrphanedBits(env.BITS, { prefix: "orph/", referenced, now: later(), startAfter: "orph/80" })).toBe(0);
    expect([...seen].sort()).toEqual(keys);
    expect(new Set(seen).size).toBe(keys.length);
    // The visit order: the keys after the start, then those before it.
    const split = seen.findIndex((k) => k < "orph/80");
    expect(seen.slice(0, split).every((k) => k > "orph/80")).toBe(true);
    expect(seen.slice(split).every((k) => k < "orph/80")).toBe(true);
  });

  it("looks at no more than maxKeys keys in one pass; later passes from other places take the rest", async () => {
    await putSpread(12);
    const none = async () => new Set<string>();
    expect(await sweepOrphanedBits(env.BITS, { prefix: "orph/", referenced: none, now: later(), maxKeys: 5, startAfter: "orph/00" })).toBe(5);
    expect(await listKeys(env.BITS, "orph/")).toHaveLength(7);
    expect(await sweepOrphanedBits(env.BITS, { prefix: "orph/", referenced: none, now: later(), maxKeys: 5, startAfter: "orph/a0" })).toBe(5);
    expect(await sweepOrphanedBits(env.BITS, { prefix: "orph/", referenced: none, now: later() })).toBe(2);
    expect(await listKeys(env.BITS, "orph/")).toEqual([]);
  });

  it("randomStart gives a place inside the prefix's hex key space", () => {
    for (let i = 0; i < 20; i++) expect(randomStart("packages/")).toMatch(/^packages\/[0-9a-f]{2}$/);
  });
});
