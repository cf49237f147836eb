// POST /v3/resource_matches against a real pool: validation in the reference's words, eligibility,
// tenancy, one D1 statement whatever the list's length.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/index";
import { database } from "../../src/db/client";
import { poolKey, recordPooled, removePooled, type PoolEntry } from "../../src/pool/store";
import { call, jsonOf, ORIGIN, v3Error } from "../helpers/api";
import { grant, makeOrg, makeSpace } from "../helpers/fixtures";
import { adminAuth, bearer, SCOPES } from "../helpers/tokens";

const db = () => database(env.DB);
const sha = (n: number) => n.toString(16).padStart(40, "a");
const entryIn = (scope: string, n: number): PoolEntry => ({ scope, sha1: sha(n), size: 100_000, compressedSize: 90_000, crc32: n, method: 8 });
const resource = (n: number, extra: Record<string, unknown> = {}) => ({ path: `f${n}.bin`, mode: "644", checksum: { value: sha(n) }, size_in_bytes: 100_000, ...extra });

async function match(auth: string, body: unknown, bindings?: Record<string, unknown>): Promise<Response> {
  if (bindings === undefined) return call("POST", "/v3/resource_matches", { auth, body });
  const request = new Request(`${ORIGIN}/v3/resource_matches`, {
    method: "POST", headers: { Authorization: auth, "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body),
  });
  return app.fetch(request, { ...env, ...bindings });
}

async function matched(auth: string, resources: unknown[], bindings?: Record<string, unknown>): Promise<unknown[]> {
  const res = await match(auth, { resources }, bindings);
  if (res.status !== 201) throw new Error(`${res.status}: ${await res.text()}`);
  return (await jsonOf<{ resources: unknown[] }>(res)).resources;
}

async function detail(body: unknown): Promise<string> {
  const res = await match(await adminAuth(), body);
  expect(res.status, JSON.stringify(body)).toBe(422);
  const error = await v3Error(res);
  expect(error.title).toBe("CF-UnprocessableEntity");
  expect(error.code).toBe(10008);
  return error.detail;
}

describe("validation (app/messages/resource_match_create_message.rb)", () => {
  const P = "Resources array contains at least one resource with";
  it("the list: an array of 1 to 5,000 entries", async () => {
    expect(await detail({ resources: [] })).toBe("Resources must have at least 1 resource");
    expect(await detail({})).toBe("Resources must be an array, Resources must have at least 1 resource");
    expect(await detail({ resources: null })).toBe("Resources must be an array, Resources must have at least 1 resource");
    expect(await detail({ resources: "x" })).toBe("Resources must be an array");
    expect(await detail({ resources: Array.from({ length: 5001 }, (_, i) => resource(i)) })).toBe("Resources array can have at most 5000 resources");
    expect(await detail({ resources: [resource(1)], other: 1 })).toBe("Unknown field(s): 'other'");
    expect((await match(await adminAuth(), { resources: Array.from({ length: 5000 }, (_, i) => resource(i)) })).status).toBe(201);
  });

  it("each entry's checksum, size and mode, each message once", async () => {
    expect(await detail({ resources: [resource(1, { checksum: "x" }), resource(2, { checksum: null })] })).toBe(`${P} a non-object checksum`);
    expect(await detail({ resources: [resource(1, { checksum: { value: 1 } })] })).toBe(`${P} a non-string checksum value`);
    expect(await detail({ resources: [resource(1, { checksum: {} })] })).toBe(`${P} a non-string checksum value`);
    expect(await detail({ resources: [resource(1, { checksum: { value: "abc" } })] })).toBe(`${P} a non-SHA1 checksum value`);
    expect(await detail({ resources: [resource(1, { size_in_bytes: "12" }), resource(2, { size_in_bytes: 1.5 }), resource(3, { size_in_bytes: undefined })] }))
      .toBe(`${P} a non-integer size_in_bytes`);
    expect(await detail({ resources: [resource(1, { size_in_bytes: -1 })] })).toBe(`${P} a negative size_in_bytes`);
    expect(await detail({ resources: [resource(1, { mode: 644 })] })).toBe(`${P} a non-string mode`);
    expect(await detail({ resources: [resource(1, { mode: "rw-r--r--" }), resource(2, { mode: "8" }), resource(3, { mode: "" })] })).toBe(`${P} an incorrect mode`);
    expect(await detail({
      resources: [resource(1, { checksum: 1, size_in_bytes: -5, mode: "9" }), resource(2, { checksum: { value: "short" }, size_in_bytes: "x", mode: true }), resource(3, { checksum: 2 })],
    })).toBe(`${P} a non-object checksum, ${P} a negative size_in_bytes, ${P} an incorrect mode, ${P} a non-SHA1 checksum value, ${P} a non-integer size_in_bytes, ${P} a non-string mode`);
    // A mode may be absent or null (the upload then uses 0744).
    expect((await match(await adminAuth(), { resources: [resource(1, { mode: undefined }), resource(2, { mode: null })] })).status).toBe(201);
  });

  it("an element that is not an object is 422 (the reference fails with a 500)", async () => {
    expect(await detail({ resources: [1, resource(1), "x"] })).toBe("Resources must be an array of resource objects");
  });

  it("needs a token with the write scope", async () => {
    expect((await call("POST", "/v3/resource_matches", { body: { resources: [resource(1)] } })).status).toBe(401);
    expect((await match(await bearer({ scopes: SCOPES.readOnly }), { resources: [resource(1)] })).status).toBe(403);
  });
});

describe("what matches", () => {
  let org: string;
  let dev: string;
  beforeAll(async () => {
    org = (await makeOrg()).guid;
    await grant("match-dev", "space_developer", { spaceGuid: (await makeSpace({ orgGuid: org })).guid });
    dev = await bearer({ user: "match-dev" });
    await recordPooled(db(), [1, 2, 3].map((n) => entryIn(org, n)));
  });

  it("the entries the pool holds, echoed as sent in the presenter's shape, in the order sent", async () => {
    const sent = [resource(9), resource(2, { path: "b/two.bin", mode: "755", extra: "dropped" }), resource(1), resource(2, { path: "again.bin" })];
    expect(await matched(dev, sent)).toEqual([
      { checksum: { value: sha(2) }, size_in_bytes: 100_000, path: "b/two.bin", mode: "755" },
      { checksum: { value: sha(1) }, size_in_bytes: 100_000, path: "f1.bin", mode: "644" },
      { checksum: { value: sha(2) }, size_in_bytes: 100_000, path: "again.bin", mode: "644" },
    ]);
    expect(await matched(dev, [resource(1, { mode: undefined })])).toEqual([{ checksum: { value: sha(1) }, size_in_bytes: 100_000, path: "f1.bin", mode: null }]);
  });

  it("only sizes strictly inside RESOURCE_MIN_SIZE and RESOURCE_MAX_SIZE", async () => {
    const sizes = [0, 65_535, 65_536, 65_537, 536_870_911, 536_870_912, 536_870_913];
    const got = await matched(dev, sizes.map((s) => resource(1, { size_in_bytes: s })));
    expect(got.map((r) => (r as { size_in_bytes: number }).size_in_bytes)).toEqual([65_537, 536_870_911]);
    // The window follows the vars.
    const narrowed = await matched(dev, [65_537, 100_000, 100_001].map((s) => resource(1, { size_in_bytes: s })), { RESOURCE_MIN_SIZE: "100000", RESOURCE_MAX_SIZE: "100002" });
    expect(narrowed.map((r) => (r as { size_in_bytes: number }).size_in_bytes)).toEqual([100_001]);
  });

  it("only modes granting at least 0600 (numerically, as the reference)", async () => {
    const modes = ["0", "400", "444", "577", "600", "0600", "644", "700", "1000", "100644"];
    const got = await matched(dev, modes.map((mode) => resource(1, { mode })));
    expect(got.map((r) => (r as { mode: string }).mode)).toEqual(["600", "0600", "644", "700", "1000", "100644"]);
  });

  it("a removed entry is no longer offered", async () => {
    await env.BITS.put(poolKey(org, sha(3)), "x");
    expect(await matched(dev, [resource(3)])).toHaveLength(1);
    await removePooled(db(), env.BITS, { scope: org, sha1: sha(3) });
    expect(await matched(dev, [resource(3)])).toEqual([]);
  });
});

describe("tenancy", () => {
  let a: string, b: string, c: string, s: string;
  beforeAll(async () => {
    a = (await makeOrg()).guid;
    b = (await makeOrg()).guid;
    c = (await makeOrg()).guid;
    s = (await makeOrg({ suspended: true })).guid;
    await grant("one-org", "space_developer", { spaceGuid: (await makeSpace({ orgGuid: a })).guid });
    await grant("two-orgs", "space_developer", { spaceGuid: (await makeSpace({ orgGuid: a })).guid });
    await grant("two-orgs", "space_developer", { spaceGuid: (await makeSpace({ orgGuid: b })).guid });
    // Roles that do not allow uploading package bits.
    await grant("two-orgs", "organization_manager", { orgGuid: c });
    await grant("two-orgs", "space_manager", { spaceGuid: (await makeSpace({ orgGuid: c })).guid });
    await grant("two-orgs", "space_developer", { spaceGuid: (await makeSpace({ orgGuid: s })).guid });
    await recordPooled(db(), [entryIn(a, 11), entryIn(b, 12), entryIn(c, 13), entryIn(s, 14), entryIn("global", 15)]);
  });
  const all = [11, 12, 13, 14, 15].map((n) => resource(n));
  const shas = (list: unknown[]) => list.map((r) => (r as { checksum: { value: string } }).checksum.value);

  it("organization scope: another organization's files never match", async () => {
    expect(shas(await matched(await bearer({ user: "one-org" }), all))).toEqual([sha(11)]);
    expect(shas(await matched(await bearer({ user: "nobody" }), all))).toEqual([]);
  });

  it("a user with the right to upload in two organizations matches the files of both, not of one where they may not upload or that is suspended", async () => {
    expect(shas(await matched(await bearer({ user: "two-orgs" }), all))).toEqual([sha(11), sha(12)]);
  });

  it("admins match every organization's files", async () => {
    expect(shas(await matched(await adminAuth(), all))).toEqual([sha(11), sha(12), sha(13), sha(14)]);
  });

  it("global scope: the one global pool, for everyone", async () => {
    const global = { RESOURCE_POOL_SCOPE: "global" };
    expect(shas(await matched(await bearer({ user: "one-org" }), all, global))).toEqual([sha(15)]);
    expect(shas(await matched(await bearer({ user: "nobody" }), all, global))).toEqual([sha(15)]);
  });
});

describe("one D1 statement per request", () => {
  it("5,000 entries: one statement with one bound value for the list", async () => {
    const org = (await makeOrg()).guid;
    await grant("counted", "space_developer", { spaceGuid: (await makeSpace({ orgGuid: org })).guid });
    await recordPooled(db(), [entryIn(org, 4999)]);
    const statements: { sql: string; params: number }[] = [];
    // The binding (and any session the request opens on it, src/db/session.ts), counting statements.
    const counted = <T extends object>(target: T): T => new Proxy(target, {
      get(t, prop) {
        if (prop === "prepare") {
          return (query: string) => {
            const stmt = (t as unknown as D1Database).prepare(query);
            const entry = { sql: query, params: 0 };
            statements.push(entry);
            return new Proxy(stmt, {
              get(st, p) {
                if (p === "bind") return (...args: unknown[]) => { entry.params = args.length; return st.bind(...args); };
                const v = Reflect.get(st, p, st) as unknown;
                return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(st) : v;
              },
            });
          };
        }
        if (prop === "batch") throw new Error("no batch expected");
        if (prop === "withSession") return (...args: unknown[]) => counted((t as unknown as D1Database).withSession(...(args as [string])));
        const v = Reflect.get(t, prop, t) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    const counting = counted(env.DB);
    const list = Array.from({ length: 5000 }, (_, i) => resource(i));
    const token = await bearer({ user: "counted" });
    // The first request of an identity records it (src/auth/kind.ts, once per isolate); count the next.
    await matched(token, [resource(1)]);
    const got = await matched(token, list, { DB: counting });
    expect(shas2(got)).toEqual([sha(4999)]);
    expect(statements).toHaveLength(1);
    expect(statements[0]!.sql).toContain("json_each");
    expect(statements[0]!.params).toBeLessThan(10);
  });
});

const shas2 = (list: unknown[]) => list.map((r) => (r as { checksum: { value: string } }).checksum.value);
