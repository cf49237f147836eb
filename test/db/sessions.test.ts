// D1 read replication through the Sessions API: every response carries the session's bookmark in
// X-D1-Bookmark; a client that sends it back reads at least what it wrote. Locally there is one
// database and no replica, so what these tests prove is the plumbing: which session each request
// opens, that the bookmark comes back well formed and moves forward with writes, and that a bad
// header never breaks a request.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, callWith, get, jsonOf } from "../helpers/api";
import { adminAuth, userAuth } from "../helpers/tokens";

const HEADER = "X-D1-Bookmark";
/** A D1 bookmark: three 8-digit hex counters and a 32-digit hex id, e.g. 00000001-0000000a-00004f1e-<32 hex>. */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

async function createOrg(auth: string, headers?: Record<string, string>) {
  const res = await call("POST", "/v3/organizations", { auth, body: { name: `bm-${crypto.randomUUID().slice(0, 8)}` }, ...(headers ? { headers } : {}) });
  expect(res.status).toBe(201);
  return { res, org: await jsonOf<{ guid: string; name: string }>(res) };
}

describe("X-D1-Bookmark", () => {
  it("a read answers with a well-formed bookmark, which is accepted back", async () => {
    const admin = await adminAuth();
    const first = await get("/v3/organizations", admin);
    expect(first.status).toBe(200);
    const bookmark = first.headers.get(HEADER);
    expect(bookmark).toMatch(BOOKMARK);
    const again = await get("/v3/organizations", admin, { [HEADER]: bookmark! });
    expect(again.status).toBe(200);
    const next = again.headers.get(HEADER);
    expect(next).toMatch(BOOKMARK);
    // Bookmarks are ordered as strings; a session never goes back.
    expect(next! >= bookmark!).toBe(true);
  });

  it("read your writes: the write's bookmark is past every earlier one, and a read from it sees the record", async () => {
    const admin = await adminAuth();
    const before = (await get("/v3/organizations", admin)).headers.get(HEADER)!;
    const { res, org } = await createOrg(admin, { [HEADER]: before });
    const written = res.headers.get(HEADER);
    expect(written).toMatch(BOOKMARK);
    expect(written! > before).toBe(true);
    const read = await get(`/v3/organizations/${org.guid}`, admin, { [HEADER]: written! });
    expect(read.status).toBe(200);
    expect((await jsonOf<{ name: string }>(read)).name).toBe(org.name);
    expect(read.headers.get(HEADER)! >= written!).toBe(true);
  });

  it("errors carry it too: a 404 after a lookup", async () => {
    const res = await get(`/v3/organizations/${crypto.randomUUID()}`, await adminAuth());
    expect(res.status).toBe(404);
    expect(res.headers.get(HEADER)).toMatch(BOOKMARK);
  });

  it("a request that runs no query echoes a valid bookmark it was sent, and sends none otherwise", async () => {
    const bookmark = (await get("/v3/organizations", await adminAuth())).headers.get(HEADER)!;
    expect((await get("/", undefined, { [HEADER]: bookmark })).headers.get(HEADER)).toBe(bookmark);
    expect((await get("/")).headers.has(HEADER)).toBe(false);
  });

  it("a malformed bookmark is ignored: the request is served as without one, with a fresh bookmark", async () => {
    const admin = await adminAuth();
    for (const bad of ["garbage", "00000001-00000002", "first-primary", "first-unconstrained", `${"0".repeat(8)}-${"0".repeat(8)}-${"0".repeat(8)}-${"z".repeat(32)}`, "a".repeat(5000)]) {
      const res = await get("/v3/organizations", admin, { [HEADER]: bad });
      expect(res.status, bad.slice(0, 40)).toBe(200);
      expect(res.headers.get(HEADER)).toMatch(BOOKMARK);
      const created = await call("POST", "/v3/organizations", { auth: admin, body: { name: `bad-${crypto.randomUUID().slice(0, 8)}` }, headers: { [HEADER]: bad } });
      expect(created.status, bad.slice(0, 40)).toBe(201);
      expect(created.headers.get(HEADER)).toMatch(BOOKMARK);
    }
    // An empty value is no bookmark.
    const empty = await get("/", undefined, { [HEADER]: "" });
    expect(empty.status).toBe(200);
    expect(empty.headers.has(HEADER)).toBe(false);
  });
});

describe("which session a request opens", () => {
  /** The DB binding, recording what each request asks withSession for. */
  function recordingDb(): { db: D1Database; opened: (string | undefined)[] } {
    const opened: (string | undefined)[] = [];
    const db = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "withSession") {
          return (constraint?: string) => {
            opened.push(constraint);
            return target.withSession(constraint);
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return { db, opened };
  }

  it("reads start unconstrained, or from the client's bookmark; writes start on the primary", async () => {
    const admin = await adminAuth();
    const { db, opened } = recordingDb();
    await callWith({ DB: db }, "GET", "/v3/organizations", { auth: admin });
    const bookmark = (await get("/v3/organizations", admin)).headers.get(HEADER)!;
    await callWith({ DB: db }, "GET", "/v3/organizations", { auth: admin, headers: { [HEADER]: bookmark } });
    await callWith({ DB: db }, "GET", "/v3/organizations", { auth: admin, headers: { [HEADER]: "nonsense" } });
    await callWith({ DB: db }, "POST", "/v3/organizations", { auth: admin, body: { name: `p-${crypto.randomUUID().slice(0, 8)}` }, headers: { [HEADER]: bookmark } });
    await callWith({ DB: db }, "DELETE", `/v3/organizations/${crypto.randomUUID()}`, { auth: admin });
    await callWith({ DB: db }, "HEAD", "/v3/organizations", { auth: admin });
    expect(opened).toEqual(["first-unconstrained", bookmark, "first-unconstrained", "first-primary", "first-primary", "first-unconstrained"]);
  });

  it("a read without a bookmark that finds nothing is asked again, once, on the primary (the cf CLI sends none)", async () => {
    const admin = await adminAuth();
    const missing = `/v3/organizations/${crypto.randomUUID()}`;

    const bare = recordingDb();
    const res = await callWith({ DB: bare.db }, "GET", missing, { auth: admin });
    expect(res.status).toBe(404);
    expect((await jsonOf<{ errors: { code: number }[] }>(res)).errors[0]?.code).toBe(10010);
    expect(bare.opened).toEqual(["first-unconstrained", "first-primary"]);

    // With a bookmark the client already reads its own writes: its 404 is final.
    const bookmark = (await get("/v3/organizations", admin)).headers.get(HEADER)!;
    const withBookmark = recordingDb();
    expect((await callWith({ DB: withBookmark.db }, "GET", missing, { auth: admin, headers: { [HEADER]: bookmark } })).status).toBe(404);
    expect(withBookmark.opened).toEqual([bookmark]);

    // Found, written, or an unknown route (no lookup ran): asked once.
    const { org } = await createOrg(admin);
    for (const [method, path] of [["GET", `/v3/organizations/${org.guid}`], ["DELETE", missing], ["GET", "/v3/no-such-resource"]] as const) {
      const once = recordingDb();
      await callWith({ DB: once.db }, method, path, { auth: admin });
      expect(once.opened, `${method} ${path}`).toHaveLength(1);
    }
  });

  it("a read asked again on the primary counts once against the caller's rate limit", async () => {
    const { db } = recordingDb();
    let counted = 0;
    const limiter = { limit: async () => { counted++; return { success: true }; } };
    const res = await callWith({ DB: db, RATE_LIMITER: limiter }, "GET", `/v3/organizations/${crypto.randomUUID()}`, { auth: await userAuth() });
    expect(res.status).toBe(404);
    expect(counted).toBe(1);
  });
});

