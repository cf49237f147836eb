// The role matrix (lib/cloud_controller/permissions.rb, with the reference controllers' rules for spaces and
// organizations): each role × each action, with the exact status and error, on a fresh world each.
import { describe, expect, it } from "vitest";
import { call, get, jsonOf, v3Error, waitForJob } from "../helpers/api";
import { makeApp } from "../helpers/fixtures";
import { NOT_AUTHORIZED, notFound, ORG_SUSPENDED, ROLES, unprocessable, world, type RoleName, type World } from "../helpers/world";

type Outcome = number | [number, { detail: string; title: string; code: number }];
type Actor = RoleName | "outsider";

async function expectOutcome(res: Response, outcome: Outcome) {
  const [status, error] = typeof outcome === "number" ? [outcome, undefined] : outcome;
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${await res.text()}`);
  if (error) expect(await v3Error(res)).toEqual(error);
}

const F = (s: number) => [s, NOT_AUTHORIZED] as Outcome;
const N = (what: string) => [404, notFound(what)] as Outcome;
const READERS: RoleName[] = ["admin", "aro", "ga", "dev", "mgr", "aud", "sup", "om"];

/** admin and dev write; other readers 403; oa, obm, nr see nothing. */
const appWrite = (ok: number, invisible: Outcome): Record<RoleName, Outcome> => ({
  admin: ok, dev: ok, aro: F(403), ga: F(403), mgr: F(403), aud: F(403), sup: F(403), om: F(403),
  oa: invisible, obm: invisible, nr: invisible,
});

interface Case {
  action: string;
  expected: Partial<Record<Actor, Outcome>>;
  run: (w: World, who: Actor) => Promise<Response>;
  /** After a refused write: the resource is unchanged. */
  unchanged?: (w: World, res: Response) => Promise<void>;
}

const appInS = async (w: World) => makeApp({ spaceGuid: w.space.guid, name: "matrix-app" });

const cases: Case[] = [
  {
    action: "GET /v3/apps/:guid",
    expected: { ...Object.fromEntries(READERS.map((r) => [r, 200])), oa: N("App"), obm: N("App"), nr: N("App"), outsider: N("App") },
    run: async (w, who) => get(`/v3/apps/${(await appInS(w)).guid}`, w.auth[who]),
  },
  {
    action: "POST /v3/apps",
    expected: {
      ...appWrite(201, [422, unprocessable("Invalid space. Ensure that the space exists and you have access to it.")]),
      outsider: [422, unprocessable("Invalid space. Ensure that the space exists and you have access to it.")],
    },
    run: (w, who) => call("POST", "/v3/apps", { auth: w.auth[who], body: { name: "new-app", relationships: { space: { data: { guid: w.space.guid } } } } }),
    unchanged: async (w) => {
      const list = await jsonOf<{ resources: unknown[] }>(await get(`/v3/apps?space_guids=${w.space.guid}`, w.auth.admin));
      expect(list.resources).toEqual([]);
    },
  },
  {
    action: "PATCH /v3/apps/:guid",
    expected: { ...appWrite(200, N("App")), outsider: N("App") },
    run: async (w, who) => call("PATCH", `/v3/apps/${(await appInS(w)).guid}`, { auth: w.auth[who], body: { name: "renamed" } }),
    unchanged: async (w) => {
      const list = await jsonOf<{ resources: { name: string }[] }>(await get(`/v3/apps?space_guids=${w.space.guid}`, w.auth.admin));
      expect(list.resources.map((a) => a.name)).toEqual(["matrix-app"]);
    },
  },
  {
    action: "DELETE /v3/apps/:guid",
    expected: { ...appWrite(202, N("App")), outsider: N("App") },
    run: async (w, who) => call("DELETE", `/v3/apps/${(await appInS(w)).guid}`, { auth: w.auth[who] }),
    unchanged: async (w) => {
      const list = await jsonOf<{ resources: unknown[] }>(await get(`/v3/apps?space_guids=${w.space.guid}`, w.auth.admin));
      expect(list.resources).toHaveLength(1);
    },
  },
  {
    action: "GET /v3/spaces/:guid",
    expected: { ...Object.fromEntries(READERS.map((r) => [r, 200])), oa: N("Space"), obm: N("Space"), nr: N("Space"), outsider: N("Space") },
    run: (w, who) => get(`/v3/spaces/${w.space.guid}`, w.auth[who]),
  },
  {
    action: "POST /v3/spaces",
    expected: {
      admin: 201, om: 201, aro: F(403), ga: F(403), dev: F(403), mgr: F(403), aud: F(403), sup: F(403), oa: F(403), obm: F(403), nr: F(403),
      outsider: [422, unprocessable("Invalid organization. Ensure the organization exists and you have access to it.")],
    },
    run: (w, who) => call("POST", "/v3/spaces", { auth: w.auth[who], body: { name: "new-space", relationships: { organization: { data: { guid: w.org.guid } } } } }),
    unchanged: async (w) => {
      const list = await jsonOf<{ resources: unknown[] }>(await get(`/v3/spaces?organization_guids=${w.org.guid}`, w.auth.admin));
      expect(list.resources).toHaveLength(2);
    },
  },
  {
    action: "PATCH /v3/spaces/:guid",
    expected: {
      admin: 200, mgr: 200, om: 200, aro: F(403), ga: F(403), dev: F(403), aud: F(403), sup: F(403),
      oa: N("Space"), obm: N("Space"), nr: N("Space"), outsider: N("Space"),
    },
    run: (w, who) => call("PATCH", `/v3/spaces/${w.space.guid}`, { auth: w.auth[who], body: { name: "renamed-space" } }),
    unchanged: async (w) => {
      const space = await jsonOf<{ name: string }>(await get(`/v3/spaces/${w.space.guid}`, w.auth.admin));
      expect(space.name).toBe(w.space.name);
    },
  },
  {
    action: "DELETE /v3/spaces/:guid",
    expected: {
      admin: 202, om: 202, aro: F(403), ga: F(403), dev: F(403), mgr: F(403), aud: F(403), sup: F(403),
      oa: N("Space"), obm: N("Space"), nr: N("Space"), outsider: N("Space"),
    },
    run: (w, who) => call("DELETE", `/v3/spaces/${w.space.guid}`, { auth: w.auth[who] }),
    unchanged: async (w) => expect((await get(`/v3/spaces/${w.space.guid}`, w.auth.admin)).status).toBe(200),
  },
  {
    action: "GET /v3/organizations/:guid",
    expected: { ...Object.fromEntries(ROLES.map((r) => [r, 200])), outsider: N("Organization") },
    run: (w, who) => get(`/v3/organizations/${w.org.guid}`, w.auth[who]),
  },
  {
    action: "POST /v3/organizations",
    expected: { ...Object.fromEntries(ROLES.map((r) => [r, F(403)])), admin: 201, outsider: F(403) },
    run: (w, who) => call("POST", "/v3/organizations", { auth: w.auth[who], body: { name: `org-by-${who}-${w.org.guid.slice(0, 8)}` } }),
  },
  {
    action: "PATCH /v3/organizations/:guid (name)",
    expected: { ...Object.fromEntries(ROLES.map((r) => [r, F(403)])), admin: 200, om: 200, outsider: N("Organization") },
    run: (w, who) => call("PATCH", `/v3/organizations/${w.org.guid}`, { auth: w.auth[who], body: { name: `renamed-${w.org.guid.slice(0, 8)}` } }),
    unchanged: async (w) => {
      const org = await jsonOf<{ name: string }>(await get(`/v3/organizations/${w.org.guid}`, w.auth.admin));
      expect(org.name).toBe(w.org.name);
    },
  },
  {
    action: "PATCH /v3/organizations/:guid (suspended: true)",
    expected: { ...Object.fromEntries(ROLES.map((r) => [r, F(403)])), admin: 200, outsider: N("Organization") },
    run: (w, who) => call("PATCH", `/v3/organizations/${w.org.guid}`, { auth: w.auth[who], body: { suspended: true } }),
    unchanged: async (w) => {
      const org = await jsonOf<{ suspended: boolean }>(await get(`/v3/organizations/${w.org.guid}`, w.auth.admin));
      expect(org.suspended).toBe(false);
    },
  },
  {
    action: "DELETE /v3/organizations/:guid",
    expected: { ...Object.fromEntries(ROLES.map((r) => [r, F(403)])), admin: 202, outsider: N("Organization") },
    run: (w, who) => call("DELETE", `/v3/organizations/${w.org.guid}`, { auth: w.auth[who] }),
    unchanged: async (w) => expect((await get(`/v3/organizations/${w.org.guid}`, w.auth.admin)).status).toBe(200),
  },
];

for (const c of cases) {
  describe(c.action, () => {
    for (const [who, outcome] of Object.entries(c.expected) as [Actor, Outcome][]) {
      const status = typeof outcome === "number" ? outcome : outcome[0];
      it(`${who} → ${status}`, async () => {
        const w = await world();
        const res = await c.run(w, who);
        await expectOutcome(res, outcome);
        if (status >= 400 && c.unchanged) await c.unchanged(w, res);
        if (status === 202) {
          const job = await waitForJob(res.headers.get("Location")!, w.auth.admin);
          expect(job.state).toBe("COMPLETE");
        }
      });
    }
  });
}

describe("lists: who sees what", () => {
  it("GET /v3/apps, /v3/spaces, /v3/organizations per role", async () => {
    const w = await world();
    const app = await appInS(w);
    for (const who of [...ROLES, "outsider"] as Actor[]) {
      const apps = await jsonOf<{ resources: { guid: string }[] }>(await get(`/v3/apps?space_guids=${w.space.guid}`, w.auth[who]));
      expect(apps.resources.map((a) => a.guid), `${who} apps`).toEqual(READERS.includes(who as RoleName) ? [app.guid] : []);
      const spaces = await jsonOf<{ resources: { guid: string }[] }>(await get(`/v3/spaces?organization_guids=${w.org.guid}`, w.auth[who]));
      const expectedSpaces = ["admin", "aro", "ga", "om"].includes(who) ? [w.space.guid, w.space2.guid]
        : ["dev", "mgr", "aud", "sup"].includes(who) ? [w.space.guid] : [];
      expect(spaces.resources.map((s) => s.guid), `${who} spaces`).toEqual(expectedSpaces);
      const orgs = await jsonOf<{ resources: { guid: string }[] }>(await get(`/v3/organizations?guids=${w.org.guid},${w.org3.guid}`, w.auth[who]));
      const expectedOrgs = ["admin", "aro", "ga"].includes(who) ? [w.org.guid, w.org3.guid] : who === "outsider" ? [w.org3.guid] : [w.org.guid];
      expect(orgs.resources.map((o) => o.guid), `${who} orgs`).toEqual(expectedOrgs);
    }
  });
});

describe("suspended organization (C18 for apps)", () => {
  const writes: [string, (w: World) => Promise<Response>, Outcome, Outcome][] = [
    ["POST /v3/apps", (w) => call("POST", "/v3/apps", { auth: w.auth.dev, body: { name: "x", relationships: { space: { data: { guid: w.space.guid } } } } }), [403, ORG_SUSPENDED], 201],
    ["PATCH /v3/apps/:guid", async (w) => call("PATCH", `/v3/apps/${(await appInS(w)).guid}`, { auth: w.auth.dev, body: { name: "y" } }), [403, ORG_SUSPENDED], 200],
    ["DELETE /v3/apps/:guid", async (w) => call("DELETE", `/v3/apps/${(await appInS(w)).guid}`, { auth: w.auth.dev }), [403, ORG_SUSPENDED], 202],
    ["PATCH /v3/spaces/:guid", (w) => call("PATCH", `/v3/spaces/${w.space.guid}`, { auth: w.auth.mgr, body: { name: "z" } }), [403, ORG_SUSPENDED], 200],
    ["POST /v3/spaces (org manager)", (w) => call("POST", "/v3/spaces", { auth: w.auth.om, body: { name: "s", relationships: { organization: { data: { guid: w.org.guid } } } } }), [403, ORG_SUSPENDED], 201],
    ["DELETE /v3/spaces/:guid (org manager)", (w) => call("DELETE", `/v3/spaces/${w.space.guid}`, { auth: w.auth.om }), [403, ORG_SUSPENDED], 202],
    ["PATCH /v3/organizations/:guid (org manager)", (w) => call("PATCH", `/v3/organizations/${w.org.guid}`, { auth: w.auth.om, body: { metadata: { labels: { a: "b" } } } }), [403, ORG_SUSPENDED], 200],
  ];
  for (const [action, run, forRole, forAdmin] of writes) {
    it(`${action}: the role holder gets 403 CF-OrgSuspended`, async () => {
      await expectOutcome(await run(await world({ suspended: true })), forRole);
    });
    it(`${action}: an admin still writes`, async () => {
      const w = await world({ suspended: true });
      const admin = { ...w, auth: { ...w.auth, dev: w.auth.admin, mgr: w.auth.admin, om: w.auth.admin } };
      await expectOutcome(await run(admin), forAdmin);
    });
  }

  it("reads still work in a suspended organization", async () => {
    const w = await world({ suspended: true });
    const app = await appInS(w);
    expect((await get(`/v3/apps/${app.guid}`, w.auth.dev)).status).toBe(200);
    expect((await get(`/v3/spaces/${w.space.guid}`, w.auth.aud)).status).toBe(200);
  });

  it("an admin suspends and unsuspends through PATCH; a developer is locked out in between", async () => {
    const w = await world();
    let res = await call("PATCH", `/v3/organizations/${w.org.guid}`, { auth: w.auth.admin, body: { suspended: true } });
    expect(res.status).toBe(200);
    expect((await jsonOf(res)).suspended).toBe(true);
    const body = { name: "blocked", relationships: { space: { data: { guid: w.space.guid } } } };
    res = await call("POST", "/v3/apps", { auth: w.auth.dev, body });
    expect(await v3Error(res)).toEqual(ORG_SUSPENDED);
    res = await call("PATCH", `/v3/organizations/${w.org.guid}`, { auth: w.auth.om, body: { suspended: false } });
    expect(await v3Error(res)).toEqual(ORG_SUSPENDED);
    res = await call("PATCH", `/v3/organizations/${w.org.guid}`, { auth: w.auth.admin, body: { suspended: false } });
    expect(res.status).toBe(200);
    expect((await call("POST", "/v3/apps", { auth: w.auth.dev, body })).status).toBe(201);
  });
});
