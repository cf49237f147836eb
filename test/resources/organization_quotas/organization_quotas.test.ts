// Organization quotas: every organization names the default quota (created by migration 0003), and
// /v3/organization_quotas serves it read-only in the reference's shape (OrganizationQuotaPresenter).
import { beforeAll, describe, expect, it } from "vitest";
import { call, get, jsonOf, ORIGIN, v3Error } from "../../helpers/api";
import { grant, makeOrg } from "../../helpers/fixtures";
import { adminAuth, bearer, SCOPES } from "../../helpers/tokens";

type Quota = { guid: string; name: string; relationships: { organizations: { data: { guid: string }[] } } } & Record<string, unknown>;
type Page = { pagination: { total_results: number; first: { href: string } }; resources: Quota[] };

let admin: string;
let quota: Quota;
beforeAll(async () => {
  admin = await adminAuth();
  const page = await jsonOf<Page>(await get("/v3/organization_quotas", admin));
  quota = page.resources[0]!;
});

describe("GET /v3/organization_quotas", () => {
  it("lists the default quota, in the reference's shape with its default limits", async () => {
    const org = await makeOrg();
    const res = await get("/v3/organization_quotas", admin);
    expect(res.status).toBe(200);
    const page = await jsonOf<Page>(res);
    expect(page.pagination.total_results).toBe(1);
    const q = page.resources[0]!;
    expect(Object.keys(q)).toEqual(["apps", "services", "routes", "guid", "created_at", "updated_at", "name", "domains", "relationships", "links"]);
    expect(q).toMatchObject({
      name: "default",
      apps: { total_memory_in_mb: 10240, per_process_memory_in_mb: null, total_instances: null, per_app_tasks: null, log_rate_limit_in_bytes_per_second: null },
      services: { paid_services_allowed: true, total_service_instances: 100, total_service_keys: null },
      routes: { total_routes: 1000, total_reserved_ports: 0 },
      domains: { total_domains: null },
      updated_at: null,
      links: { self: { href: `/v3/organization_quotas/${q.guid}` } },
    });
    expect(q.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(q.relationships.organizations.data).toContainEqual({ guid: org.guid });
  });

  it("names only the organizations the caller can see", async () => {
    const mine = await makeOrg();
    const other = await makeOrg();
    const user = `quota-user-${crypto.randomUUID().slice(0, 8)}`;
    await grant(user, "organization_auditor", { orgGuid: mine.guid });
    const auth = await bearer({ user, scopes: SCOPES.user });
    const page = await jsonOf<Page>(await get("/v3/organization_quotas", auth));
    expect(page.resources.map((r) => r.guid)).toEqual([quota.guid]);
    expect(page.resources[0]!.relationships.organizations.data).toEqual([{ guid: mine.guid }]);
    const shown = await jsonOf<Quota>(await get(`/v3/organization_quotas/${quota.guid}`, auth));
    expect(shown.relationships.organizations.data).toEqual([{ guid: mine.guid }]);
    // organization_guids finds quotas through visible organizations only.
    expect((await jsonOf<Page>(await get(`/v3/organization_quotas?organization_guids=${other.guid}`, auth))).resources).toEqual([]);
    expect((await jsonOf<Page>(await get(`/v3/organization_quotas?organization_guids=${mine.guid}`, auth))).resources).toHaveLength(1);
  });

  it("filters by guids, names and organization_guids, with pagination links", async () => {
    const org = await makeOrg();
    const names = async (query: string) => (await jsonOf<Page>(await get(`/v3/organization_quotas?${query}`, admin))).resources.map((r) => r.name);
    expect(await names(`guids=${quota.guid}`)).toEqual(["default"]);
    expect(await names("guids=nope")).toEqual([]);
    expect(await names("names=default,other")).toEqual(["default"]);
    expect(await names("names=other")).toEqual([]);
    expect(await names(`organization_guids=${org.guid}`)).toEqual(["default"]);
    expect(await names("organization_guids=nope")).toEqual([]);
    const page = await jsonOf<Page>(await get("/v3/organization_quotas?per_page=1&names=default", admin));
    expect(page.pagination.first.href).toBe(`${ORIGIN}/v3/organization_quotas?names=default&page=1&per_page=1`);
    const bad = await get("/v3/organization_quotas?bogus=1", admin);
    expect(bad.status).toBe(400);
    expect((await v3Error(bad)).detail).toContain("Unknown query parameter(s): 'bogus'");
  });

  it("needs a token", async () => {
    expect((await get("/v3/organization_quotas")).status).toBe(401);
  });
});

describe("GET /v3/organization_quotas/:guid", () => {
  it("shows the quota; an unknown guid is 404 Organization quota not found", async () => {
    const shown = await get(`/v3/organization_quotas/${quota.guid}`, admin);
    expect(shown.status).toBe(200);
    expect((await jsonOf<Quota>(shown)).name).toBe("default");
    const missing = await get("/v3/organization_quotas/nope", admin);
    expect(missing.status).toBe(404);
    expect(await v3Error(missing)).toEqual({ detail: "Organization quota not found", title: "CF-ResourceNotFound", code: 10010 });
  });

  it("is read-only: no create, update or delete", async () => {
    for (const [method, path] of [["POST", "/v3/organization_quotas"], ["PATCH", `/v3/organization_quotas/${quota.guid}`], ["DELETE", `/v3/organization_quotas/${quota.guid}`]] as const) {
      const res = await call(method, path, { auth: admin, body: { name: "x" } });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect((await jsonOf<Page>(await get("/v3/organization_quotas", admin))).resources.map((r) => r.name)).toEqual(["default"]);
  });
});

describe("organizations name their quota", () => {
  it("created through the API, or inserted directly: relationships.quota.data is the default quota", async () => {
    const res = await call("POST", "/v3/organizations", { auth: admin, body: { name: `quota-org-${crypto.randomUUID().slice(0, 8)}` } });
    expect(res.status).toBe(201);
    const created = await jsonOf<{ guid: string; relationships: unknown }>(res);
    expect(created.relationships).toEqual({ quota: { data: { guid: quota.guid } } });
    const direct = await makeOrg();
    const shown = await jsonOf<{ relationships: unknown }>(await get(`/v3/organizations/${direct.guid}`, admin));
    expect(shown.relationships).toEqual({ quota: { data: { guid: quota.guid } } });
    const listed = await jsonOf<{ resources: { relationships: unknown }[] }>(await get(`/v3/organizations?guids=${created.guid},${direct.guid}`, admin));
    expect(listed.resources.map((o) => o.relationships)).toEqual([{ quota: { data: { guid: quota.guid } } }, { quota: { data: { guid: quota.guid } } }]);
  });
});
