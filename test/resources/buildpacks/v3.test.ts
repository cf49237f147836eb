// /v3/buildpacks: the v3 BuildpacksController (cases 51-78), list filters, labels and annotations, bits in R2.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { buildpacks } from "../../../src/db/schema";
import { call, get, jsonOf, ORIGIN, v3Error, waitForJob } from "../../helpers/api";
import { scopeTokens } from "../../helpers/tokens";
import {
  bitsKeyOf, ensureStacks, fileForm, manifestZip, plainZip, positionsOf, resetBuildpacks, S1, S2, S3, storedKeys, v3Create,
  type V3Buildpack,
} from "./helpers";

type Page = {
  pagination: {
    total_results: number; total_pages: number; first: { href: string }; last: { href: string };
    next: { href: string } | null; previous: { href: string } | null;
  };
  resources: V3Buildpack[];
};

let ADMIN: string;
let USER: string;
let READER: string;
let ARO: string;
let GA: string;

beforeAll(async () => {
  ({ admin: ADMIN, user: USER, reader: READER, aro: ARO, ga: GA } = await scopeTokens());
  await ensureStacks(S1, S2, S3, "stack-from-manifest");
});
beforeEach(resetBuildpacks);

const list = async (query = "", auth = USER) => {
  const res = await get(`/v3/buildpacks${query}`, auth);
  expect(res.status, await res.clone().text()).toBe(200);
  return jsonOf<Page>(res);
};
const guids = (p: Page) => p.resources.map((r) => r.guid);
const patch = (guid: string, body: unknown, auth = ADMIN) => call("PATCH", `/v3/buildpacks/${guid}`, { auth, body });
const post = (body: unknown, auth = ADMIN) => call("POST", "/v3/buildpacks", { auth, body });
const upload = (guid: string, form: FormData, auth = ADMIN) => call("POST", `/v3/buildpacks/${guid}/upload`, { auth, body: form });
const show = async (guid: string) => jsonOf<V3Buildpack>(await get(`/v3/buildpacks/${guid}`, ADMIN));
const base = `${ORIGIN}/v3/buildpacks`;

/** Case 52's data, created in this order. */
async function fiveBuildpacks() {
  const bp4 = await v3Create(ADMIN, { name: "bp4", lifecycle: "cnb", position: 2 });
  const bp5 = await v3Create(ADMIN, { name: "bp5", lifecycle: "cnb", position: 1 });
  const bp1 = await v3Create(ADMIN, { name: "bp1", stack: S1, position: 1 });
  const bp2 = await v3Create(ADMIN, { name: "bp2", stack: S2, position: 3 });
  const bp3 = await v3Create(ADMIN, { name: "bp3", stack: S3, position: 2 });
  return { bp1: bp1.guid, bp2: bp2.guid, bp3: bp3.guid, bp4: bp4.guid, bp5: bp5.guid };
}

describe("5.6 v3 list / show", () => {
  it("case 51: no token is 401 CF-NotAuthenticated", async () => {
    const res = await get("/v3/buildpacks");
    expect(res.status).toBe(401);
    expect(await jsonOf(res)).toEqual({ errors: [{ detail: "Authentication error", title: "CF-NotAuthenticated", code: 10002 }] });
  });

  it("case 52: pages with absolute links", async () => {
    const { bp1, bp3 } = await fiveBuildpacks();
    const page = await list("?page=1&per_page=2");
    expect(page.pagination).toEqual({
      total_results: 5,
      total_pages: 3,
      first: { href: `${base}?page=1&per_page=2` },
      last: { href: `${base}?page=3&per_page=2` },
      next: { href: `${base}?page=2&per_page=2` },
      previous: null,
    });
    expect(guids(page)).toEqual([bp1, bp3]);
  });

  it("case 53: the default order is lifecycle, then position", async () => {
    const { bp1, bp2, bp3, bp4, bp5 } = await fiveBuildpacks();
    const page = await list();
    expect(guids(page)).toEqual([bp1, bp3, bp2, bp5, bp4]);
    expect(page.pagination.first.href).toBe(`${base}?page=1&per_page=50`);
    expect(page.pagination.next).toBeNull();
  });

  it("case 54: order_by=-lifecycle reverses lifecycle and position", async () => {
    const { bp1, bp2, bp3, bp4, bp5 } = await fiveBuildpacks();
    const page = await list("?order_by=-lifecycle");
    expect(guids(page)).toEqual([bp4, bp5, bp2, bp3, bp1]);
    expect(page.pagination.first.href).toContain("order_by=-lifecycle");
  });

  it("case 55: names and stacks filters, kept in the links", async () => {
    const { bp1, bp3 } = await fiveBuildpacks();
    let page = await list("?names=bp1,bp3&order_by=-position");
    expect(guids(page)).toEqual([bp3, bp1]);
    expect(page.pagination.first.href).toBe(`${base}?names=bp1%2Cbp3&order_by=-position&page=1&per_page=50`);
    page = await list(`?names=bp1,bp3&stacks=${S1}`);
    expect(guids(page)).toEqual([bp1]);
    expect(page.pagination.first.href).toBe(`${base}?names=bp1%2Cbp3&page=1&per_page=50&stacks=${S1}`);
  });

  it("case 56: lifecycle=cnb; stacks= means no stack", async () => {
    const { bp4, bp5 } = await fiveBuildpacks();
    const page = await list("?lifecycle=cnb");
    expect(guids(page)).toEqual([bp5, bp4]);
    expect(page.pagination.total_results).toBe(2);
    await resetBuildpacks();
    const nil = await v3Create(ADMIN, { name: "bp_nil" });
    const withStack = await v3Create(ADMIN, { name: "bp_s", stack: S1 });
    expect(guids(await list("?stacks="))).toEqual([nil.guid]);
    expect(guids(await list(`?stacks=,${S1}`)).sort()).toEqual([nil.guid, withStack.guid].sort());
  });

  it("case 57: per_page must be a positive integer up to 5000", async () => {
    let err = await v3Error(await get("/v3/buildpacks?per_page=whoops", USER));
    expect(err).toMatchObject({ title: "CF-BadQueryParameter", code: 10005 });
    expect(err.detail).toContain("Per page must be a positive integer");
    const res = await get("/v3/buildpacks?per_page=5001", USER);
    expect(res.status).toBe(400);
    err = await v3Error(res);
    expect(err.detail).toContain("Per page must be between 1 and 5000");
    expect((await list("?per_page=5000")).pagination.first.href).toBe(`${base}?page=1&per_page=5000`);
  });

  it("case 58: bad lifecycle, unknown parameter, bad order_by are 400", async () => {
    const cases: [string, string][] = [
      ["?lifecycle=foo", 'Lifecycle must be either "buildpack" or "cnb"'],
      ["?foobar=pants", "Unknown query parameter(s): 'foobar'"],
      ["?order_by=name", "Order by can only be: 'created_at', 'updated_at', 'position', 'lifecycle'"],
    ];
    for (const [query, detail] of cases) {
      const res = await get(`/v3/buildpacks${query}`, USER);
      expect(res.status, query).toBe(400);
      const err = await v3Error(res);
      expect(err.title).toBe("CF-BadQueryParameter");
      expect(err.detail).toContain(detail);
    }
  });

  it("case 59: an empty list", async () => {
    const page = await list();
    expect(page.pagination).toMatchObject({ total_results: 0, total_pages: 1 });
    expect(page.resources).toEqual([]);
  });

  it("case 60: every reader sees the v3 shape (links relative, as the contract says)", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    for (const auth of [USER, ARO, GA]) {
      const res = await get(`/v3/buildpacks/${bp.guid}`, auth);
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
      const body = await jsonOf<V3Buildpack>(res);
      expect(Object.keys(body)).toEqual([
        "guid", "created_at", "updated_at", "name", "stack", "state", "lifecycle", "filename", "position", "enabled", "locked", "metadata", "links",
      ]);
      expect(body).toMatchObject({ state: "AWAITING_UPLOAD", filename: null, metadata: { labels: {}, annotations: {} } });
      expect(body.links).toEqual({
        self: { href: `/v3/buildpacks/${bp.guid}` },
        upload: { href: `/v3/buildpacks/${bp.guid}/upload`, method: "POST" },
      });
    }
  });

  it("case 61: an unknown guid is 404 Buildpack not found", async () => {
    const res = await get("/v3/buildpacks/does-not-exist", USER);
    expect(res.status).toBe(404);
    expect(await jsonOf(res)).toEqual({ errors: [{ detail: "Buildpack not found", title: "CF-ResourceNotFound", code: 10010 }] });
  });
});

describe("v3 list filters", () => {
  it("guids, label_selector and its errors", async () => {
    const a = await v3Create(ADMIN, { name: "a", metadata: { labels: { env: "prod", tier: "web" } } });
    const b = await v3Create(ADMIN, { name: "b", metadata: { labels: { env: "dev" } } });
    const c = await v3Create(ADMIN, { name: "c" });
    expect(guids(await list(`?guids=${a.guid},${c.guid}`)).sort()).toEqual([a.guid, c.guid].sort());
    expect(guids(await list("?label_selector=env=prod"))).toEqual([a.guid]);
    expect(guids(await list("?label_selector=env")).sort()).toEqual([a.guid, b.guid].sort());
    expect(guids(await list("?label_selector=!env"))).toEqual([c.guid]);
    expect(guids(await list("?label_selector=env in (dev,prod),tier"))).toEqual([a.guid]);
    expect(guids(await list("?label_selector=env!=prod")).sort()).toEqual([b.guid, c.guid].sort());
    const page = await list("?label_selector=env=prod");
    expect(page.pagination.first.href).toBe(`${base}?label_selector=env%3Dprod&page=1&per_page=50`);
    const res = await get("/v3/buildpacks?label_selector=", USER);
    expect(res.status).toBe(400);
    expect((await v3Error(res)).detail).toContain("Missing label_selector value");
  });

  it("created_ats and updated_ats with operators", async () => {
    const a = await v3Create(ADMIN, { name: "a" });
    const db = database(env.DB);
    await db.update(buildpacks).set({ createdAt: "2020-01-01T00:00:00Z" }).where(eq(buildpacks.guid, a.guid));
    const b = await v3Create(ADMIN, { name: "b" });
    expect(guids(await list("?created_ats[lt]=2021-01-01T00:00:00Z"))).toEqual([a.guid]);
    expect(guids(await list("?created_ats[gte]=2021-01-01T00:00:00Z"))).toEqual([b.guid]);
    expect(guids(await list("?created_ats=2020-01-01T00:00:00Z"))).toEqual([a.guid]);
    // updated_at is null until the first change.
    expect(b.updated_at).toBeNull();
    const changed = await jsonOf<V3Buildpack>(await patch(b.guid, { enabled: false }));
    expect(changed.updated_at).toMatch(/Z$/);
    expect(guids(await list("?updated_ats[gte]=2021-01-01T00:00:00Z"))).toEqual([b.guid]);
    const res = await get("/v3/buildpacks?created_ats[foo]=2020-01-01T00:00:00Z", USER);
    expect(res.status).toBe(400);
    expect((await v3Error(res)).detail).toContain("Invalid relational operator");
  });

  it("order_by created_at and position, both directions", async () => {
    const a = await v3Create(ADMIN, { name: "a" });
    const b = await v3Create(ADMIN, { name: "b" }); // b@1, a@2
    expect(guids(await list("?order_by=position"))).toEqual([b.guid, a.guid]);
    expect(guids(await list("?order_by=-position"))).toEqual([a.guid, b.guid]);
    expect((await list("?order_by=position")).pagination.first.href).toBe(`${base}?order_by=%2Bposition&page=1&per_page=50`);
    expect((await list("?order_by=created_at")).resources).toHaveLength(2);
  });
});

describe("5.7 v3 create", () => {
  const three = async () => {
    for (const i of [1, 2, 3]) await v3Create(ADMIN, { name: `bp${i}`, position: i });
  };

  it("case 62: 201 at the top with every field as sent; the others shift", async () => {
    await three();
    const res = await post({
      name: "the-r3al_Name", stack: S1, enabled: false, locked: true,
      metadata: { labels: { potato: "yam" }, annotations: { potato: "idaho" } },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("Location")).toBeNull();
    expect(await jsonOf(res)).toMatchObject({
      name: "the-r3al_Name", state: "AWAITING_UPLOAD", filename: null, stack: S1, position: 1, enabled: false, locked: true,
      lifecycle: "buildpack", metadata: { labels: { potato: "yam" }, annotations: { potato: "idaho" } },
    });
    expect(await positionsOf()).toEqual(["the-r3al_Name@1", "bp1@2", "bp2@3", "bp3@4"]);
  });

  it("case 63: position 2, and 42 beyond the end", async () => {
    await three();
    expect((await v3Create(ADMIN, { name: "two", position: 2 })).position).toBe(2);
    expect(await positionsOf()).toEqual(["bp1@1", "two@2", "bp2@3", "bp3@4"]);
    await resetBuildpacks();
    await three();
    expect((await v3Create(ADMIN, { name: "far", position: 42 })).position).toBe(4);
    expect(await positionsOf()).toEqual(["bp1@1", "bp2@2", "bp3@3", "far@4"]);
  });

  it("case 64: no token is 401; a user is 403 even with an invalid body", async () => {
    expect((await post({}, "")).status).toBe(401);
    const res = await post({}, USER);
    expect(res.status).toBe(403);
    expect(await v3Error(res)).toEqual({ detail: "You are not authorized to perform the requested action", title: "CF-NotAuthorized", code: 10003 });
  });

  it("case 65: an unknown stack is 422 and nothing is created", async () => {
    const res = await post({ name: "x", stack: "does-not-exist" });
    expect(res.status).toBe(422);
    expect(await v3Error(res)).toEqual({ detail: "Stack 'does-not-exist' does not exist", title: "CF-UnprocessableEntity", code: 10008 });
    expect((await list()).pagination.total_results).toBe(0);
  });

  it("case 66: field validations are 422", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "x", position: 0 }, "Position must be greater than or equal to 1"],
      [{ name: "x", position: 7.77 }, "Position must be an integer"],
      [{ name: "x", position: "seven" }, "Position is not a number"],
      [{ name: "thë-name" }, "Name is invalid"],
      [{ name: "x", unexpected: "meow" }, "Unknown field(s): 'unexpected'"],
      [{ name: "cnb-test", lifecycle: "foo" }, 'Lifecycle must be either "buildpack" or "cnb"'],
      [{}, "Name can't be blank"],
      [{ name: 5 }, "Name must be a string"],
      [{ name: "a".repeat(251) }, "Name is too long (maximum is 250 characters)"],
      [{ name: "x", enabled: "yes" }, "Enabled must be a boolean"],
      [{ name: "x", stack: 4 }, "Stack must be a string"],
      [{ name: "x", metadata: { labels: { "cloudfoundry.org/x": "y" } } }, "Metadata label key error"],
    ];
    for (const [body, detail] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      const err = await v3Error(res);
      expect(err.title).toBe("CF-UnprocessableEntity");
      expect(err.detail, JSON.stringify(body)).toContain(detail);
    }
    expect((await list()).pagination.total_results).toBe(0);
  });

  it("malformed JSON is 400 CF-MessageParseError", async () => {
    const res = await call("POST", "/v3/buildpacks", { auth: ADMIN, body: '{"name":' });
    expect(res.status).toBe(400);
    expect(await v3Error(res)).toEqual({ detail: "Request invalid due to parse error: invalid request body", title: "CF-MessageParseError", code: 1001 });
  });

  it("case 67: duplicates with and without a stack", async () => {
    await v3Create(ADMIN, { name: "dup", stack: S1 });
    let res = await post({ name: "dup", stack: S1 });
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toBe(`Buildpack with name 'dup', stack '${S1}' and lifecycle 'buildpack' already exists`);
    await v3Create(ADMIN, { name: "dup2" });
    res = await post({ name: "dup2" });
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toBe("Buildpack with name 'dup2' and an unassigned stack already exists");
    expect(await positionsOf()).toEqual(["dup2@1", "dup@2"]);
  });

  it("cnb buildpacks have their own list", async () => {
    await v3Create(ADMIN, { name: "a" });
    const cnb = await v3Create(ADMIN, { name: "a", lifecycle: "cnb", position: 3 });
    expect(cnb).toMatchObject({ lifecycle: "cnb", position: 1 });
  });

  it("a whitespace-only name is blank (ActiveModel's presence) and invalid (the format); nothing is created", async () => {
    for (const name of [" ", "   ", "\u00a0"]) {
      const res = await post({ name });
      expect(res.status, JSON.stringify(name)).toBe(422);
      expect(await v3Error(res)).toEqual({ detail: "Name can't be blank, Name is invalid", title: "CF-UnprocessableEntity", code: 10008 });
    }
    expect((await list()).pagination.total_results).toBe(0);
  });

  it("a position that is not a safe integer is 'Position must be an integer', not clamped; nothing is created", async () => {
    // Raw bodies: 1e400 parses to Infinity, which JSON.stringify cannot write.
    for (const position of ["1e308", "9007199254740994", "-1e308", "1e400"]) {
      const res = await call("POST", "/v3/buildpacks", { auth: ADMIN, body: `{"name":"x","position":${position}}` });
      expect(res.status, position).toBe(422);
      expect(await v3Error(res), position).toEqual({ detail: "Position must be an integer", title: "CF-UnprocessableEntity", code: 10008 });
    }
    expect((await list()).pagination.total_results).toBe(0);
  });

  it("metadata values that are not strings are 422 (an integer label is stored as its text, as the reference does); nothing is created", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ labels: { a: 1 }, annotations: { b: 1.5 } }, "Metadata annotation value error: value must be a string"],
      [{ labels: { a: 1.5, b: 1e308 } }, "Metadata label value error: value must be a string"],
      [{ annotations: { on: true, off: false } }, "Metadata annotation value error: value must be a string"],
    ];
    for (const [metadata, detail] of cases) {
      const res = await post({ name: "x", metadata });
      expect(res.status, JSON.stringify(metadata)).toBe(422);
      expect(await v3Error(res)).toEqual({ detail, title: "CF-UnprocessableEntity", code: 10008 });
    }
    expect((await list()).pagination.total_results).toBe(0);
    expect((await v3Create(ADMIN, { name: "x", metadata: { labels: { a: 1, on: true }, annotations: { n: 7 } } })).metadata)
      .toEqual({ labels: { a: "1", on: "true" }, annotations: { n: "7" } });
  });
});

describe("5.7 v3 update", () => {
  it("case 68: enabled false; a non-boolean is 422", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    let res = await patch(bp.guid, { enabled: false });
    expect(res.status).toBe(200);
    expect((await jsonOf<V3Buildpack>(res)).enabled).toBe(false);
    res = await patch(bp.guid, { enabled: "totally-not-a-valid-value" });
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toContain("Enabled must be a boolean");
  });

  it("case 69: a rename onto another null-stack buildpack is 422, and the move in the same request is undone", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    const other = await v3Create(ADMIN, { name: "other" });
    const res = await patch(bp.guid, { name: other.name, position: 1 });
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toContain(`Buildpack with name '${other.name}' and an unassigned stack already exists`);
    expect(await positionsOf()).toEqual(["other@1", "bp@2"]);
  });

  it("case 70: a set stack cannot change; lifecycle is an unknown field", async () => {
    const bp = await v3Create(ADMIN, { name: "bp", stack: S1 });
    for (const stack of [S2, null]) {
      const res = await patch(bp.guid, { stack });
      expect(res.status).toBe(422);
      expect((await v3Error(res)).detail).toBe("Buildpack stack cannot be changed");
    }
    expect((await patch(bp.guid, { stack: S1 })).status).toBe(200);
    const res = await patch(bp.guid, { lifecycle: "cnb" });
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toContain("Unknown field(s): 'lifecycle'");
  });

  it("case 71: 404 before 403; a user and a reader are 403", async () => {
    expect((await patch("non-existent", {}, USER)).status).toBe(404);
    const bp = await v3Create(ADMIN, { name: "bp" });
    for (const auth of [USER, READER]) {
      const res = await patch(bp.guid, {}, auth);
      expect(res.status).toBe(403);
      expect((await v3Error(res)).code).toBe(10003);
    }
  });

  it("case 72: every field at once", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    await v3Create(ADMIN, { name: "o1" });
    await v3Create(ADMIN, { name: "o2" }); // o2@1, o1@2, bp@3
    const res = await patch(bp.guid, {
      name: "new-name", stack: S3, position: 1, enabled: false, locked: true,
      metadata: { labels: { key: "value" }, annotations: { key2: "value2" } },
    });
    expect(res.status).toBe(200);
    expect(await jsonOf(res)).toMatchObject({
      name: "new-name", stack: S3, position: 1, enabled: false, locked: true,
      metadata: { labels: { key: "value" }, annotations: { key2: "value2" } },
    });
    expect(await positionsOf()).toEqual(["new-name@1", "o2@2", "o1@3"]);
    // null deletes a key; other keys stay.
    const again = await jsonOf<V3Buildpack>(await patch(bp.guid, { metadata: { labels: { key: null, more: "x" } } }));
    expect(again.metadata).toEqual({ labels: { more: "x" }, annotations: { key2: "value2" } });
  });

  it("position null and a bad position are 422 on PATCH", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    let res = await patch(bp.guid, { position: null });
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toContain("Position is not a number");
    res = await patch(bp.guid, { position: 0 });
    expect((await v3Error(res)).detail).toContain("Position must be greater than or equal to 1");
  });

  it("sensible: a null name is 422 'Name must be a string' (the reference fails in the model)", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    const res = await patch(bp.guid, { name: null });
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toContain("Name must be a string");
  });

  it("a whitespace-only or empty name is 'Name is invalid' (the update message checks the format, not presence)", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    for (const name of [" ", ""]) {
      const res = await patch(bp.guid, { name });
      expect(res.status, JSON.stringify(name)).toBe(422);
      expect(await v3Error(res)).toEqual({ detail: "Name is invalid", title: "CF-UnprocessableEntity", code: 10008 });
    }
    expect((await show(bp.guid)).name).toBe("bp");
  });

  it("a position that is not a safe integer is 422 'Position must be an integer'; the list is unchanged", async () => {
    const a = await v3Create(ADMIN, { name: "a" });
    await v3Create(ADMIN, { name: "b", position: 2 });
    for (const position of ["1e308", "9007199254740994", "1e400"]) {
      const res = await call("PATCH", `/v3/buildpacks/${a.guid}`, { auth: ADMIN, body: `{"position":${position}}` });
      expect(res.status, position).toBe(422);
      expect((await v3Error(res)).detail, position).toBe("Position must be an integer");
    }
    expect(await positionsOf()).toEqual(["a@1", "b@2"]);
  });

  it("metadata values that are not strings are 422 and change nothing; null still deletes", async () => {
    const bp = await v3Create(ADMIN, { name: "bp", metadata: { labels: { keep: "x" }, annotations: { note: "y" } } });
    let res = await patch(bp.guid, { metadata: { labels: { keep: null, a: 1.5 } } });
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toBe("Metadata label value error: value must be a string");
    res = await patch(bp.guid, { metadata: { annotations: { note: null, b: true } } });
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toBe("Metadata annotation value error: value must be a string");
    expect((await show(bp.guid)).metadata).toEqual({ labels: { keep: "x" }, annotations: { note: "y" } });
    res = await patch(bp.guid, { metadata: { labels: { keep: null }, annotations: { note: null } } });
    expect((await jsonOf<V3Buildpack>(res)).metadata).toEqual({ labels: {}, annotations: {} });
  });
});

describe("5.7 v3 delete", () => {
  it("case 73: 202 with an absolute job Location; the job completes and the buildpack is gone", async () => {
    const bp = await v3Create(ADMIN, { name: "bp", metadata: { labels: { a: "b" } } });
    const other = await v3Create(ADMIN, { name: "other", position: 2 });
    const res = await call("DELETE", `/v3/buildpacks/${bp.guid}`, { auth: ADMIN });
    expect(res.status).toBe(202);
    expect(await res.text()).toBe("");
    const location = res.headers.get("Location")!;
    expect(location).toMatch(/^https?:\/\/.+\/v3\/jobs\/[0-9a-f-]+$/);
    const first = await jsonOf(await get(new URL(location).pathname, ADMIN));
    expect(first.operation).toBe("buildpack.delete");
    const job = await waitForJob(location, ADMIN);
    expect(job.state).toBe("COMPLETE");
    expect((await get(`/v3/buildpacks/${bp.guid}`, ADMIN)).status).toBe(404);
    expect((await show(other.guid)).position).toBe(1);
    expect(guids(await list("?label_selector=a"))).toEqual([]);
  });

  it("case 74: unknown is 404; a user is 403", async () => {
    let res = await call("DELETE", "/v3/buildpacks/not-found", { auth: ADMIN });
    expect(res.status).toBe(404);
    expect((await v3Error(res)).title).toBe("CF-ResourceNotFound");
    const bp = await v3Create(ADMIN, { name: "bp" });
    res = await call("DELETE", `/v3/buildpacks/${bp.guid}`, { auth: USER });
    expect(res.status).toBe(403);
    expect((await v3Error(res)).title).toBe("CF-NotAuthorized");
  });

  it("deleting removes its bits from R2", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    const up = await upload(bp.guid, fileForm("bits", "buildpack.zip", await plainZip()));
    await waitForJob(up.headers.get("Location")!, ADMIN);
    expect(await storedKeys()).toHaveLength(1);
    const res = await call("DELETE", `/v3/buildpacks/${bp.guid}`, { auth: ADMIN });
    await waitForJob(res.headers.get("Location")!, ADMIN);
    expect(await storedKeys()).toEqual([]);
  });
});

describe("5.7 v3 upload", () => {
  it("case 75: 202 with a job; the buildpack as it was; then READY with the filename", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    const zip = await plainZip();
    const res = await upload(bp.guid, fileForm("bits", "buildpack.zip", zip));
    expect(res.status).toBe(202);
    const location = res.headers.get("Location")!;
    expect(location).toMatch(new RegExp(`^${ORIGIN}/v3/jobs/[0-9a-f-]+$`));
    expect(await jsonOf(res)).toMatchObject({ guid: bp.guid, state: "AWAITING_UPLOAD" });
    expect((await jsonOf(await get(new URL(location).pathname, ADMIN))).operation).toBe("buildpack.upload");
    const job = await waitForJob(location, ADMIN);
    expect(job.state).toBe("COMPLETE");
    expect(await show(bp.guid)).toMatchObject({ state: "READY", filename: "buildpack.zip" });
    const key = await bitsKeyOf(bp.guid);
    expect(await storedKeys()).toEqual([key]);
    expect(new Uint8Array(await (await env.BITS.get(key!))!.arrayBuffer())).toEqual(zip);
  });

  it("case 76: locked is 422 Buildpack is locked, nothing stored", async () => {
    const bp = await v3Create(ADMIN, { name: "bp", locked: true });
    const res = await upload(bp.guid, fileForm("bits", "buildpack.zip", await plainZip()));
    expect(res.status).toBe(422);
    expect(await v3Error(res)).toEqual({ detail: "Buildpack is locked", title: "CF-UnprocessableEntity", code: 10008 });
    expect(await storedKeys()).toEqual([]);
  });

  it("case 77: no bits part, a gzip for a buildpack-lifecycle buildpack, an empty file are 422", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    const none = new FormData();
    none.append("other", "x");
    let res = await upload(bp.guid, none);
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toBe("Uploaded buildpack file is invalid: A buildpack zip file must be uploaded as 'bits'");
    const gzip = new Uint8Array([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
    res = await upload(bp.guid, fileForm("bits", "buildpack.tgz", gzip));
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toContain('buildpack.tgz is not a zip file. Buildpacks of lifecycle "buildpack" must be valid zip files.');
    res = await upload(bp.guid, fileForm("bits", "buildpack.zip", new Uint8Array(0)));
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toContain("buildpack.zip cannot be empty");
    expect(await storedKeys()).toEqual([]);
  });

  it("cnb buildpacks take gzip or tar, not zip", async () => {
    const bp = await v3Create(ADMIN, { name: "cnb", lifecycle: "cnb" });
    let res = await upload(bp.guid, fileForm("bits", "bp.zip", await plainZip()));
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toContain('bp.zip is not a gzip archive or cnb file. Buildpacks of lifecycle "cnb" must be valid gzip archives or cnb files.');
    res = await upload(bp.guid, fileForm("bits", "bp.tgz", new Uint8Array([0x1f, 0x8b, 0x08, 0, 1, 2, 3])));
    expect(res.status).toBe(202);
    expect((await waitForJob(res.headers.get("Location")!, ADMIN)).state).toBe("COMPLETE");
    expect(await show(bp.guid)).toMatchObject({ state: "READY", filename: "bp.tgz" });
  });

  it("case 78: a user is 403; an unknown guid is 404", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    let res = await upload(bp.guid, fileForm("bits", "buildpack.zip", await plainZip()), USER);
    expect(res.status).toBe(403);
    expect((await v3Error(res)).code).toBe(10003);
    res = await upload("does-not-exist", fileForm("bits", "buildpack.zip", await plainZip()));
    expect(res.status).toBe(404);
    expect((await v3Error(res)).code).toBe(10010);
    expect(await storedKeys()).toEqual([]);
  });

  it("a manifest stack that does not match fails the job with 390011 and leaves nothing in R2", async () => {
    const bp = await v3Create(ADMIN, { name: "bp", stack: S1 });
    const res = await upload(bp.guid, fileForm("bits", "buildpack.zip", await manifestZip("stack-from-manifest")));
    expect(res.status).toBe(202);
    const job = await waitForJob(res.headers.get("Location")!, ADMIN);
    expect(job.state).toBe("FAILED");
    expect(job.errors).toEqual([{ detail: `Uploaded buildpack stack (stack-from-manifest) does not match ${S1}`, title: "CF-BuildpackStacksDontMatch", code: 390011 }]);
    expect(await show(bp.guid)).toMatchObject({ state: "AWAITING_UPLOAD", stack: S1 });
    expect(await storedKeys()).toEqual([]);
  });

  it("a zip with a PK header but no central directory fails the job with 390013", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    const broken = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5, 6]);
    const res = await upload(bp.guid, fileForm("bits", "buildpack.zip", broken));
    const job = await waitForJob(res.headers.get("Location")!, ADMIN);
    expect(job.state).toBe("FAILED");
    expect((job.errors as { code: number }[])[0]!.code).toBe(390013);
    expect(await storedKeys()).toEqual([]);
  });

  it("identical bits and filename complete with no change; replaced bits leave only the new object", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    const zip = await plainZip("a");
    let res = await upload(bp.guid, fileForm("bits", "bp.zip", zip));
    await waitForJob(res.headers.get("Location")!, ADMIN);
    const key = await bitsKeyOf(bp.guid);
    const before = await show(bp.guid);
    res = await upload(bp.guid, fileForm("bits", "bp.zip", zip));
    expect((await waitForJob(res.headers.get("Location")!, ADMIN)).state).toBe("COMPLETE");
    expect(await bitsKeyOf(bp.guid)).toBe(key);
    expect((await show(bp.guid)).updated_at).toBe(before.updated_at);
    expect(await storedKeys()).toEqual([key]);
    res = await upload(bp.guid, fileForm("bits", "bp.zip", await plainZip("b")));
    await waitForJob(res.headers.get("Location")!, ADMIN);
    const newKey = await bitsKeyOf(bp.guid);
    expect(newKey).not.toBe(key);
    expect(await storedKeys()).toEqual([newKey]);
  });

  it("the manifest's stack is adopted by a buildpack without one", async () => {
    const bp = await v3Create(ADMIN, { name: "bp" });
    const res = await upload(bp.guid, fileForm("bits", "bp.zip", await manifestZip("stack-from-manifest")));
    expect((await waitForJob(res.headers.get("Location")!, ADMIN)).state).toBe("COMPLETE");
    expect((await show(bp.guid)).stack).toBe("stack-from-manifest");
  });
});
