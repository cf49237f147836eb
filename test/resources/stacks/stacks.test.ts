// /v3/stacks: the default stack after migration, admin writes, metadata, list filters.
import { describe, expect, it, beforeAll } from "vitest";
import { call, get, jsonOf, ORIGIN, v3Error } from "../../helpers/api";
import { adminAuth, bearer, SCOPES, userAuth } from "../../helpers/tokens";

type Stack = {
  guid: string; name: string; description: string | null; default: boolean; created_at: string; updated_at: string | null;
  run_rootfs_image: string; build_rootfs_image: string;
  metadata: { labels: Record<string, string>; annotations: Record<string, string> }; links: { self: { href: string } };
};
type Page = { pagination: { total_results: number; first: { href: string }; next: { href: string } | null }; resources: Stack[] };

let ADMIN: string;
let USER: string;
beforeAll(async () => {
  ADMIN = await adminAuth();
  USER = await userAuth();
});

const list = async (query = "") => {
  const res = await get(`/v3/stacks${query}`, USER);
  expect(res.status, await res.clone().text()).toBe(200);
  return jsonOf<Page>(res);
};
const create = async (body: Record<string, unknown>) => {
  const res = await call("POST", "/v3/stacks", { auth: ADMIN, body });
  expect(res.status, await res.clone().text()).toBe(201);
  return jsonOf<Stack>(res);
};

describe("/v3/stacks", () => {
  it("cflinuxfs4 is present after migration and is the default", async () => {
    const page = await list("?names=cflinuxfs4");
    expect(page.resources).toHaveLength(1);
    expect(page.resources[0]).toMatchObject({ name: "cflinuxfs4", default: true, metadata: { labels: {}, annotations: {} } });
    expect((await list("?default=true")).resources.map((s) => s.name)).toEqual(["cflinuxfs4"]);
  });

  it("admins create with metadata; the shape; GET one; duplicates are 422", async () => {
    const stack = await create({ name: "s-create", description: "desc", metadata: { labels: { tier: "x" }, annotations: { note: "y" } } });
    expect(Object.keys(stack)).toEqual([
      "guid", "created_at", "updated_at", "name", "description", "run_rootfs_image", "build_rootfs_image", "default", "state", "state_reason", "metadata", "links",
    ]);
    expect(stack).toMatchObject({
      name: "s-create", description: "desc", updated_at: null, default: false, run_rootfs_image: "s-create", state: "ACTIVE", state_reason: null,
      metadata: { labels: { tier: "x" }, annotations: { note: "y" } }, links: { self: { href: `/v3/stacks/${stack.guid}` } },
    });
    expect(await jsonOf(await get(`/v3/stacks/${stack.guid}`, USER))).toEqual(stack);
    const dup = await call("POST", "/v3/stacks", { auth: ADMIN, body: { name: "s-create", metadata: { labels: { a: "b" } } } });
    expect(dup.status).toBe(422);
    expect((await v3Error(dup)).detail).toBe("Name must be unique");
    // The refused duplicate left no labels behind.
    expect((await list("?label_selector=a")).resources).toEqual([]);
  });

  it("bad bodies are 422, non-admins 403", async () => {
    for (const [body, detail] of [[{}, "Name can't be blank"], [{ name: 3 }, "Name must be a string"], [{ name: "x", foo: 1 }, "Unknown field(s): 'foo'"]] as const) {
      const res = await call("POST", "/v3/stacks", { auth: ADMIN, body });
      expect(res.status).toBe(422);
      expect((await v3Error(res)).detail).toContain(detail);
    }
    const res = await call("POST", "/v3/stacks", { auth: USER, body: { name: "nope" } });
    expect(res.status).toBe(403);
    expect((await v3Error(res)).code).toBe(10003);
    const reader = await bearer({ scopes: SCOPES.readOnly });
    expect((await call("POST", "/v3/stacks", { auth: reader, body: { name: "nope" } })).status).toBe(403);
  });

  it("a whitespace-only or null name is 'Name can't be blank' (ActiveModel's presence); nothing is created", async () => {
    const before = (await list()).pagination.total_results;
    for (const name of [" ", "\t\n", null, ""]) {
      const res = await call("POST", "/v3/stacks", { auth: ADMIN, body: { name } });
      expect(res.status, JSON.stringify(name)).toBe(422);
      expect(await v3Error(res)).toEqual({ detail: "Name can't be blank", title: "CF-UnprocessableEntity", code: 10008 });
    }
    expect((await list()).pagination.total_results).toBe(before);
  });

  it("metadata values that are not strings are 422 on create and PATCH; nothing is created or changed", async () => {
    const before = (await list()).pagination.total_results;
    let res = await call("POST", "/v3/stacks", { auth: ADMIN, body: { name: "s-meta", metadata: { labels: { a: 1 }, annotations: { b: 1.5 } } } });
    expect(res.status).toBe(422);
    expect(await v3Error(res)).toEqual({ detail: "Metadata annotation value error: value must be a string", title: "CF-UnprocessableEntity", code: 10008 });
    expect((await list()).pagination.total_results).toBe(before);
    const stack = await create({ name: "s-meta", metadata: { labels: { a: "1" } } });
    res = await call("PATCH", `/v3/stacks/${stack.guid}`, { auth: ADMIN, body: { metadata: { labels: { a: null, b: 2.5 } } } });
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toBe("Metadata label value error: value must be a string");
    expect((await jsonOf<Stack>(await get(`/v3/stacks/${stack.guid}`, USER))).metadata).toEqual({ labels: { a: "1" }, annotations: {} });
  });

  it("PATCH changes metadata (null deletes) and bumps updated_at", async () => {
    const stack = await create({ name: "s-patch", metadata: { labels: { a: "1", b: "2" } } });
    const res = await call("PATCH", `/v3/stacks/${stack.guid}`, { auth: ADMIN, body: { metadata: { labels: { a: null, c: "3" } } } });
    expect(res.status).toBe(200);
    const patched = await jsonOf<Stack>(res);
    expect(patched.metadata.labels).toEqual({ b: "2", c: "3" });
    expect(patched.updated_at).toMatch(/Z$/);
    expect((await call("PATCH", `/v3/stacks/${stack.guid}`, { auth: ADMIN, body: { name: "renamed" } })).status).toBe(422);
    expect((await call("PATCH", `/v3/stacks/${stack.guid}`, { auth: USER, body: {} })).status).toBe(403);
    expect((await call("PATCH", "/v3/stacks/nope", { auth: ADMIN, body: {} })).status).toBe(404);
  });

  it("lists filter by names, guids and label_selector, with absolute links", async () => {
    const a = await create({ name: "s-list-a", metadata: { labels: { env: "prod" } } });
    const b = await create({ name: "s-list-b" });
    expect((await list(`?names=s-list-a,s-list-b`)).resources.map((s) => s.guid)).toEqual([a.guid, b.guid]);
    expect((await list(`?guids=${b.guid}`)).resources.map((s) => s.name)).toEqual(["s-list-b"]);
    const selected = await list("?label_selector=env=prod");
    expect(selected.resources.map((s) => s.guid)).toEqual([a.guid]);
    expect(selected.pagination.first.href).toBe(`${ORIGIN}/v3/stacks?label_selector=env%3Dprod&page=1&per_page=50`);
    const paged = await list("?per_page=1");
    expect(paged.pagination.next?.href).toBe(`${ORIGIN}/v3/stacks?page=2&per_page=1`);
    for (const q of ["?label_selector=", "?default=maybe", "?order_by=position", "?bogus=1"]) {
      expect((await get(`/v3/stacks${q}`, USER)).status, q).toBe(400);
    }
  });

  it("DELETE: admins only, 404 for unknown, removes metadata", async () => {
    const stack = await create({ name: "s-delete", metadata: { labels: { gone: "yes" } } });
    expect((await call("DELETE", `/v3/stacks/${stack.guid}`, { auth: USER })).status).toBe(403);
    expect((await call("DELETE", `/v3/stacks/${stack.guid}`, { auth: ADMIN })).status).toBe(204);
    expect((await get(`/v3/stacks/${stack.guid}`, USER)).status).toBe(404);
    expect((await call("DELETE", `/v3/stacks/${stack.guid}`, { auth: ADMIN })).status).toBe(404);
    expect((await list("?label_selector=gone")).resources).toEqual([]);
  });

  it("an unknown stack is 404 Stack not found", async () => {
    const res = await get("/v3/stacks/nope", USER);
    expect(res.status).toBe(404);
    expect(await v3Error(res)).toEqual({ detail: "Stack not found", title: "CF-ResourceNotFound", code: 10010 });
  });
});
