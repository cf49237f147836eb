// /v3/apps, /v3/spaces, /v3/organizations: shapes, validation, filters, pagination, and deletes that
// take packages, their bits and their metadata with them.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database, timestamp } from "../../../src/db/client";
import { annotations, labels, packages } from "../../../src/db/schema";
import { call, get, jsonOf, ORIGIN, v3Error, waitForJob } from "../../helpers/api";
import { makeApp } from "../../helpers/fixtures";
import { unprocessable, world } from "../../helpers/world";

const db = () => database(env.DB);
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

async function addPackage(appGuid: string, withBits: boolean) {
  const guid = crypto.randomUUID();
  const bitsKey = withBits ? `packages/${guid}` : null;
  if (bitsKey) await env.BITS.put(bitsKey, "zip bytes");
  await db().insert(packages).values({ guid, appGuid, type: "bits", state: withBits ? "READY" : "AWAITING_UPLOAD", bitsKey, createdAt: timestamp() });
  await db().insert(labels).values({ resourceType: "package", resourceGuid: guid, keyName: "fruit", value: "pear" });
  return { guid, bitsKey };
}

describe("POST /v3/apps", () => {
  it("creates a buildpack app with the reference's shape and records audit.app.create", async () => {
    const w = await world();
    const res = await call("POST", "/v3/apps", {
      auth: w.auth.dev,
      body: {
        name: "my-app",
        relationships: { space: { data: { guid: w.space.guid } } },
        lifecycle: { type: "buildpack", data: { buildpacks: ["https://github.com/cloudfoundry/go-buildpack"], stack: "cflinuxfs4" } },
        metadata: { labels: { tier: "web" }, annotations: { owner: "me" } },
      },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
    const app = await jsonOf<Record<string, unknown> & { guid: string }>(res);
    expect(Object.keys(app)).toEqual(["guid", "created_at", "updated_at", "name", "state", "lifecycle", "relationships", "metadata", "links"]);
    expect(app).toMatchObject({
      name: "my-app",
      state: "STOPPED",
      updated_at: null,
      lifecycle: { type: "buildpack", data: { buildpacks: ["https://github.com/cloudfoundry/go-buildpack"], stack: "cflinuxfs4" } },
      relationships: { space: { data: { guid: w.space.guid } }, current_droplet: { data: { guid: null } } },
      metadata: { labels: { tier: "web" }, annotations: { owner: "me" } },
      links: {
        self: { href: `/v3/apps/${app.guid}` },
        space: { href: `/v3/spaces/${w.space.guid}` },
        packages: { href: `/v3/apps/${app.guid}/packages` },
      },
    });
    expect(app.created_at).toMatch(TIMESTAMP);
    const events = await jsonOf<{ resources: Record<string, unknown>[] }>(await get(`/v3/audit_events?types=audit.app.create&target_guids=${app.guid}`, w.auth.admin));
    expect(events.resources).toHaveLength(1);
    expect(events.resources[0]).toMatchObject({
      actor: { guid: w.user.dev, type: "user", name: `${w.user.dev}@example.com` },
      target: { guid: app.guid, type: "app", name: "my-app" },
      space: { guid: w.space.guid },
      organization: { guid: w.org.guid },
    });
  });

  it("defaults to the buildpack lifecycle on the default stack; docker apps have empty data", async () => {
    const w = await world();
    let app = await jsonOf(await call("POST", "/v3/apps", { auth: w.auth.dev, body: { name: "a", relationships: { space: { data: { guid: w.space.guid } } } } }));
    expect(app.lifecycle).toEqual({ type: "buildpack", data: { buildpacks: [], stack: "cflinuxfs4" } });
    app = await jsonOf(await call("POST", "/v3/apps", {
      auth: w.auth.dev, body: { name: "d", lifecycle: { type: "docker", data: {} }, relationships: { space: { data: { guid: w.space.guid } } } },
    }));
    expect(app.lifecycle).toEqual({ type: "docker", data: {} });
  });

  const space = (guid: string) => ({ space: { data: { guid } } });
  const invalid: [string, (s: string) => unknown, string][] = [
    ["no name", (s) => ({ relationships: space(s) }), "Name can't be blank"],
    ["a numeric name", (s) => ({ name: 5, relationships: space(s) }), "Name must be a string"],
    ["a name over 255 characters", (s) => ({ name: "x".repeat(256), relationships: space(s) }), "Name is too long (maximum is 255 characters)"],
    ["an unknown field", (s) => ({ name: "a", relationships: space(s), environment_variables: {}, bogus: 1 }), "Unknown field(s): 'environment_variables', 'bogus'"],
    ["no relationships", () => ({ name: "a" }), "Relationships 'relationships' is not an object"],
    ["empty relationships", () => ({ name: "a", relationships: {} }), "Relationships 'relationships' must include one or more valid relationships"],
    ["a malformed space relationship", () => ({ name: "a", relationships: { space: { guid: "x" } } }), `Relationships Space must be structured like this: "space: {"data": {"guid": "valid-guid"}}"`],
    ["a numeric space guid", () => ({ name: "a", relationships: { space: { data: { guid: 7 } } } }), "Relationships Space guid must be a string"],
    ["an unknown lifecycle type", (s) => ({ name: "a", relationships: space(s), lifecycle: { type: "kpack", data: {} } }), "Lifecycle type is not included in the list: buildpack, docker"],
    ["lifecycle without data", (s) => ({ name: "a", relationships: space(s), lifecycle: { type: "buildpack" } }), "Lifecycle data must be an object"],
    ["non-string buildpacks", (s) => ({ name: "a", relationships: space(s), lifecycle: { type: "buildpack", data: { buildpacks: [1] } } }), "Lifecycle Buildpacks can only contain strings"],
    ["docker data", (s) => ({ name: "a", relationships: space(s), lifecycle: { type: "docker", data: { image: "x" } } }), "Lifecycle Unknown field(s): 'image'"],
    ["an unknown stack", (s) => ({ name: "a", relationships: space(s), lifecycle: { type: "buildpack", data: { stack: "nope" } } }), "Stack must be an existing stack"],
    ["an unknown buildpack", (s) => ({ name: "a", relationships: space(s), lifecycle: { type: "buildpack", data: { buildpacks: ["nope"] } } }), `Buildpack "nope" for stack "cflinuxfs4" must be an existing admin buildpack or a valid git URI`],
    ["a reserved label", (s) => ({ name: "a", relationships: space(s), metadata: { labels: { "cloudfoundry.org/x": "y" } } }), "Metadata label key error: prefix 'cloudfoundry.org' is reserved"],
    ["a whitespace-only name (blank, as ActiveModel's presence sees it)", (s) => ({ name: "  \u3000", relationships: space(s) }), "Name can't be blank"],
    [
      "metadata values that are not strings",
      (s) => ({ name: "a", relationships: space(s), metadata: { labels: { a: 1.5 }, annotations: { b: true } } }),
      "Metadata label value error: value must be a string, Metadata annotation value error: value must be a string",
    ],
    ["a space that does not exist", () => ({ name: "a", relationships: space("no-such-space") }), "Invalid space. Ensure that the space exists and you have access to it."],
  ];
  for (const [what, body, detail] of invalid) {
    it(`422 for ${what}, and nothing is created`, async () => {
      const w = await world();
      const res = await call("POST", "/v3/apps", { auth: w.auth.dev, body: body(w.space.guid) });
      expect(res.status).toBe(422);
      expect(await v3Error(res)).toEqual(unprocessable(detail));
      const list = await jsonOf<{ resources: unknown[] }>(await get(`/v3/apps?space_guids=${w.space.guid}`, w.auth.admin));
      expect(list.resources).toEqual([]);
    });
  }

  it("400 for malformed JSON", async () => {
    const w = await world();
    const res = await call("POST", "/v3/apps", { auth: w.auth.dev, body: '{"name":', headers: { "Content-Type": "application/json" } });
    expect(res.status).toBe(400);
    expect((await v3Error(res)).title).toBe("CF-MessageParseError");
  });

  it("a name taken in the space is 422 CF-UniquenessError; the same name in another space is fine", async () => {
    const w = await world();
    await makeApp({ spaceGuid: w.space.guid, name: "dup" });
    const res = await call("POST", "/v3/apps", { auth: w.auth.admin, body: { name: "dup", relationships: { space: { data: { guid: w.space.guid } } } } });
    expect(res.status).toBe(422);
    expect(await v3Error(res)).toEqual({ detail: "App with the name 'dup' already exists.", title: "CF-UniquenessError", code: 10016 });
    const other = await call("POST", "/v3/apps", { auth: w.auth.admin, body: { name: "dup", relationships: { space: { data: { guid: w.space2.guid } } } } });
    expect(other.status).toBe(201);
  });

  it("read-only tokens get 403 before the body is read", async () => {
    const w = await world();
    const { bearer } = await import("../../helpers/tokens");
    const res = await call("POST", "/v3/apps", { auth: await bearer({ user: w.user.dev, scopes: ["cloud_controller.read"] }), body: "{bad" });
    expect(res.status).toBe(403);
  });
});

describe("GET /v3/apps", () => {
  it("filters by names, space_guids, organization_guids, guids, lifecycle_type and label_selector, with the CLI's lookup", async () => {
    const w = await world();
    const a = await makeApp({ spaceGuid: w.space.guid, name: "alpha" });
    const b = await makeApp({ spaceGuid: w.space2.guid, name: "beta", lifecycle: "docker" });
    const c = await makeApp({ spaceGuid: w.space3.guid, name: "alpha" });
    await db().insert(labels).values({ resourceType: "app", resourceGuid: b.guid, keyName: "tier", value: "db" });
    const names = async (query: string) =>
      (await jsonOf<{ resources: { guid: string }[] }>(await get(`/v3/apps?${query}`, w.auth.admin))).resources.map((r) => r.guid);
    expect(await names(`names=alpha&space_guids=${w.space.guid}`)).toEqual([a.guid]);
    expect(await names("names=alpha")).toEqual([a.guid, c.guid]);
    expect(await names(`organization_guids=${w.org.guid}`)).toEqual([a.guid, b.guid]);
    expect(await names(`guids=${b.guid},${c.guid}`)).toEqual([b.guid, c.guid]);
    expect(await names(`lifecycle_type=docker&organization_guids=${w.org.guid},${w.org3.guid}`)).toEqual([b.guid]);
    expect(await names(`label_selector=tier=db`)).toEqual([b.guid]);
    expect(await names(`label_selector=tier!=db&organization_guids=${w.org.guid}`)).toEqual([a.guid]);
    expect(await names(`order_by=-name&space_guids=${w.space.guid},${w.space2.guid}`)).toEqual([b.guid, a.guid]);
  });

  it("paginates with absolute links whose query keys are sorted", async () => {
    const w = await world();
    for (const n of ["a1", "a2", "a3"]) await makeApp({ spaceGuid: w.space.guid, name: n });
    const res = await get(`/v3/apps?space_guids=${w.space.guid}&per_page=2&page=2`, w.auth.dev);
    const body = await jsonOf<{ pagination: Record<string, unknown>; resources: { name: string }[] }>(res);
    expect(body.resources.map((r) => r.name)).toEqual(["a3"]);
    expect(body.pagination).toEqual({
      total_results: 3,
      total_pages: 2,
      first: { href: `${ORIGIN}/v3/apps?page=1&per_page=2&space_guids=${w.space.guid}` },
      last: { href: `${ORIGIN}/v3/apps?page=2&per_page=2&space_guids=${w.space.guid}` },
      next: null,
      previous: { href: `${ORIGIN}/v3/apps?page=1&per_page=2&space_guids=${w.space.guid}` },
    });
  });

  it("400 for unknown parameters, a bad lifecycle_type and a bad label selector", async () => {
    const w = await world();
    let err = await v3Error(await get("/v3/apps?bogus=1", w.auth.admin));
    expect(err.detail).toBe("The query parameter is invalid: Unknown query parameter(s): 'bogus'. Valid parameters are: 'page', 'per_page', 'order_by', 'created_ats', 'updated_ats', 'guids', 'names', 'organization_guids', 'space_guids', 'stacks', 'lifecycle_type', 'label_selector'");
    err = await v3Error(await get("/v3/apps?lifecycle_type=kpack", w.auth.admin));
    expect(err).toEqual({ detail: "The query parameter is invalid: Lifecycle type is not included in the list: buildpack, docker, cnb", title: "CF-BadQueryParameter", code: 10005 });
    const res = await get("/v3/apps?label_selector=", w.auth.admin);
    expect(res.status).toBe(400);
  });
});

describe("PATCH /v3/apps/:guid", () => {
  it("renames and relabels; updated_at is set; 422 for an unknown field before the lookup", async () => {
    const w = await world();
    const app = await makeApp({ spaceGuid: w.space.guid, name: "old" });
    const res = await call("PATCH", `/v3/apps/${app.guid}`, { auth: w.auth.dev, body: { name: "new", metadata: { labels: { a: "b" } } } });
    expect(res.status).toBe(200);
    const body = await jsonOf(res);
    expect(body).toMatchObject({ name: "new", metadata: { labels: { a: "b" }, annotations: {} } });
    expect(body.updated_at).toMatch(TIMESTAMP);
    const bad = await call("PATCH", "/v3/apps/no-such-app", { auth: w.auth.dev, body: { lifecycle: {}, state: "STARTED" } });
    expect(bad.status).toBe(422);
    expect((await v3Error(bad)).detail).toBe("Unknown field(s): 'lifecycle', 'state'");
    expect(await v3Error(await call("PATCH", "/v3/apps/no-such-app", { auth: w.auth.dev, body: {} }))).toEqual({ detail: "App not found", title: "CF-ResourceNotFound", code: 10010 });
  });

  it("a whitespace-only name is blank and non-string metadata values are refused; nothing changes", async () => {
    const w = await world();
    const app = await makeApp({ spaceGuid: w.space.guid, name: "old" });
    await call("PATCH", `/v3/apps/${app.guid}`, { auth: w.auth.dev, body: { metadata: { labels: { a: "b" } } } });
    const bodies: [unknown, string][] = [
      [{ name: " " }, "Name can't be blank"],
      [{ name: "new", metadata: { labels: { a: null }, annotations: { n: 1.5 } } }, "Metadata annotation value error: value must be a string"],
    ];
    for (const [body, detail] of bodies) {
      const res = await call("PATCH", `/v3/apps/${app.guid}`, { auth: w.auth.dev, body });
      expect(res.status).toBe(422);
      expect(await v3Error(res)).toEqual(unprocessable(detail));
    }
    expect(await jsonOf(await get(`/v3/apps/${app.guid}`, w.auth.dev))).toMatchObject({ name: "old", metadata: { labels: { a: "b" }, annotations: {} } });
  });
});

describe("DELETE /v3/apps/:guid", () => {
  it("202 with a job; the job deletes the app, its packages, their bits and all metadata, and records audit.app.delete-request", async () => {
    const w = await world();
    const app = await makeApp({ spaceGuid: w.space.guid, name: "doomed" });
    const keep = await makeApp({ spaceGuid: w.space.guid, name: "kept" });
    await db().insert(annotations).values({ resourceType: "app", resourceGuid: app.guid, keyName: "note", value: "x" });
    const p1 = await addPackage(app.guid, true);
    const p2 = await addPackage(app.guid, false);
    const other = await addPackage(keep.guid, true);

    const res = await call("DELETE", `/v3/apps/${app.guid}`, { auth: w.auth.dev });
    expect(res.status).toBe(202);
    expect(await res.text()).toBe("");
    expect(res.headers.get("Location")).toMatch(/^http:\/\/api\.test\/v3\/jobs\/[0-9a-f-]+$/);
    const job = await waitForJob(res.headers.get("Location")!, w.auth.dev);
    expect(job).toMatchObject({ operation: "app.delete", state: "COMPLETE", errors: [] });

    expect((await get(`/v3/apps/${app.guid}`, w.auth.admin)).status).toBe(404);
    const rows = await db().select().from(packages);
    expect(rows.map((p) => p.guid)).not.toContain(p1.guid);
    expect(rows.map((p) => p.guid)).not.toContain(p2.guid);
    expect(rows.map((p) => p.guid)).toContain(other.guid);
    expect(await env.BITS.head(p1.bitsKey!)).toBeNull();
    expect(await env.BITS.head(other.bitsKey!)).not.toBeNull();
    const leftLabels = await db().select().from(labels);
    expect(leftLabels.map((l) => l.resourceGuid)).not.toContain(p1.guid);
    expect(leftLabels.map((l) => l.resourceGuid)).toContain(other.guid);
    expect((await db().select().from(annotations)).map((a) => a.resourceGuid)).not.toContain(app.guid);

    const events = await jsonOf<{ resources: Record<string, unknown>[] }>(await get(`/v3/audit_events?target_guids=${app.guid}`, w.auth.admin));
    expect(events.resources.map((e) => e.type)).toEqual(["audit.app.delete-request"]);
  });

  it("404 for an unknown app", async () => {
    const w = await world();
    expect(await v3Error(await call("DELETE", "/v3/apps/nope", { auth: w.auth.admin }))).toEqual({ detail: "App not found", title: "CF-ResourceNotFound", code: 10010 });
  });
});

describe("spaces", () => {
  it("creates with the reference's shape; names are unique per organization", async () => {
    const w = await world();
    const res = await call("POST", "/v3/spaces", { auth: w.auth.om, body: { name: "dev", relationships: { organization: { data: { guid: w.org.guid } } } } });
    expect(res.status).toBe(201);
    const space = await jsonOf<Record<string, unknown> & { guid: string }>(res);
    expect(space).toMatchObject({
      name: "dev", suspended: false, updated_at: null,
      relationships: { organization: { data: { guid: w.org.guid } }, quota: { data: null } },
      metadata: { labels: {}, annotations: {} },
      links: { self: { href: `/v3/spaces/${space.guid}` }, organization: { href: `/v3/organizations/${w.org.guid}` } },
    });
    const dup = await call("POST", "/v3/spaces", { auth: w.auth.om, body: { name: "dev", relationships: { organization: { data: { guid: w.org.guid } } } } });
    expect(await v3Error(dup)).toEqual(unprocessable("Name must be unique per organization"));
    const elsewhere = await call("POST", "/v3/spaces", { auth: w.auth.admin, body: { name: "dev", relationships: { organization: { data: { guid: w.org3.guid } } } } });
    expect(elsewhere.status).toBe(201);
  });

  it("a whitespace-only name is blank on create and PATCH; non-string metadata values are refused; nothing is created or changed", async () => {
    const w = await world();
    const org = { organization: { data: { guid: w.org.guid } } };
    const creates: [unknown, string][] = [
      [{ name: " ", relationships: org }, "Name can't be blank"],
      [{ name: "s", relationships: org, metadata: { annotations: { b: 1.5 } } }, "Metadata annotation value error: value must be a string"],
    ];
    for (const [body, detail] of creates) {
      const res = await call("POST", "/v3/spaces", { auth: w.auth.om, body });
      expect(res.status).toBe(422);
      expect(await v3Error(res)).toEqual(unprocessable(detail));
    }
    const spaces = await jsonOf<{ resources: { guid: string }[] }>(await get(`/v3/spaces?organization_guids=${w.org.guid}`, w.auth.admin));
    expect(spaces.resources.map((s) => s.guid).sort()).toEqual([w.space.guid, w.space2.guid].sort());
    const patches: [unknown, string][] = [
      [{ name: "   " }, "Name can't be blank"],
      [{ metadata: { labels: { a: false, b: 1e308 } } }, "Metadata label value error: value must be a string"],
    ];
    for (const [body, detail] of patches) {
      const res = await call("PATCH", `/v3/spaces/${w.space.guid}`, { auth: w.auth.om, body });
      expect(res.status).toBe(422);
      expect(await v3Error(res)).toEqual(unprocessable(detail));
    }
    expect(await jsonOf(await get(`/v3/spaces/${w.space.guid}`, w.auth.admin))).toMatchObject({ name: w.space.name, metadata: { labels: {}, annotations: {} } });
  });

  it("lists by names and organization_guids as `cf target` asks", async () => {
    const w = await world();
    const body = await jsonOf<{ resources: { guid: string }[]; pagination: { first: { href: string } } }>(
      await get(`/v3/spaces?names=${encodeURIComponent(w.space.name)}&organization_guids=${w.org.guid}&page=1&per_page=1`, w.auth.dev));
    expect(body.resources.map((s) => s.guid)).toEqual([w.space.guid]);
    expect(body.pagination.first.href).toBe(`${ORIGIN}/v3/spaces?names=${w.space.name}&organization_guids=${w.org.guid}&page=1&per_page=1`);
  });

  it("deleting a space deletes its apps, their packages and bits, and its roles", async () => {
    const w = await world();
    const app = await makeApp({ spaceGuid: w.space.guid });
    const p = await addPackage(app.guid, true);
    const res = await call("DELETE", `/v3/spaces/${w.space.guid}`, { auth: w.auth.om });
    expect(res.status).toBe(202);
    expect((await waitForJob(res.headers.get("Location")!, w.auth.om)).state).toBe("COMPLETE");
    expect((await get(`/v3/spaces/${w.space.guid}`, w.auth.admin)).status).toBe(404);
    expect((await get(`/v3/apps/${app.guid}`, w.auth.admin)).status).toBe(404);
    expect(await env.BITS.head(p.bitsKey!)).toBeNull();
    const roles = await jsonOf<{ resources: unknown[] }>(await get(`/v3/roles?space_guids=${w.space.guid}`, w.auth.admin));
    expect(roles.resources).toEqual([]);
    expect((await get(`/v3/spaces/${w.space2.guid}`, w.auth.admin)).status).toBe(200);
  });
});

describe("organizations", () => {
  it("creates with the reference's shape; duplicate names are 422", async () => {
    const w = await world();
    const res = await call("POST", "/v3/organizations", { auth: w.auth.admin, body: { name: "acme", metadata: { annotations: { a: "b" } } } });
    expect(res.status).toBe(201);
    const org = await jsonOf<Record<string, unknown> & { guid: string }>(res);
    expect(Object.keys(org)).toEqual(["guid", "created_at", "updated_at", "name", "suspended", "relationships", "metadata", "links"]);
    expect(org).toMatchObject({ name: "acme", suspended: false, metadata: { labels: {}, annotations: { a: "b" } }, links: { self: { href: `/v3/organizations/${org.guid}` } } });
    expect(await v3Error(await call("POST", "/v3/organizations", { auth: w.auth.admin, body: { name: "acme" } })))
      .toEqual(unprocessable("Organization 'acme' already exists."));
    expect(await v3Error(await call("POST", "/v3/organizations", { auth: w.auth.admin, body: { name: "x", suspended: "yes" } })))
      .toEqual(unprocessable("Suspended must be a boolean"));
    expect(await v3Error(await call("PATCH", `/v3/organizations/${org.guid}`, { auth: w.auth.admin, body: { name: w.org.name } })))
      .toEqual(unprocessable(`Organization name '${w.org.name}' is already taken.`));
  });

  it("a whitespace-only name is blank on create and PATCH; non-string metadata values are refused; nothing is created or changed", async () => {
    const w = await world();
    const count = async () => (await jsonOf<{ pagination: { total_results: number } }>(await get("/v3/organizations", w.auth.admin))).pagination.total_results;
    const before = await count();
    const creates: [unknown, string][] = [
      [{ name: " " }, "Name can't be blank"],
      [{ name: "ws-org", metadata: { labels: { a: 1 }, annotations: { b: 1.5 } } }, "Metadata annotation value error: value must be a string"],
    ];
    for (const [body, detail] of creates) {
      const res = await call("POST", "/v3/organizations", { auth: w.auth.admin, body });
      expect(res.status).toBe(422);
      expect(await v3Error(res)).toEqual(unprocessable(detail));
    }
    expect(await count()).toBe(before);
    const patches: [unknown, string][] = [
      [{ name: " \u00a0 " }, "Name can't be blank"],
      [{ metadata: { labels: { a: 0.5 } } }, "Metadata label value error: value must be a string"],
    ];
    for (const [body, detail] of patches) {
      const res = await call("PATCH", `/v3/organizations/${w.org.guid}`, { auth: w.auth.admin, body });
      expect(res.status).toBe(422);
      expect(await v3Error(res)).toEqual(unprocessable(detail));
    }
    expect(await jsonOf(await get(`/v3/organizations/${w.org.guid}`, w.auth.admin))).toMatchObject({ name: w.org.name, metadata: { labels: {}, annotations: {} } });
  });

  it("lists with names (as `cf target -o`), label_selector and pagination", async () => {
    const w = await world();
    await call("PATCH", `/v3/organizations/${w.org3.guid}`, { auth: w.auth.admin, body: { metadata: { labels: { env: "prod" } } } });
    const byName = await jsonOf<{ resources: { guid: string }[] }>(await get(`/v3/organizations?names=${w.org.name}&page=1&per_page=1`, w.auth.dev));
    expect(byName.resources.map((o) => o.guid)).toEqual([w.org.guid]);
    const byLabel = await jsonOf<{ resources: { guid: string }[] }>(await get("/v3/organizations?label_selector=env=prod", w.auth.admin));
    expect(byLabel.resources.map((o) => o.guid)).toEqual([w.org3.guid]);
    const page = await jsonOf<{ pagination: { total_results: number; next: { href: string } | null } }>(
      await get(`/v3/organizations?guids=${w.org.guid},${w.org3.guid}&per_page=1`, w.auth.admin));
    expect(page.pagination.total_results).toBe(2);
    expect(page.pagination.next?.href).toBe(`${ORIGIN}/v3/organizations?guids=${w.org.guid}%2C${w.org3.guid}&page=2&per_page=1`);
  });

  it("deleting an organization deletes its spaces, apps, packages, bits and roles", async () => {
    const w = await world();
    const app = await makeApp({ spaceGuid: w.space2.guid });
    const p = await addPackage(app.guid, true);
    const res = await call("DELETE", `/v3/organizations/${w.org.guid}`, { auth: w.auth.admin });
    expect(res.status).toBe(202);
    expect((await waitForJob(res.headers.get("Location")!, w.auth.admin)).state).toBe("COMPLETE");
    for (const path of [`/v3/organizations/${w.org.guid}`, `/v3/spaces/${w.space.guid}`, `/v3/apps/${app.guid}`]) {
      expect((await get(path, w.auth.admin)).status, path).toBe(404);
    }
    expect(await env.BITS.head(p.bitsKey!)).toBeNull();
    const roles = await jsonOf<{ resources: unknown[] }>(await get(`/v3/roles?organization_guids=${w.org.guid}`, w.auth.admin));
    expect(roles.resources).toEqual([]);
    expect((await get(`/v3/organizations/${w.org3.guid}`, w.auth.admin)).status).toBe(200);
  });
});
