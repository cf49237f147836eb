// /v3/roles and /v3/users: who may grant which role (RolesController + RoleCreate), the space-role
// prerequisite, deletes, lists, and the users each caller sees.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hsToken } from "../../helpers/tokens";
import { call, get, jsonOf, v3Error, waitForJob } from "../../helpers/api";
import { grant } from "../../helpers/fixtures";
import { NOT_AUTHORIZED, notFound, ORG_SUSPENDED, unprocessable, world, type RoleName, type World } from "../../helpers/world";

const orgRole = (type: string, user: string, org: string) =>
  ({ type, relationships: { user: { data: { guid: user } }, organization: { data: { guid: org } } } });
const spaceRole = (type: string, user: string, space: string) =>
  ({ type, relationships: { user: { data: { guid: user } }, space: { data: { guid: space } } } });

type Outcome = number | [number, { detail: string; title: string; code: number }];
const F: Outcome = [403, NOT_AUTHORIZED];
const INVALID_SPACE: Outcome = [422, unprocessable("Invalid space. Ensure that the space exists and you have access to it.")];
const INVALID_ORG: Outcome = [422, unprocessable("Invalid organization. Ensure that the organization exists and you have access to it.")];

async function expectOutcome(res: Response, outcome: Outcome) {
  const [status, error] = typeof outcome === "number" ? [outcome, undefined] : outcome;
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${await res.text()}`);
  if (error) expect(await v3Error(res)).toEqual(error);
}

describe("who may grant a space role (space_developer in S to a member of O)", () => {
  const expected: Record<RoleName | "outsider", Outcome> = {
    admin: 201, om: 201, mgr: 201,
    aro: F, ga: F, dev: F, aud: F, sup: F,
    oa: INVALID_SPACE, obm: INVALID_SPACE, nr: INVALID_SPACE, outsider: INVALID_SPACE,
  };
  for (const [who, outcome] of Object.entries(expected) as [RoleName | "outsider", Outcome][]) {
    it(`${who} → ${typeof outcome === "number" ? outcome : outcome[0]}`, async () => {
      const w = await world();
      const newbie = `newbie-${crypto.randomUUID()}`;
      await grant(newbie, "organization_user", { orgGuid: w.org.guid });
      const res = await call("POST", "/v3/roles", { auth: w.auth[who], body: spaceRole("space_developer", newbie, w.space.guid) });
      await expectOutcome(res, outcome);
      const roles = await jsonOf<{ resources: unknown[] }>(await get(`/v3/roles?user_guids=${newbie}&types=space_developer`, w.auth.admin));
      expect(roles.resources).toHaveLength(res.status === 201 ? 1 : 0);
    });
  }
});

describe("who may grant an organization role (organization_auditor in O)", () => {
  const expected: Record<RoleName | "outsider", Outcome> = {
    admin: 201, om: 201,
    aro: F, ga: F, dev: F, mgr: F, aud: F, sup: F, oa: F, obm: F, nr: F,
    outsider: INVALID_ORG,
  };
  for (const [who, outcome] of Object.entries(expected) as [RoleName | "outsider", Outcome][]) {
    it(`${who} → ${typeof outcome === "number" ? outcome : outcome[0]}`, async () => {
      const w = await world();
      const res = await call("POST", "/v3/roles", { auth: w.auth[who], body: orgRole("organization_auditor", `someone-${crypto.randomUUID()}`, w.org.guid) });
      await expectOutcome(res, outcome);
    });
  }
});

describe("POST /v3/roles", () => {
  it("creates an organization role with the reference's shape, a user row, and audit.user.organization_manager_add", async () => {
    const w = await world();
    const res = await call("POST", "/v3/roles", { auth: w.auth.admin, body: orgRole("organization_manager", "new-user", w.org.guid) });
    expect(res.status).toBe(201);
    const role = await jsonOf<Record<string, unknown> & { guid: string }>(res);
    expect(Object.keys(role)).toEqual(["guid", "created_at", "updated_at", "type", "relationships", "links"]);
    expect(role).toMatchObject({
      type: "organization_manager",
      relationships: { user: { data: { guid: "new-user" } }, space: { data: null }, organization: { data: { guid: w.org.guid } } },
      links: { self: { href: `/v3/roles/${role.guid}` }, user: { href: "/v3/users/new-user" }, organization: { href: `/v3/organizations/${w.org.guid}` } },
    });
    const user = await jsonOf(await get("/v3/users/new-user", w.auth.admin));
    expect(user).toMatchObject({ guid: "new-user", username: null, presentation_name: "new-user", origin: null });
    const events = await jsonOf<{ resources: Record<string, unknown>[] }>(await get("/v3/audit_events?target_guids=new-user", w.auth.admin));
    expect(events.resources).toHaveLength(1);
    expect(events.resources[0]).toMatchObject({
      type: "audit.user.organization_manager_add",
      target: { guid: "new-user", type: "user" },
      organization: { guid: w.org.guid },
      space: null,
    });
  });

  it("a space role needs an organization_user role in the space's organization (422); other org roles do not count", async () => {
    const w = await world();
    const body = spaceRole("space_auditor", w.user.oa, w.space.guid);
    let res = await call("POST", "/v3/roles", { auth: w.auth.admin, body });
    expect(await v3Error(res)).toEqual(unprocessable("Users cannot be assigned roles in a space if they do not have a role in that space's organization."));
    await call("POST", "/v3/roles", { auth: w.auth.admin, body: orgRole("organization_user", w.user.oa, w.org.guid) });
    res = await call("POST", "/v3/roles", { auth: w.auth.admin, body });
    expect(res.status).toBe(201);
    const role = await jsonOf(res);
    expect(role.relationships).toEqual({ user: { data: { guid: w.user.oa } }, space: { data: { guid: w.space.guid } }, organization: { data: null } });
  });

  it("a space manager cannot grant roles in another space of the organization", async () => {
    const w = await world();
    const res = await call("POST", "/v3/roles", { auth: w.auth.mgr, body: spaceRole("space_developer", w.user.nr, w.space2.guid) });
    await expectOutcome(res, INVALID_SPACE);
  });

  it("a role held already is 422 with the reference's message", async () => {
    const w = await world();
    const res = await call("POST", "/v3/roles", { auth: w.auth.admin, body: spaceRole("space_developer", w.user.dev, w.space.guid) });
    expect(await v3Error(res)).toEqual(unprocessable(`User '${w.user.dev}' already has 'space_developer' role in space '${w.space.name}'.`));
  });

  it("suspended organization: the org manager gets 403 CF-OrgSuspended, an admin still grants", async () => {
    const w = await world({ suspended: true });
    await expectOutcome(await call("POST", "/v3/roles", { auth: w.auth.om, body: orgRole("organization_user", "x", w.org.guid) }), [403, ORG_SUSPENDED]);
    await expectOutcome(await call("POST", "/v3/roles", { auth: w.auth.mgr, body: spaceRole("space_auditor", w.user.nr, w.space.guid) }), [403, ORG_SUSPENDED]);
    await expectOutcome(await call("POST", "/v3/roles", { auth: w.auth.admin, body: orgRole("organization_user", "x", w.org.guid) }), 201);
  });

  const invalid: [string, (w: World) => unknown, string][] = [
    ["a bad type", (w) => orgRole("org_boss", "u", w.org.guid), `Type must be one of the allowed types ["organization_auditor", "organization_manager", "organization_billing_manager", "organization_user", "space_auditor", "space_manager", "space_developer", "space_supporter"]`],
    ["no relationships", () => ({ type: "space_developer" }), "Relationships 'relationships' is not an object"],
    ["both space and organization", (w) => ({ type: "space_developer", relationships: { user: { data: { guid: "u" } }, space: { data: { guid: w.space.guid } }, organization: { data: { guid: w.org.guid } } } }),
      "Relationships Organization cannot be provided with the space role type: 'space_developer'., Relationships cannot specify both an organization and a space."],
    ["a space for an organization role", (w) => ({ type: "organization_user", relationships: { user: { data: { guid: "u" } }, space: { data: { guid: w.space.guid } } } }),
      "Relationships Space cannot be provided with the organization role type: 'organization_user'."],
    ["no user", (w) => ({ type: "organization_user", relationships: { organization: { data: { guid: w.org.guid } } } }),
      "Relationships User can't be blank, Relationships User must have a username or guid specified"],
    ["neither space nor organization", () => ({ type: "organization_user", relationships: { user: { data: { guid: "u" } } } }),
      "Relationships must specify either a space or an organization."],
    ["an unknown field", (w) => ({ ...orgRole("organization_user", "u", w.org.guid), extra: true }), "Unknown field(s): 'extra'"],
    ["an unknown username", (w) => ({ type: "organization_user", relationships: { user: { data: { username: "ghost" } }, organization: { data: { guid: w.org.guid } } } }),
      "No user exists with the username 'ghost'."],
  ];
  for (const [what, body, detail] of invalid) {
    it(`422 for ${what}`, async () => {
      const w = await world();
      const res = await call("POST", "/v3/roles", { auth: w.auth.admin, body: body(w) });
      expect(res.status).toBe(422);
      expect(await v3Error(res)).toEqual(unprocessable(detail));
    });
  }

  it("grants by username when the user is known here", async () => {
    const w = await world();
    await get("/v3/users", w.auth.nr); // the user row learns its username from the token
    const res = await call("POST", "/v3/roles", {
      auth: w.auth.om,
      body: { type: "organization_auditor", relationships: { user: { data: { username: `${w.user.nr}-name`, origin: "uaa" } }, organization: { data: { guid: w.org.guid } } } },
    });
    const body = await jsonOf(res);
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(body.relationships).toMatchObject({ user: { data: { guid: w.user.nr } } });
  });
});

describe("GET /v3/roles", () => {
  it("filters by types, user_guids, space_guids, organization_guids; includes users and spaces", async () => {
    const w = await world();
    const list = async (query: string, who: RoleName | "outsider" = "admin") =>
      jsonOf<{ resources: { type: string; relationships: { user: { data: { guid: string } } } }[]; included?: Record<string, { guid: string }[]> }>(
        await get(`/v3/roles?${query}`, w.auth[who]));
    expect((await list(`space_guids=${w.space.guid}&types=space_developer`)).resources.map((r) => r.relationships.user.data.guid)).toEqual([w.user.dev]);
    expect((await list(`organization_guids=${w.org.guid}&types=organization_manager,organization_auditor`)).resources.map((r) => r.type))
      .toEqual(["organization_manager", "organization_auditor"]);
    expect((await list(`user_guids=${w.user.mgr}`)).resources.map((r) => r.type)).toEqual(["organization_user", "space_manager"]);
    const withIncludes = await list(`user_guids=${w.user.dev}&include=user,space`);
    expect(withIncludes.included?.users?.map((u) => u.guid)).toEqual([w.user.dev]);
    expect(withIncludes.included?.spaces?.map((s) => s.guid)).toEqual([w.space.guid]);
    const page = await jsonOf<{ pagination: { total_results: number; total_pages: number }; resources: unknown[] }>(
      await get(`/v3/roles?organization_guids=${w.org.guid}&per_page=2`, w.auth.admin));
    expect(page.pagination).toMatchObject({ total_results: 8, total_pages: 4 });
    expect(page.resources).toHaveLength(2);
  });

  it("a bad parameter is 422 (the reference's roles list says unprocessable)", async () => {
    const w = await world();
    const res = await get("/v3/roles?bogus=1", w.auth.admin);
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toMatch(/^Unknown query parameter\(s\): 'bogus'/);
    expect((await v3Error(await get("/v3/roles?include=app", w.auth.admin))).detail)
      .toBe("Invalid included resource: 'app'. Valid included resources are: 'user', 'organization', 'space'");
  });

  it("the outsider sees only the roles of O3 and S3", async () => {
    const w = await world();
    const body = await jsonOf<{ resources: { relationships: { space: { data: { guid: string } | null }; organization: { data: { guid: string } | null } } }[] }>(await get("/v3/roles?per_page=5000", w.auth.outsider));
    const places = body.resources.map((r) => r.relationships.space.data?.guid ?? r.relationships.organization.data?.guid);
    expect(new Set(places)).toEqual(new Set([w.org3.guid, w.space3.guid]));
  });
});

describe("DELETE /v3/roles/:guid", () => {
  async function roleOf(w: World, user: string, type: string) {
    const body = await jsonOf<{ resources: { guid: string }[] }>(await get(`/v3/roles?user_guids=${user}&types=${type}`, w.auth.admin));
    return body.resources[0]!.guid;
  }

  it("a space manager revokes a space role: 202, job, the role is gone, audit.user.space_developer_remove", async () => {
    const w = await world();
    const guid = await roleOf(w, w.user.dev, "space_developer");
    const res = await call("DELETE", `/v3/roles/${guid}`, { auth: w.auth.mgr });
    expect(res.status).toBe(202);
    expect((await waitForJob(res.headers.get("Location")!, w.auth.mgr)).state).toBe("COMPLETE");
    expect(await v3Error(await get(`/v3/roles/${guid}`, w.auth.admin))).toEqual(notFound("Role"));
    const events = await jsonOf<{ resources: { type: string }[] }>(await get(`/v3/audit_events?target_guids=${w.user.dev}`, w.auth.admin));
    expect(events.resources.map((e) => e.type)).toEqual(["audit.user.space_developer_remove"]);
    // and the former developer no longer sees S
    expect((await get(`/v3/spaces/${w.space.guid}`, w.auth.dev)).status).toBe(404);
  });

  it("a developer cannot revoke (403); an organization auditor cannot see space roles (404)", async () => {
    const w = await world();
    const guid = await roleOf(w, w.user.aud, "space_auditor");
    await expectOutcome(await call("DELETE", `/v3/roles/${guid}`, { auth: w.auth.dev }), F);
    await expectOutcome(await call("DELETE", `/v3/roles/${guid}`, { auth: w.auth.oa }), [404, notFound("Role")]);
    expect((await get(`/v3/roles/${guid}`, w.auth.admin)).status).toBe(200);
  });

  it("organization_user cannot be deleted while the user has space roles in the organization", async () => {
    const w = await world();
    const guid = await roleOf(w, w.user.dev, "organization_user");
    const res = await call("DELETE", `/v3/roles/${guid}`, { auth: w.auth.om });
    expect(await v3Error(res)).toEqual(unprocessable("Cannot delete organization_user role while user has roles in spaces in that organization."));
    const nrRole = await roleOf(w, w.user.nr, "organization_user");
    const ok = await call("DELETE", `/v3/roles/${nrRole}`, { auth: w.auth.om });
    expect(ok.status).toBe(202);
  });
});

describe("/v3/users", () => {
  it("a member of O sees the members of O and themselves, not the outsider; admins see everyone", async () => {
    const w = await world();
    const guids = async (who: RoleName | "outsider") =>
      (await jsonOf<{ resources: { guid: string }[] }>(await get("/v3/users?per_page=5000", w.auth[who]))).resources.map((u) => u.guid);
    const nrSees = await guids("nr");
    expect(nrSees).toEqual(expect.arrayContaining([w.user.nr, w.user.dev, w.user.om, w.user.oa]));
    expect(nrSees).not.toContain(w.user.outsider);
    const outsiderSees = await guids("outsider");
    expect(outsiderSees).toContain(w.user.outsider);
    expect(outsiderSees).not.toContain(w.user.dev);
    expect(await guids("admin")).toEqual(expect.arrayContaining([w.user.outsider, w.user.dev]));
    expect(await v3Error(await get(`/v3/users/${w.user.dev}`, w.auth.outsider))).toEqual(notFound("User"));
    const me = await jsonOf(await get(`/v3/users/${w.user.outsider}`, w.auth.outsider));
    expect(me).toMatchObject({ guid: w.user.outsider, username: `${w.user.outsider}-name`, presentation_name: `${w.user.outsider}-name`, origin: "uaa" });
  });

  it("a first-time caller finds themselves in the same request (list and show), and users carry their metadata", async () => {
    const w = await world();
    const newcomer = crypto.randomUUID();
    const auth = `bearer ${await hsToken({ claims: { user_id: newcomer, user_name: "newcomer", scope: ["cloud_controller.read"] } })}`;
    const first = await jsonOf<{ resources: { guid: string }[]; pagination: { total_results: number } }>(await get("/v3/users", auth));
    expect(first.resources.map((u) => u.guid)).toEqual([newcomer]);
    expect(first.pagination.total_results).toBe(1);
    await env.DB.batch([
      env.DB.prepare("INSERT INTO labels (resource_type, resource_guid, key_prefix, key_name, value) VALUES ('user', ?, 'example.com', 'team', 'blue')").bind(w.user.dev),
      env.DB.prepare("INSERT INTO annotations (resource_type, resource_guid, key_prefix, key_name, value) VALUES ('user', ?, '', 'note', 'hello')").bind(w.user.dev),
    ]);
    const metadata = { labels: { "example.com/team": "blue" }, annotations: { note: "hello" } };
    expect((await jsonOf(await get(`/v3/users/${w.user.dev}`, w.auth.admin))).metadata).toEqual(metadata);
    const listed = await jsonOf<{ resources: { guid: string; metadata: unknown }[] }>(await get("/v3/users?per_page=5000", w.auth.admin));
    expect(listed.resources.find((u) => u.guid === w.user.dev)?.metadata).toEqual(metadata);
    expect(listed.resources.find((u) => u.guid === w.user.om)?.metadata).toEqual({ labels: {}, annotations: {} });
    const brandNew = crypto.randomUUID();
    const show = await get(`/v3/users/${brandNew}`, `bearer ${await hsToken({ claims: { user_id: brandNew, scope: ["cloud_controller.read"] } })}`);
    expect(show.status).toBe(200);
    expect((await jsonOf(show)).guid).toBe(brandNew);
  });
});

describe("users and clients are kept apart (is_oauth_client)", () => {
  const INVALID_TOKEN = { detail: "Invalid Auth Token", title: "CF-InvalidAuthToken", code: 1000 };
  const clientAuth = async (clientId: string, scope: string[] = ["cloud_controller.read", "cloud_controller.write"]) =>
    `bearer ${await hsToken({ claims: { user_id: undefined, user_name: undefined, email: undefined, client_id: clientId, scope } })}`;
  const userRow = (guid: string) => env.DB.prepare("SELECT is_oauth_client, username, origin FROM users WHERE guid = ?").bind(guid).first();

  it("a client token whose client_id names a known user is 401 CF-InvalidAuthToken: it gets none of the user's roles and never rewrites the user", async () => {
    const w = await world();
    // The developer has called once: the row knows them as a UAA user.
    expect((await get("/v3/users", w.auth.dev)).status).toBe(200);
    const before = await userRow(w.user.dev);
    expect(before).toMatchObject({ is_oauth_client: 0, username: `${w.user.dev}-name`, origin: "uaa" });
    const impostor = await clientAuth(w.user.dev);
    for (const path of ["/v3/users", `/v3/spaces/${w.space.guid}`, "/v3/apps", "/v3/buildpacks"]) {
      const res = await get(path, impostor);
      expect(res.status, path).toBe(401);
      expect(await v3Error(res)).toEqual(INVALID_TOKEN);
    }
    const write = await call("POST", "/v3/apps", { auth: impostor, body: { name: "by-impostor", relationships: { space: { data: { guid: w.space.guid } } } } });
    expect(write.status).toBe(401);
    expect(await userRow(w.user.dev)).toEqual(before);
    const created = await env.DB.prepare("SELECT count(*) AS n FROM apps WHERE name = 'by-impostor'").first<{ n: number }>();
    expect(created?.n).toBe(0);
  });

  it("a client_id shaped like a UUID that names a user here is 401, even before that user ever called", async () => {
    const w = await world();
    const uuidUser = crypto.randomUUID();
    expect((await call("POST", "/v3/roles", { auth: w.auth.admin, body: orgRole("organization_user", uuidUser, w.org.guid) })).status).toBe(201);
    const res = await get(`/v3/organizations/${w.org.guid}`, await clientAuth(uuidUser));
    expect(res.status).toBe(401);
    expect(await v3Error(res)).toEqual(INVALID_TOKEN);
    expect(await userRow(uuidUser)).toMatchObject({ is_oauth_client: 0, username: null, origin: null });
  });

  it("a user token whose user_id names a known client is 401 CF-InvalidAuthToken", async () => {
    const clientId = `ci-${crypto.randomUUID().slice(0, 8)}`;
    expect((await get("/v3/users", await clientAuth(clientId))).status).toBe(200);
    expect(await userRow(clientId)).toMatchObject({ is_oauth_client: 1, origin: null });
    const res = await get("/v3/users", `bearer ${await hsToken({ claims: { user_id: clientId, user_name: "pretender" } })}`);
    expect(res.status).toBe(401);
    expect(await v3Error(res)).toEqual(INVALID_TOKEN);
    expect(await userRow(clientId)).toMatchObject({ is_oauth_client: 1, username: null, origin: null });
  });

  it("a client granted roles by its id (not a UUID) acts with them, and is then known as a client", async () => {
    const w = await world();
    const clientId = `pipeline-${crypto.randomUUID().slice(0, 8)}`;
    expect((await call("POST", "/v3/roles", { auth: w.auth.admin, body: orgRole("organization_user", clientId, w.org.guid) })).status).toBe(201);
    const auth = await clientAuth(clientId);
    expect((await get(`/v3/organizations/${w.org.guid}`, auth)).status).toBe(200);
    expect((await get("/v3/users", auth)).status).toBe(200);
    expect(await userRow(clientId)).toMatchObject({ is_oauth_client: 1 });
  });
});
