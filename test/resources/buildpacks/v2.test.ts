// /v2/buildpacks: BuildpacksController and BuildpackBitsController (cases 1-50), the seed
// v2-retrieve-a-buildpack.rst, audit events.
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { auditEvents } from "../../../src/db/schema";
import { call, get, jsonOf } from "../../helpers/api";
import { buildZip } from "../../helpers/zip";
import { adminAuth, bearer, SCOPES, scopeTokens, userAuth } from "../../helpers/tokens";
import {
  bitsKeyOf, ensureStacks, fileForm, manifestZip, plainZip, positionsOf, resetBuildpacks, S1, S2, storedKeys, textForm, v2Create,
} from "./helpers";

type V2Error = { description: string; error_code: string; code: number };
type V2Resource = { metadata: { guid: string; url: string; created_at: string; updated_at: string | null }; entity: Record<string, unknown> };
type V2List = { total_results: number; total_pages: number; prev_url: string | null; next_url: string | null; resources: V2Resource[] };

let ADMIN: string;
let USER: string;
let READER: string;
let WRITER: string;
let ARO: string;
let GA: string;

beforeAll(async () => {
  ({ admin: ADMIN, user: USER, reader: READER, writer: WRITER, aro: ARO, ga: GA } = await scopeTokens());
  await ensureStacks(S1, S2, "stack-from-manifest", "not-from-manifest");
});
beforeEach(resetBuildpacks);

const list = async (query = "", auth = ADMIN) => {
  const res = await get(`/v2/buildpacks${query}`, auth);
  expect(res.status, await res.clone().text()).toBe(200);
  return jsonOf<V2List>(res);
};
const names = (l: V2List) => l.resources.map((r) => r.entity.name);
const v2Err = (res: Response) => jsonOf<V2Error>(res);
const put = (guid: string, body: unknown, auth = ADMIN) => call("PUT", `/v2/buildpacks/${guid}`, { auth, body });
const post = (body: unknown, auth = ADMIN) => call("POST", "/v2/buildpacks", { auth, body });
const upload = (guid: string, form: FormData, auth = ADMIN) => call("PUT", `/v2/buildpacks/${guid}/bits`, { auth, body: form });
const three = async (prefix = "bp_") => {
  for (const i of [1, 2, 3]) await v2Create(ADMIN, { name: `${prefix}${i}`, stack: S1, position: i });
};
const count = async () => (await list()).total_results;

describe("the seed: GET /v2/buildpacks/:guid", () => {
  it("matches v2-retrieve-a-buildpack.rst field for field, with its headers (plus stack and lifecycle)", async () => {
    const created = await v2Create(ADMIN, { name: "name_1", position: 1 });
    const guid = created.metadata.guid;
    const res = await get(`/v2/buildpacks/${guid}`, ADMIN);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=utf-8");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("X-VCAP-Request-ID")).toMatch(/^[0-9a-f-]{36}$/);
    const text = await res.text();
    expect(res.headers.get("Content-Length")).toBe(String(new TextEncoder().encode(text).length));
    const body = JSON.parse(text) as V2Resource;
    expect(body.metadata.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const expected = {
      metadata: { guid, url: `/v2/buildpacks/${guid}`, created_at: body.metadata.created_at, updated_at: null },
      entity: { name: "name_1", stack: null, position: 1, enabled: true, locked: false, filename: null, lifecycle: "buildpack" },
    };
    // 2-space JSON, keys in the seed's order (stack and lifecycle where the reference exports them).
    expect(text).toBe(JSON.stringify(expected, null, 2));
  });
});

describe("5.1 v2 list / read", () => {
  it("case 1: no token is 401 CF-NotAuthenticated; garbage is 401 CF-InvalidAuthToken", async () => {
    let res = await get("/v2/buildpacks");
    expect(res.status).toBe(401);
    expect(await v2Err(res)).toEqual({ code: 10002, error_code: "CF-NotAuthenticated", description: "Authentication error" });
    res = await get("/v2/buildpacks", "bearer garbage");
    expect(res.status).toBe(401);
    expect(await v2Err(res)).toEqual({ code: 1000, error_code: "CF-InvalidAuthToken", description: "Invalid Auth Token" });
  });

  it("case 2: lists in position order with the v2 envelope and entity keys", async () => {
    await three();
    const l = await list("", USER);
    expect(l).toMatchObject({ total_results: 3, total_pages: 1, prev_url: null, next_url: null });
    expect(names(l)).toEqual(["bp_1", "bp_2", "bp_3"]);
    for (const r of l.resources) {
      expect(Object.keys(r.metadata)).toEqual(["guid", "url", "created_at", "updated_at"]);
      expect(r.metadata.url).toBe(`/v2/buildpacks/${r.metadata.guid}`);
      expect(Object.keys(r.entity).sort()).toEqual(["enabled", "filename", "lifecycle", "locked", "name", "position", "stack"]);
    }
  });

  it("case 3: a write-only token is 403 CF-InsufficientScope; admin_read_only and global_auditor read", async () => {
    await three();
    const res = await get("/v2/buildpacks", WRITER);
    expect(res.status).toBe(403);
    expect(await v2Err(res)).toMatchObject({ code: 10007, error_code: "CF-InsufficientScope" });
    expect((await list("", ARO)).total_results).toBe(3);
    expect((await list("", GA)).total_results).toBe(3);
  });

  it("case 4: pages with relative prev_url/next_url that never carry order-by", async () => {
    await v2Create(ADMIN, { name: "one", position: 1 });
    await v2Create(ADMIN, { name: "two", position: 2 });
    const p1 = await list("?results-per-page=1");
    expect(p1).toMatchObject({ total_results: 2, total_pages: 2, prev_url: null, next_url: "/v2/buildpacks?order-direction=asc&page=2&results-per-page=1" });
    expect(p1.resources).toHaveLength(1);
    const p2 = await list("?page=2&results-per-page=1");
    expect(p2).toMatchObject({ prev_url: "/v2/buildpacks?order-direction=asc&page=1&results-per-page=1", next_url: null });
    expect(names(p2)).toEqual(["two"]);
  });

  it("case 5: results-per-page above 100 is 400 CF-BadQueryParameter; exactly 100 is fine", async () => {
    const res = await get("/v2/buildpacks?results-per-page=101", ADMIN);
    expect(res.status).toBe(400);
    expect(await v2Err(res)).toEqual({ code: 10005, error_code: "CF-BadQueryParameter", description: "The query parameter is invalid: results_per_page must be <= 100" });
    expect((await get("/v2/buildpacks?results-per-page=100", ADMIN)).status).toBe(200);
  });

  it("case 6: an order-direction other than asc/desc is 400", async () => {
    const res = await get("/v2/buildpacks?order-direction=sideways", ADMIN);
    expect(res.status).toBe(400);
    expect(await v2Err(res)).toMatchObject({ code: 10005, description: "The query parameter is invalid: order_direction must be 'asc' or 'desc' but was 'sideways'" });
  });

  it("case 7: lifecycle, then position; desc changes nothing visible; cnb after buildpack", async () => {
    await v2Create(ADMIN, { name: "bp_b" });
    await v2Create(ADMIN, { name: "bp_a" });
    expect(names(await list())).toEqual(["bp_a", "bp_b"]);
    expect(names(await list("?order-direction=desc"))).toEqual(["bp_a", "bp_b"]);
    await v2Create(ADMIN, { name: "cx", lifecycle: "cnb" });
    expect(names(await list())).toEqual(["bp_a", "bp_b", "cx"]);
  });

  it("case 8: q=name:foo and q=name IN foo,bar", async () => {
    for (const n of ["foo", "bar", "baz"]) await v2Create(ADMIN, { name: n });
    const one = await list("?q=name:foo");
    expect(one.total_results).toBe(1);
    expect(one.resources[0]!.entity.name).toBe("foo");
    expect((await list("?q=name%20IN%20foo,bar")).total_results).toBe(2);
  });

  it("case 9: q on stack and lifecycle", async () => {
    await v2Create(ADMIN, { name: "foo", stack: S1 });
    await v2Create(ADMIN, { name: "bar", lifecycle: "cnb" });
    expect(names(await list(`?q=stack:${S1}`))).toEqual(["foo"]);
    const cnb = await list("?q=lifecycle:cnb");
    expect(names(cnb)).toEqual(["bar"]);
    expect(cnb.resources[0]!.entity.lifecycle).toBe("cnb");
  });

  it("case 9 (more): several conditions AND, with ';' or repeated q, and next_url keeps them", async () => {
    await v2Create(ADMIN, { name: "foo", stack: S1 });
    await v2Create(ADMIN, { name: "foo", stack: S2 });
    await v2Create(ADMIN, { name: "bar", stack: S1 });
    expect((await list(`?q=name:foo;stack:${S1}`)).total_results).toBe(1);
    expect((await list(`?q=name:foo&q=stack:${S2}`)).total_results).toBe(1);
    const page = await list(`?q=name:foo&results-per-page=1`);
    expect(page.next_url).toBe("/v2/buildpacks?order-direction=asc&page=2&q=name:foo&results-per-page=1");
  });

  it("case 10: an unknown q key and inline-relations-depth above 3 are 400", async () => {
    let res = await get("/v2/buildpacks?q=position:1", ADMIN);
    expect(res.status).toBe(400);
    expect(await v2Err(res)).toMatchObject({ code: 10005, description: "The query parameter is invalid: position" });
    res = await get("/v2/buildpacks?inline-relations-depth=4", ADMIN);
    expect(res.status).toBe(400);
    expect(await v2Err(res)).toMatchObject({ code: 10005, description: "The query parameter is invalid: inline_relations_depth must be <= 3" });
  });

  it("quirk: a non-integer page or any order-by is 400 CF-BadQueryParameter, not the reference's 500", async () => {
    for (const q of ["?page=abc", "?results-per-page=0", "?page=-1", "?order-by=name", "?inline-relations-depth=x"]) {
      const res = await get(`/v2/buildpacks${q}`, ADMIN);
      expect(res.status, q).toBe(400);
      expect((await v2Err(res)).code, q).toBe(10005);
    }
  });

  it("case 11: an empty list", async () => {
    expect(await list()).toEqual({ total_results: 0, total_pages: 1, prev_url: null, next_url: null, resources: [] });
  });

  it("case 12: GET one as a user", async () => {
    const bp = await v2Create(ADMIN, { name: "bp" });
    const res = await get(`/v2/buildpacks/${bp.metadata.guid}`, USER);
    expect(res.status).toBe(200);
    const body = await jsonOf<V2Resource>(res);
    expect(body.metadata).toMatchObject({ guid: bp.metadata.guid, url: `/v2/buildpacks/${bp.metadata.guid}` });
    expect(body.entity).toMatchObject({ enabled: true, locked: false, filename: null, lifecycle: "buildpack" });
  });

  it("case 13: an unknown guid is 404 CF-NotFound 'Unknown request'", async () => {
    const res = await get("/v2/buildpacks/does-not-exist", ADMIN);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('{"description":"Unknown request","error_code":"CF-NotFound","code":10000}\n');
  });
});

describe("5.2 v2 create", () => {
  it("case 14: 201 with Location and the full entity; stack may be null", async () => {
    const res = await post({ name: "dynamic_test_buildpack", stack: S1, position: 1 });
    expect(res.status).toBe(201);
    const body = await jsonOf<V2Resource>(res);
    expect(res.headers.get("Location")).toBe(`/v2/buildpacks/${body.metadata.guid}`);
    expect(body.entity).toEqual({ name: "dynamic_test_buildpack", stack: S1, position: 1, enabled: true, locked: false, filename: null, lifecycle: "buildpack" });
    const second = await v2Create(ADMIN, { name: "a_buildpack", position: 1 });
    expect(second.entity.stack).toBeNull();
  });

  it("case 15: no position means the top; the others shift down", async () => {
    await three();
    const bp = await v2Create(ADMIN, { name: "Golang_buildpack", stack: S1 });
    expect(bp.entity.position).toBe(1);
    expect(await positionsOf()).toEqual(["Golang_buildpack@1", "bp_1@2", "bp_2@3", "bp_3@4"]);
  });

  it("case 16: a position in the middle", async () => {
    await v2Create(ADMIN, { name: "pre", position: 1 });
    await v2Create(ADMIN, { name: "pre2", position: 2 });
    await v2Create(ADMIN, { name: "new-buildpack", stack: S1, position: 2 });
    expect(await positionsOf()).toEqual(["pre@1", "new-buildpack@2", "pre2@3"]);
  });

  it("case 17: beyond the end is the end; negative is the top", async () => {
    await three();
    const last = await v2Create(ADMIN, { name: "last", position: 42 });
    expect(last.entity.position).toBe(4);
    expect(await positionsOf()).toEqual(["bp_1@1", "bp_2@2", "bp_3@3", "last@4"]);
    const neg = await v2Create(ADMIN, { name: "neg", position: -5 });
    expect(neg.entity.position).toBe(1);
    expect(await positionsOf()).toEqual(["neg@1", "bp_1@2", "bp_2@3", "bp_3@4", "last@5"]);
  });

  it("case 18: a taken (name, stack, lifecycle) is 422 290000 (sensible: the message names the effective lifecycle)", async () => {
    await v2Create(ADMIN, { name: "dynamic_test_buildpack", stack: S1, position: 1 });
    const res = await post({ name: "dynamic_test_buildpack", stack: S1, position: 1 });
    expect(res.status).toBe(422);
    const err = await v2Err(res);
    expect(err).toMatchObject({ code: 290000, error_code: "CF-BuildpackNameStackLifecycleTaken" });
    expect(err.description.startsWith(`The buildpack name dynamic_test_buildpack is already in use for the stack ${S1} and the lifecycle`)).toBe(true);
    expect(await count()).toBe(1);
    expect(await positionsOf()).toEqual(["dynamic_test_buildpack@1"]);
  });

  it("case 19: a taken name with a null stack is 400 290003 'stack unique'", async () => {
    await v2Create(ADMIN, { name: "dup" });
    const res = await post({ name: "dup" });
    expect(res.status).toBe(400);
    expect(await v2Err(res)).toEqual({ code: 290003, error_code: "CF-BuildpackInvalid", description: "Buildpack is invalid: stack unique" });
    expect(await count()).toBe(1);
  });

  it("case 20: the same name with another stack, a null stack, or another lifecycle", async () => {
    await v2Create(ADMIN, { name: "shared", stack: S1 });
    await v2Create(ADMIN, { name: "shared", stack: S2 });
    await v2Create(ADMIN, { name: "shared" });
    const cnb = await v2Create(ADMIN, { name: "shared", stack: S1, lifecycle: "cnb" });
    expect(cnb.entity).toMatchObject({ lifecycle: "cnb", position: 1 });
  });

  it("case 21: an invalid name is 400 290003; '-name-' and 'name_with_underscore' are fine", async () => {
    const res = await post({ name: "invalid_name!", stack: S1 });
    expect(res.status).toBe(400);
    expect(await v2Err(res)).toMatchObject({ code: 290003, description: "Buildpack is invalid: name can only contain alphanumeric characters" });
    expect(await count()).toBe(0);
    await v2Create(ADMIN, { name: "-name-" });
    await v2Create(ADMIN, { name: "name_with_underscore" });
  });

  it("case 22: a missing name and malformed JSON are 400 1001", async () => {
    let res = await post({ stack: S1 });
    expect(res.status).toBe(400);
    expect(await v2Err(res)).toEqual({ code: 1001, error_code: "CF-MessageParseError", description: "Request invalid due to parse error: Field: name, Error: Missing field name" });
    res = await call("POST", "/v2/buildpacks", { auth: ADMIN, body: '{"name":' });
    expect(res.status).toBe(400);
    expect((await v2Err(res)).code).toBe(1001);
    for (const body of ["null", "", "[1]"]) {
      res = await call("POST", "/v2/buildpacks", { auth: ADMIN, body });
      expect(res.status, body).toBe(400);
      expect((await v2Err(res)).code, body).toBe(1001);
    }
  });

  it("case 23: type errors are 400 1001 naming the field", async () => {
    let res = await post({ name: "x", position: "abc" });
    expect(res.status).toBe(400);
    expect(await v2Err(res)).toMatchObject({ code: 1001, description: "Request invalid due to parse error: Field: position, Error: Expected instance of Integer, given an instance of String" });
    res = await post({ name: "x", enabled: "yes" });
    expect(res.status).toBe(400);
    const err = await v2Err(res);
    expect(err.code).toBe(1001);
    expect(err.description).toContain("Field: enabled");
    expect(await count()).toBe(0);
  });

  it("case 24: an unknown stack is 400 290003", async () => {
    const res = await post({ name: "x", stack: "no-such-stack" });
    expect(res.status).toBe(400);
    expect(await v2Err(res)).toMatchObject({ code: 290003, description: "Buildpack is invalid: stack buildpack_stack_does_not_exist" });
    expect(await count()).toBe(0);
  });

  it("case 25: unknown keys ignored, nulls absent", async () => {
    const bp = await v2Create(ADMIN, { name: "x", enabled: false, locked: true, filename: "ignored.zip", stack: null });
    expect(bp.entity).toMatchObject({ enabled: false, locked: true, filename: null, stack: null });
  });

  it("case 26: a user is 403 10003 and a reader 403 10007; nothing is created", async () => {
    let res = await post({ name: "dynamic_test_buildpack", stack: S1, position: 1 }, USER);
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('{"description":"You are not authorized to perform the requested action","error_code":"CF-NotAuthorized","code":10003}\n');
    res = await post({ name: "dynamic_test_buildpack", stack: S1, position: 1 }, READER);
    expect(res.status).toBe(403);
    expect(await v2Err(res)).toMatchObject({ code: 10007, error_code: "CF-InsufficientScope" });
    expect(await count()).toBe(0);
  });

  it("sensible: the lifecycle is validated, unlike the reference", async () => {
    const res = await post({ name: "x", lifecycle: "docker" });
    expect(res.status).toBe(400);
    expect((await v2Err(res)).code).toBe(290003);
  });
});

describe("5.3 v2 update", () => {
  it("case 27: a rename answers 201", async () => {
    await v2Create(ADMIN, { name: "first_buildpack", position: 1 });
    const second = await v2Create(ADMIN, { name: "second_buildpack", position: 2 });
    const res = await put(second.metadata.guid, { name: "second_buildpack_renamed" });
    expect(res.status).toBe(201);
    const body = await jsonOf<V2Resource>(res);
    expect(body.entity.name).toBe("second_buildpack_renamed");
    expect(body.metadata.updated_at).toMatch(/Z$/);
  });

  it("case 28: moves up and down", async () => {
    await v2Create(ADMIN, { name: "first", position: 1 });
    const second = await v2Create(ADMIN, { name: "second", position: 2 });
    const res = await put(second.metadata.guid, { position: 1 });
    expect(res.status).toBe(201);
    expect((await jsonOf<V2Resource>(res)).entity.position).toBe(1);
    expect(await positionsOf()).toEqual(["second@1", "first@2"]);

    await resetBuildpacks();
    const n1 = await v2Create(ADMIN, { name: "name_1", position: 1 });
    await v2Create(ADMIN, { name: "name_2", position: 2 });
    await v2Create(ADMIN, { name: "name_3", position: 3 });
    expect((await put(n1.metadata.guid, { position: 3 })).status).toBe(201);
    expect(await positionsOf()).toEqual(["name_2@1", "name_3@2", "name_1@3"]);
  });

  it("case 29: position 0 is the top", async () => {
    await v2Create(ADMIN, { name: "bp_1", position: 1 });
    const bp2 = await v2Create(ADMIN, { name: "bp_2", position: 2 });
    const res = await put(bp2.metadata.guid, { position: 0 });
    expect((await jsonOf<V2Resource>(res)).entity.position).toBe(1);
    expect(await positionsOf()).toEqual(["bp_2@1", "bp_1@2"]);
  });

  it("case 30: enabled and locked; locked does not block updates", async () => {
    const bp = await v2Create(ADMIN, { name: "bp" });
    const g = bp.metadata.guid;
    expect((await jsonOf<V2Resource>(await put(g, { enabled: false }))).entity.enabled).toBe(false);
    expect((await jsonOf<V2Resource>(await put(g, { locked: true }))).entity.locked).toBe(true);
    const res = await put(g, { name: "renamed-while-locked" });
    expect(res.status).toBe(201);
    expect((await jsonOf<V2Resource>(res)).entity.name).toBe("renamed-while-locked");
  });

  it("case 31: a user is 403 10003; an unknown guid is 404 10000", async () => {
    const bp = await v2Create(ADMIN, { name: "bp" });
    let res = await put(bp.metadata.guid, {}, USER);
    expect(res.status).toBe(403);
    expect((await v2Err(res)).code).toBe(10003);
    res = await put("does-not-exist", { name: "x" });
    expect(res.status).toBe(404);
    expect((await v2Err(res)).code).toBe(10000);
  });

  it("case 32: a null stack can be set once; null is ignored; a set stack never changes", async () => {
    const bp = await v2Create(ADMIN, { name: "bp" });
    const g = bp.metadata.guid;
    expect((await jsonOf<V2Resource>(await put(g, { stack: S1 }))).entity.stack).toBe(S1);
    const nulled = await put(g, { stack: null });
    expect(nulled.status).toBe(201);
    expect((await jsonOf<V2Resource>(nulled)).entity.stack).toBe(S1);
    const res = await put(g, { stack: S2 });
    expect(res.status).toBe(400);
    expect(await v2Err(res)).toMatchObject({ code: 290003, description: "Buildpack is invalid: stack buildpack_cant_change_stacks" });
    expect((await put(g, { stack: S1 })).status).toBe(201);
  });

  it("case 33: lifecycle is ignored on update", async () => {
    const bp = await v2Create(ADMIN, { name: "bp" });
    const res = await put(bp.metadata.guid, { lifecycle: "cnb" });
    expect(res.status).toBe(201);
    expect((await jsonOf<V2Resource>(res)).entity.lifecycle).toBe("buildpack");
  });

  it("case 34: a colliding rename is 422 290000; a bad name 400 290003; positions are untouched", async () => {
    await v2Create(ADMIN, { name: "a", stack: S1 });
    const b = await v2Create(ADMIN, { name: "b", stack: S1 });
    let res = await put(b.metadata.guid, { name: "a", position: 2 });
    expect(res.status).toBe(422);
    expect((await v2Err(res)).code).toBe(290000);
    expect(await positionsOf()).toEqual(["b@1", "a@2"]);
    res = await put(b.metadata.guid, { name: "bad name" });
    expect(res.status).toBe(400);
    expect(await v2Err(res)).toMatchObject({ code: 290003, description: "Buildpack is invalid: name can only contain alphanumeric characters" });
  });
});

describe("5.4 v2 delete", () => {
  it("case 35: 204, gone, the gap closed, its bits removed from R2", async () => {
    const first = await v2Create(ADMIN, { name: "first", position: 1 });
    const second = await v2Create(ADMIN, { name: "second", position: 2 });
    expect((await upload(first.metadata.guid, fileForm("buildpack", "file.zip", await plainZip()))).status).toBe(201);
    expect(await storedKeys()).toHaveLength(1);
    const res = await call("DELETE", `/v2/buildpacks/${first.metadata.guid}`, { auth: ADMIN });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await get(`/v2/buildpacks/${first.metadata.guid}`, ADMIN)).status).toBe(404);
    expect((await jsonOf<V2Resource>(await get(`/v2/buildpacks/${second.metadata.guid}`, ADMIN))).entity.position).toBe(1);
    expect(await storedKeys()).toEqual([]);
    expect((await call("DELETE", `/v2/buildpacks/${second.metadata.guid}`, { auth: ADMIN })).status).toBe(204);
  });

  it("case 36: async=true is 202 with a queued v2 job that deletes it", async () => {
    const bp = await v2Create(ADMIN, { name: "bp" });
    const res = await call("DELETE", `/v2/buildpacks/${bp.metadata.guid}?async=true`, { auth: ADMIN });
    expect(res.status).toBe(202);
    const job = await jsonOf<{ metadata: { guid: string; url: string; created_at: string }; entity: { guid: string; status: string } }>(res);
    expect(job.entity.status).toBe("queued");
    expect(job.entity.guid).toBe(job.metadata.guid);
    expect(job.metadata.url).toBe(`/v2/jobs/${job.metadata.guid}`);
    expect(job.metadata.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    let status = "";
    for (let i = 0; i < 100 && status !== "finished"; i++) {
      status = (await jsonOf<{ entity: { status: string } }>(await get(job.metadata.url, ADMIN))).entity.status;
      if (status !== "finished") await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe("finished");
    expect((await get(`/v2/buildpacks/${bp.metadata.guid}`, ADMIN)).status).toBe(404);
  });

  it("case 37: a user is 403 10003 and it stays; an unknown guid is 404 10000", async () => {
    const bp = await v2Create(ADMIN, { name: "bp" });
    let res = await call("DELETE", `/v2/buildpacks/${bp.metadata.guid}`, { auth: USER });
    expect(res.status).toBe(403);
    expect((await v2Err(res)).code).toBe(10003);
    expect((await get(`/v2/buildpacks/${bp.metadata.guid}`, ADMIN)).status).toBe(200);
    res = await call("DELETE", "/v2/buildpacks/does-not-exist", { auth: ADMIN });
    expect(res.status).toBe(404);
    expect((await v2Err(res)).code).toBe(10000);
  });
});

describe("5.5 v2 bits", () => {
  let ZIP: Uint8Array;
  let ZIP2: Uint8Array;
  beforeAll(async () => {
    ZIP = await plainZip("one");
    ZIP2 = await plainZip("two");
  });
  const testBp = async (body: Record<string, unknown> = {}) => (await v2Create(ADMIN, { name: "upload_binary_buildpack", ...body })).metadata.guid;

  it("case 38: 201 with the filename; the bits are in R2 under the record's key", async () => {
    const g = await testBp();
    const res = await upload(g, fileForm("buildpack", "file.zip", ZIP));
    expect(res.status).toBe(201);
    const body = await jsonOf<V2Resource>(res);
    expect(body.entity).toMatchObject({ name: "upload_binary_buildpack", filename: "file.zip", stack: null });
    const key = await bitsKeyOf(g);
    expect(await storedKeys()).toEqual([key]);
    const obj = await env.BITS.get(key!);
    expect(new Uint8Array(await obj!.arrayBuffer())).toEqual(ZIP);
  });

  it("case 39: identical bits and filename are 204; a new filename is 201", async () => {
    const g = await testBp();
    expect((await upload(g, fileForm("buildpack", "file.zip", ZIP))).status).toBe(201);
    const key = await bitsKeyOf(g);
    const same = await upload(g, fileForm("buildpack", "file.zip", ZIP));
    expect(same.status).toBe(204);
    expect(await same.text()).toBe("");
    expect(await bitsKeyOf(g)).toBe(key);
    expect(await storedKeys()).toEqual([key]);
    const renamed = await upload(g, fileForm("buildpack", "newfilename.zip", ZIP));
    expect(renamed.status).toBe(201);
    expect((await jsonOf<V2Resource>(renamed)).entity.filename).toBe("newfilename.zip");
    expect(await storedKeys()).toEqual([await bitsKeyOf(g)]);
  });

  it("case 40: replaced bits leave no old object behind", async () => {
    const g = await testBp();
    expect((await upload(g, fileForm("buildpack", "file.zip", ZIP2))).status).toBe(201);
    const res = await upload(g, fileForm("buildpack", "file.zip", ZIP));
    expect(res.status).toBe(201);
    expect((await jsonOf<V2Resource>(res)).entity.filename).toBe("file.zip");
    const keys = await storedKeys();
    expect(keys).toEqual([await bitsKeyOf(g)]);
    expect(new Uint8Array(await (await env.BITS.get(keys[0]!))!.arrayBuffer())).toEqual(ZIP);
  });

  it("case 41: a user is 403 10007 (upload is admin-only at the token level)", async () => {
    const g = await testBp();
    const res = await upload(g, fileForm("buildpack", "file.zip", ZIP), USER);
    expect(res.status).toBe(403);
    expect(await v2Err(res)).toMatchObject({ code: 10007, error_code: "CF-InsufficientScope" });
    expect(await storedKeys()).toEqual([]);
  });

  it("case 42: locked is 409; unlocked it uploads", async () => {
    const g = await testBp({ locked: true });
    let res = await upload(g, fileForm("buildpack", "file.zip", ZIP));
    expect(res.status).toBe(409);
    expect(await res.text()).toBe('{"description":"The buildpack is locked","error_code":"CF-BuildpackLocked","code":290005}\n');
    expect((await put(g, { locked: false })).status).toBe(201);
    res = await upload(g, fileForm("buildpack", "file.zip", ZIP));
    expect(res.status).toBe(201);
  });

  it("case 43: a non-zip filename is 400 290002, and nothing is stored", async () => {
    const g = await testBp();
    for (const name of ["file.tar.gz", "FILE.ZIP", ".zip"]) {
      const res = await upload(g, fileForm("buildpack", name, ZIP));
      expect(res.status, name).toBe(400);
      expect(await v2Err(res), name).toEqual({ code: 290002, error_code: "CF-BuildpackBitsUploadInvalid", description: "The buildpack upload is invalid: only zip files allowed" });
    }
    expect(await storedKeys()).toEqual([]);
    expect((await upload(g, fileForm("buildpack", "a.tar.zip", ZIP))).status).toBe(201);
  });

  it("case 44: a text field without a file, or a name without a file", async () => {
    const g = await testBp();
    let res = await upload(g, textForm({ buildpack: "abc" }));
    expect(res.status).toBe(400);
    expect((await v2Err(res)).description).toBe("The buildpack upload is invalid: a filename must be specified");
    res = await upload(g, textForm({ buildpack_name: "abc.zip" }));
    expect(res.status).toBe(400);
    expect((await v2Err(res)).description).toBe("The buildpack upload is invalid: a file must be provided");
  });

  it("case 44 (more): buildpack_name names the file", async () => {
    const g = await testBp();
    const res = await upload(g, fileForm("buildpack", "tmp-upload", ZIP, { buildpack_name: "named.zip" }));
    expect(res.status).toBe(201);
    expect((await jsonOf<V2Resource>(res)).entity.filename).toBe("named.zip");
  });

  it("case 45: the manifest's stack becomes the buildpack's", async () => {
    const g = await testBp();
    const res = await upload(g, fileForm("buildpack", "file.zip", await manifestZip("stack-from-manifest")));
    expect(res.status).toBe(201);
    expect((await jsonOf<V2Resource>(res)).entity.stack).toBe("stack-from-manifest");
  });

  it.each([
    ["an unclosed flow sequence", "stack: [oops\n"],
    ["an unclosed quote", "stack: \"cflinuxfs4\n"],
    ["a tab for indentation", "stack: x\nnested:\n\tkey: v\n"],
    ["a sequence, not a mapping", "- stack: x\n"],
    ["a list as the stack", "stack: [a, b]\n"],
    ["a bare scalar document", "just text\n"],
  ])("a manifest.yml that is not valid (%s) is 422 CF-BuildpackZipError and changes nothing", async (_name, text) => {
    const g = await testBp();
    const zip = await buildZip([{ name: "manifest.yml", data: text }, { name: "bin/detect", data: "x" }]);
    const res = await upload(g, fileForm("buildpack", "file.zip", zip));
    expect(res.status).toBe(422);
    expect(await v2Err(res)).toMatchObject({ code: 390013, error_code: "CF-BuildpackZipError", description: "Buildpack zip error: buildpack manifest is not valid" });
    expect((await jsonOf<V2Resource>(await get(`/v2/buildpacks/${g}`, ADMIN))).entity).toMatchObject({ stack: null, filename: null });
    expect(await storedKeys()).toEqual([]);
  });

  it.each([
    ["flow mapping", "{stack: stack-from-manifest, language: ruby}\n"],
    ["quoted, with a comment and a later document", "# comment\n---\nstack: 'stack-from-manifest' # the stack\nlanguage: ruby\n---\nother: doc\n"],
    ["nested keys named stack are not the stack", "dependencies:\n  - name: x\n    stack: not-it\nstack: stack-from-manifest\n"],
  ])("a valid manifest.yml (%s) names its stack", async (_name, text) => {
    const g = await testBp();
    const zip = await buildZip([{ name: "manifest.yml", data: text }, { name: "bin/detect", data: "x" }]);
    const res = await upload(g, fileForm("buildpack", "file.zip", zip));
    expect(res.status, await res.clone().text()).toBe(201);
    expect((await jsonOf<V2Resource>(res)).entity.stack).toBe("stack-from-manifest");
  });

  it("case 46: an unknown manifest stack is 422 390012 and changes nothing", async () => {
    const g = await testBp();
    const res = await upload(g, fileForm("buildpack", "file.zip", await manifestZip("unknown-stack")));
    expect(res.status).toBe(422);
    expect(await v2Err(res)).toMatchObject({ code: 390012, description: "Uploaded buildpack stack (unknown-stack) does not exist" });
    expect((await jsonOf<V2Resource>(await get(`/v2/buildpacks/${g}`, ADMIN))).entity).toMatchObject({ stack: null, filename: null });
    expect(await storedKeys()).toEqual([]);
  });

  it("case 47: a manifest stack that differs is 422 390011", async () => {
    const g = await testBp({ stack: "not-from-manifest" });
    const res = await upload(g, fileForm("buildpack", "file.zip", await manifestZip("stack-from-manifest")));
    expect(res.status).toBe(422);
    expect(await v2Err(res)).toMatchObject({ code: 390011, description: "Uploaded buildpack stack (stack-from-manifest) does not match not-from-manifest" });
    expect((await jsonOf<V2Resource>(await get(`/v2/buildpacks/${g}`, ADMIN))).entity.stack).toBe("not-from-manifest");
    expect(await storedKeys()).toEqual([]);
  });

  it("case 48: a manifest stack that makes the name taken is 422 290000", async () => {
    const first = (await v2Create(ADMIN, { name: "nice_buildpack" })).metadata.guid;
    expect((await upload(first, fileForm("buildpack", "file.zip", await manifestZip("stack-from-manifest")))).status).toBe(201);
    const second = (await v2Create(ADMIN, { name: "nice_buildpack" })).metadata.guid;
    const res = await upload(second, fileForm("buildpack", "file.zip", await manifestZip("stack-from-manifest")));
    expect(res.status).toBe(422);
    expect((await v2Err(res)).code).toBe(290000);
    expect(await storedKeys()).toEqual([await bitsKeyOf(first)]);
  });

  it("case 49: bytes that are not a zip are 422 390013", async () => {
    const g = await testBp();
    const res = await upload(g, fileForm("buildpack", "bad.zip", new TextEncoder().encode("this is not a zip file at all")));
    expect(res.status).toBe(422);
    expect(await v2Err(res)).toMatchObject({ code: 390013, description: "Buildpack zip error: buildpack zipfile is not valid" });
    expect(await storedKeys()).toEqual([]);
  });

  it("a cnb buildpack takes any bits under a .zip name (the reference's quirk) and ignores manifests", async () => {
    const g = (await v2Create(ADMIN, { name: "cnb_bp", lifecycle: "cnb" })).metadata.guid;
    const res = await upload(g, fileForm("buildpack", "thing.zip", new TextEncoder().encode("not a zip")));
    expect(res.status).toBe(201);
  });

  it("an unknown guid is 404 10000 (not the reference's 500)", async () => {
    const res = await upload("does-not-exist", fileForm("buildpack", "file.zip", ZIP));
    expect(res.status).toBe(404);
    expect((await v2Err(res)).code).toBe(10000);
  });

  it("a body that is not multipart is 400 and leaves nothing", async () => {
    const g = await testBp();
    const res = await call("PUT", `/v2/buildpacks/${g}/bits`, { auth: ADMIN, body: "plain", headers: { "Content-Type": "text/plain" } });
    expect(res.status).toBe(400);
    expect(await storedKeys()).toEqual([]);
  });

  it("case 50 (adapted: admins with a token, not staging Basic auth): download streams the bits", async () => {
    const g = await testBp();
    let res = await get(`/v2/buildpacks/${g}/download`);
    expect(res.status).toBe(401);
    expect((await v2Err(res)).code).toBe(10002);
    res = await get(`/v2/buildpacks/${g}/download`, USER);
    expect(res.status).toBe(403);
    expect((await v2Err(res)).code).toBe(10003);
    res = await get(`/v2/buildpacks/${g}/download`, ADMIN);
    expect(res.status).toBe(404);
    expect((await v2Err(res)).code).toBe(10000);
    await upload(g, fileForm("buildpack", "file.zip", ZIP));
    res = await get(`/v2/buildpacks/${g}/download`, ADMIN);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe(String(ZIP.length));
    expect(res.headers.get("ETag")).toBeTruthy();
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(ZIP);
    res = await get(`/v2/buildpacks/${g}/download`, ADMIN, { Range: "bytes=0-3" });
    expect(res.status).toBe(206);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(ZIP.subarray(0, 4));
    expect((await get("/v2/buildpacks/does-not-exist/download", ADMIN)).status).toBe(404);
  });
});

describe("audit events", () => {
  it("create, update, upload and delete each record one event on the buildpack, with no space or org", async () => {
    const bp = await v2Create(ADMIN, { name: "audited" });
    const g = bp.metadata.guid;
    await put(g, { enabled: false });
    await upload(g, fileForm("buildpack", "file.zip", await plainZip()));
    await call("DELETE", `/v2/buildpacks/${g}`, { auth: ADMIN });
    const rows = await database(env.DB).select().from(auditEvents).where(and(eq(auditEvents.acteeGuid, g)));
    expect(rows.map((r) => r.type).sort()).toEqual(["audit.buildpack.create", "audit.buildpack.delete", "audit.buildpack.update", "audit.buildpack.upload"]);
    for (const r of rows) {
      expect(r).toMatchObject({ acteeType: "buildpack", acteeName: "audited", spaceGuid: null, organizationGuid: null, actorGuid: "admin-user" });
    }
  });

  it("a failed write records no event", async () => {
    await v2Create(ADMIN, { name: "taken", stack: S1 });
    const before = (await database(env.DB).select().from(auditEvents)).length;
    expect((await post({ name: "taken", stack: S1 })).status).toBe(422);
    expect((await post({ name: "x", stack: "nope" })).status).toBe(400);
    expect((await database(env.DB).select().from(auditEvents)).length).toBe(before);
  });
});

describe("odd input", () => {
  it("an unknown method on a buildpack is 404 CF-NotFound in the v2 envelope", async () => {
    const bp = await v2Create(ADMIN, { name: "bp" });
    const res = await call("PATCH", `/v2/buildpacks/${bp.metadata.guid}`, { auth: ADMIN, body: {} });
    expect(res.status).toBe(404);
    expect(await v2Err(res)).toEqual({ description: "Unknown request", error_code: "CF-NotFound", code: 10000 });
  });

  it("a huge JSON body is refused with 400 and creates nothing", async () => {
    const res = await call("POST", "/v2/buildpacks", { auth: ADMIN, body: JSON.stringify({ name: "x", pad: "a".repeat(2 * 1024 * 1024) }) });
    expect(res.status).toBe(400);
    expect(await count()).toBe(0);
  });

  it("an over-long name is 400 290003, not the reference's 500", async () => {
    const res = await post({ name: "a".repeat(300) });
    expect(res.status).toBe(400);
    expect((await v2Err(res)).code).toBe(290003);
  });

  it("a position beyond the safe integers is a Float (as 1e308 is in Ruby): 400 1001 on create and update, nothing changes", async () => {
    const float = "Request invalid due to parse error: Field: position, Error: Expected instance of Integer, given an instance of Float";
    // Raw bodies: 1e400 parses to Infinity, which JSON.stringify cannot write.
    const positions = ["9007199254740994", "1e308", "-1e308", "1e400"];
    for (const position of positions) {
      const res = await post(`{"name":"x","position":${position}}`);
      expect(res.status, position).toBe(400);
      expect(await v2Err(res), position).toEqual({ description: float, error_code: "CF-MessageParseError", code: 1001 });
    }
    expect(await count()).toBe(0);

    const a = await v2Create(ADMIN, { name: "a" });
    await v2Create(ADMIN, { name: "b", position: 2 });
    for (const position of positions) {
      const res = await put(a.metadata.guid, `{"position":${position}}`);
      expect(res.status, position).toBe(400);
      expect((await v2Err(res)).description, position).toBe(float);
    }
    const res = await put(a.metadata.guid, '{"enabled":1e400}');
    expect((await v2Err(res)).description).toBe("Request invalid due to parse error: Field: enabled, Error: Expected instance of true or false, given Infinity");
    expect(await positionsOf()).toEqual(["a@1", "b@2"]);
  });
});

