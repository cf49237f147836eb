// Positions (the reference's Sequel `plugin :list, scope: :lifecycle`): one list 1..n per lifecycle,
// exactly as the reference's list algorithm, and still 1..n without gap or duplicate when many writers
// race.
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { call } from "../../helpers/api";
import { adminAuth } from "../../helpers/tokens";
import { positionsOf, resetBuildpacks, v2Create, v3Create, type V3Buildpack } from "./helpers";

let ADMIN: string;
beforeAll(async () => {
  ADMIN = await adminAuth();
});
beforeEach(resetBuildpacks);

/** The reference algorithm on a list of names (index 0 is position 1). */
class ReferenceList {
  names: string[] = [];
  create(name: string, requested: number) {
    this.names.push(name);
    this.move(name, requested);
  }
  move(name: string, requested: number) {
    const cur = this.names.indexOf(name) + 1;
    const target = Math.min(Math.max(requested, 1), this.names.length);
    this.names.splice(cur - 1, 1);
    this.names.splice(target - 1, 0, name);
  }
  remove(name: string) {
    this.names.splice(this.names.indexOf(name), 1);
  }
  render() {
    return this.names.map((n, i) => `${n}@${i + 1}`);
  }
}

/** A deterministic pseudo-random sequence. */
function random(seed: number) {
  let x = seed;
  return (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
}

const positionsAreContiguous = (list: string[]) => {
  const positions = list.map((s) => Number(s.split("@")[1])).sort((a, b) => a - b);
  expect(positions).toEqual(Array.from({ length: positions.length }, (_, i) => i + 1));
};

describe("the list algorithm", () => {
  it("random creates, moves and deletes (v2 and v3) give exactly the reference's order", async () => {
    const model = new ReferenceList();
    const guids = new Map<string, string>();
    const rnd = random(42);
    for (let step = 0; step < 40; step++) {
      const op = model.names.length < 3 ? 0 : rnd(3);
      if (op === 0) {
        const name = `bp${step}`;
        // v2 allows any integer (0 and negatives mean the top); v3 needs >= 1.
        const requested = rnd(2) === 0 ? rnd(12) - 3 : rnd(12) + 1;
        const created = requested >= 1 && rnd(2) === 0
          ? (await v3Create(ADMIN, { name, position: requested })).guid
          : (await v2Create(ADMIN, { name, position: requested })).metadata.guid;
        guids.set(name, created);
        model.create(name, requested);
      } else if (op === 1) {
        const name = model.names[rnd(model.names.length)]!;
        const requested = rnd(model.names.length + 4);
        const res = await call("PUT", `/v2/buildpacks/${guids.get(name)}`, { auth: ADMIN, body: { position: requested } });
        expect(res.status).toBe(201);
        model.move(name, requested);
      } else {
        const name = model.names[rnd(model.names.length)]!;
        expect((await call("DELETE", `/v2/buildpacks/${guids.get(name)}`, { auth: ADMIN })).status).toBe(204);
        model.remove(name);
      }
      expect(await positionsOf(), `after step ${step}`).toEqual(model.render());
    }
  });

  it("each lifecycle has its own list", async () => {
    await v3Create(ADMIN, { name: "a", position: 1 });
    await v3Create(ADMIN, { name: "c1", lifecycle: "cnb", position: 1 });
    await v3Create(ADMIN, { name: "b", position: 1 });
    const c2 = await v3Create(ADMIN, { name: "c2", lifecycle: "cnb", position: 5 });
    expect(await positionsOf("buildpack")).toEqual(["b@1", "a@2"]);
    expect(await positionsOf("cnb")).toEqual(["c1@1", "c2@2"]);
    await call("DELETE", `/v2/buildpacks/${c2.guid}`, { auth: ADMIN });
    expect(await positionsOf("buildpack")).toEqual(["b@1", "a@2"]);
  });
});

describe("concurrency", () => {
  it("50 concurrent creates at random positions leave 1..50 without gap or duplicate", async () => {
    const rnd = random(7);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => {
      const position = rnd(60) + 1;
      return i % 2 === 0
        ? call("POST", "/v3/buildpacks", { auth: ADMIN, body: { name: `c${i}`, position } })
        : call("POST", "/v2/buildpacks", { auth: ADMIN, body: { name: `c${i}`, position } });
    }));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(201));
    const list = await positionsOf();
    expect(list).toHaveLength(50);
    positionsAreContiguous(list);
  });

  it("concurrent creates, moves and deletes in both lifecycles keep every list 1..n", async () => {
    const made: V3Buildpack[] = [];
    for (let i = 0; i < 20; i++) made.push(await v3Create(ADMIN, { name: `m${i}`, lifecycle: i % 2 ? "cnb" : "buildpack", position: 1 }));
    const rnd = random(99);
    const ops = Array.from({ length: 40 }, (_, i) => {
      const target = made[rnd(made.length)]!;
      switch (i % 4) {
        case 0: return call("PATCH", `/v3/buildpacks/${target.guid}`, { auth: ADMIN, body: { position: rnd(25) + 1 } });
        case 1: return call("PUT", `/v2/buildpacks/${target.guid}`, { auth: ADMIN, body: { position: rnd(25) - 2 } });
        case 2: return call("DELETE", `/v2/buildpacks/${target.guid}`, { auth: ADMIN });
        default: return call("POST", "/v3/buildpacks", { auth: ADMIN, body: { name: `n${i}`, lifecycle: rnd(2) ? "cnb" : "buildpack", position: rnd(25) + 1 } });
      }
    });
    const statuses = (await Promise.all(ops)).map((r) => r.status);
    // Moves and deletes of a buildpack deleted meanwhile are 404; nothing else fails.
    for (const s of statuses) expect([200, 201, 204, 404]).toContain(s);
    positionsAreContiguous(await positionsOf("buildpack"));
    positionsAreContiguous(await positionsOf("cnb"));
  });
});
