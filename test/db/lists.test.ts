// Every list filter of every list takes 1,000 values and answers the same as a filter applied to
// the whole list by hand: no 500 from D1's 100 bound parameters or SQLite's expression depth.
import { beforeAll, describe, expect, it } from "vitest";
import { call, get, jsonOf } from "../helpers/api";
import { grant, makeApp, makeOrg, makeSpace } from "../helpers/fixtures";
import { adminAuth, bearer, SCOPES } from "../helpers/tokens";

type Resource = Record<string, unknown> & { guid: string };
/** The values of a resource a filter compares with (none: the filter can't match it). */
type Field = (r: Resource) => (string | null | undefined)[];

const N = 1000;
const at = (r: Resource, ...path: string[]): string | null | undefined => {
  let v: unknown = r;
  for (const p of path) v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[p];
  return v as string | null | undefined;
};
const one = (...path: string[]): Field => (r) => [at(r, ...path)];

/** Noise of the filter's kind, so only the real values can match. */
function noise(kind: "guid" | "name" | "timestamp", i: number): string {
  switch (kind) {
    case "guid": return `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
    case "name": return `no-such-name-${i}`;
    case "timestamp": return new Date(Date.UTC(2001, 0, 1) + i * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  }
}

/** N values: the real ones (each once) and noise, or the real ones repeated for closed sets (states, types). */
function thousand(real: string[], kind: "guid" | "name" | "timestamp" | "enum"): string[] {
  const unique = [...new Set(real)];
  if (kind === "enum") return Array.from({ length: N }, (_, i) => unique[i % unique.length]!);
  return [...unique, ...Array.from({ length: N - unique.length }, (_, i) => noise(kind, i))];
}

async function all(path: string, auth: string): Promise<Resource[]> {
  const sep = path.includes("?") ? "&" : "?";
  const res = await get(`${path}${sep}per_page=5000`, auth);
  expect(res.status, path).toBe(200);
  return (await jsonOf<{ resources: Resource[] }>(res)).resources;
}

const guids = (rs: Resource[]) => rs.map((r) => r.guid).sort();

interface Case {
  key: string;
  kind: "guid" | "name" | "timestamp" | "enum";
  field: Field;
  /** Extra parameters the filter needs (origins needs usernames). */
  with?: (everything: Resource[]) => string;
  /** The match, when not membership (partial_usernames is a substring match). */
  matches?: (value: string, wanted: string) => boolean;
}

const common: Case[] = [
  { key: "guids", kind: "guid", field: one("guid") },
  { key: "created_ats", kind: "timestamp", field: one("created_at") },
  { key: "updated_ats", kind: "timestamp", field: one("updated_at") },
];
const named: Case = { key: "names", kind: "name", field: one("name") };
const labelled: Case = { key: "label_selector", kind: "name", field: (r) => [at(r, "metadata", "labels", "env")] };

let ctx: {
  admin: string;
  member: string;
  spaceOrg: Map<string, string>;
  appSpace: Map<string, string>;
  appGuid: string;
};

const orgOfSpace = (guid: string | null | undefined) => (guid ? ctx.spaceOrg.get(guid) : undefined);

function lists(): { list: string; who?: string; auth: () => string; cases: Case[] }[] {
  const packageCases: Case[] = [
    // A package not yet changed is filtered by updated_ats at its creation time.
    ...common.map((c) => (c.key === "updated_ats" ? { ...c, field: (r: Resource) => [at(r, "updated_at") ?? at(r, "created_at")] } : c)), labelled,
    { key: "states", kind: "enum", field: one("state") },
    { key: "types", kind: "enum", field: one("type") },
  ];
  return [
    { list: "/v3/organizations", auth: () => ctx.admin, cases: [...common, named, labelled] },
    { list: "/v3/spaces", auth: () => ctx.admin, cases: [...common, named, labelled, { key: "organization_guids", kind: "guid", field: one("relationships", "organization", "data", "guid") }] },
    ...["admin", "member"].map((who) => ({
      list: "/v3/apps", who, auth: () => (who === "admin" ? ctx.admin : ctx.member), cases: [
        ...common, named, labelled,
        { key: "space_guids", kind: "guid", field: one("relationships", "space", "data", "guid") },
        { key: "organization_guids", kind: "guid", field: (r) => [orgOfSpace(at(r, "relationships", "space", "data", "guid"))] },
        { key: "stacks", kind: "name", field: (r) => [at(r, "lifecycle", "type") === "buildpack" ? at(r, "lifecycle", "data", "stack") : undefined] },
      ] as Case[],
    })),
    ...["admin", "member"].map((who) => ({
      list: "/v3/packages", who, auth: () => (who === "admin" ? ctx.admin : ctx.member), cases: [
        ...packageCases,
        { key: "app_guids", kind: "guid", field: one("relationships", "app", "data", "guid") },
        { key: "space_guids", kind: "guid", field: (r) => [ctx.appSpace.get(at(r, "relationships", "app", "data", "guid") ?? "")] },
        { key: "organization_guids", kind: "guid", field: (r) => [orgOfSpace(ctx.appSpace.get(at(r, "relationships", "app", "data", "guid") ?? ""))] },
      ] as Case[],
    })),
    { list: "/v3/apps/:app/packages", auth: () => ctx.admin, cases: packageCases },
    { list: "/v3/buildpacks", auth: () => ctx.admin, cases: [...common, named, labelled, { key: "stacks", kind: "name", field: one("stack") }] },
    { list: "/v3/stacks", auth: () => ctx.admin, cases: [...common, named, labelled] },
    {
      list: "/v3/roles", auth: () => ctx.admin, cases: [
        ...common,
        { key: "types", kind: "enum", field: one("type") },
        { key: "user_guids", kind: "name", field: one("relationships", "user", "data", "guid") },
        { key: "space_guids", kind: "guid", field: one("relationships", "space", "data", "guid") },
        { key: "organization_guids", kind: "guid", field: one("relationships", "organization", "data", "guid") },
      ],
    },
    ...["admin", "member"].map((who) => ({
      list: "/v3/users", who, auth: () => (who === "admin" ? ctx.admin : ctx.member), cases: [
        ...common, labelled,
        { key: "usernames", kind: "name", field: one("username") },
        { key: "partial_usernames", kind: "name", field: one("username"), matches: (v: string, w: string) => v.includes(w) },
        { key: "origins", kind: "name", field: one("origin"), with: (rs: Resource[]) => `usernames=${rs.map((r) => r.username).filter(Boolean).join(",")}` },
      ] as Case[],
    })),
    {
      list: "/v3/audit_events", auth: () => ctx.admin, cases: [
        ...common,
        { key: "types", kind: "name", field: one("type") },
        { key: "target_guids", kind: "guid", field: one("target", "guid") },
        { key: "space_guids", kind: "guid", field: one("space", "guid") },
        { key: "organization_guids", kind: "guid", field: one("organization", "guid") },
      ],
    },
  ];
}

describe(`every list filter with ${N} values`, () => {
  beforeAll(async () => {
    const admin = await adminAuth();
    const memberGuid = `member-${crypto.randomUUID().slice(0, 8)}`;
    const member = await bearer({ user: memberGuid, scopes: SCOPES.user });
    const org = await makeOrg();
    const space = await makeSpace({ orgGuid: org.guid });
    await makeSpace();
    await grant(memberGuid, "organization_user", { orgGuid: org.guid });
    await grant(memberGuid, "space_developer", { spaceGuid: space.guid });
    const app = await makeApp({ spaceGuid: space.guid });
    const other = await makeApp();
    const label = (env: string) => ({ metadata: { labels: { env } } });
    const docker = await makeApp({ spaceGuid: space.guid, lifecycle: "docker" });
    for (const [target, type] of [[app, "bits"], [other, "bits"], [docker, "docker"]] as const) {
      const body = type === "bits"
        ? { type, relationships: { app: { data: { guid: target.guid } } }, ...label(`pkg-${target.guid.slice(0, 4)}`) }
        : { type, data: { image: "registry/image:1" }, relationships: { app: { data: { guid: target.guid } } } };
      const res = await call("POST", "/v3/packages", { auth: admin, body });
      expect(res.status, await res.text()).toBe(201);
    }
    const changed = [`/v3/organizations/${org.guid}`, `/v3/spaces/${space.guid}`, `/v3/apps/${app.guid}`];
    for (const [path, body] of [
      ["/v3/stacks", { name: `stack-${crypto.randomUUID().slice(0, 8)}`, ...label("stack") }],
      ["/v3/buildpacks", { name: `bp-${crypto.randomUUID().slice(0, 8)}`, stack: "cflinuxfs4", ...label("bp") }],
      ["/v3/buildpacks", { name: `bp-${crypto.randomUUID().slice(0, 8)}` }],
    ] as const) {
      const res = await call("POST", path, { auth: admin, body });
      expect(res.status, path).toBe(201);
      changed.push(`${path}/${(await jsonOf<Resource>(res)).guid}`);
    }
    const dockerPackage = (await all("/v3/packages?types=docker", admin))[0]!;
    changed.push(`/v3/packages/${(await all("/v3/packages?types=bits", admin))[0]!.guid}`);
    // New credentials change the package itself (its labels are rows of their own).
    expect((await call("PATCH", `/v3/packages/${dockerPackage.guid}`, { auth: admin, body: { username: "u", password: "p" } })).status).toBe(200);
    // Labels, and an updated_at for updated_ats to find.
    for (const path of changed) {
      const res = await call("PATCH", path, { auth: admin, body: label(`env-${path.slice(-4)}`) });
      expect(res.status, path).toBe(200);
    }
    // A second, later stamp for updated_ats.
    await get("/v3/users", member);
    const spaces = await all("/v3/spaces", admin);
    const apps = await all("/v3/apps", admin);
    ctx = {
      admin, member, appGuid: app.guid,
      spaceOrg: new Map(spaces.map((s) => [s.guid, at(s, "relationships", "organization", "data", "guid")!])),
      appSpace: new Map(apps.map((a) => [a.guid, at(a, "relationships", "space", "data", "guid")!])),
    };
  });

  for (const { list, who, auth, cases } of lists()) {
    for (const c of cases) {
      it(`${list} ${c.key}${who ? ` as ${who}` : ""}`, async () => {
        const path = list.replace(":app", ctx.appGuid);
        const everything = await all(path, auth());
        const real = everything.flatMap(c.field).filter((v): v is string => typeof v === "string" && v !== "");
        // Roles never change and users have no labels here: those filters can only find nothing.
        const empty = ["/v3/roles updated_ats", "/v3/users updated_ats", "/v3/users label_selector"].includes(`${list} ${c.key}`);
        expect(real.length > 0, `${list} has something to find by ${c.key}`).toBe(!empty);
        const values = thousand(real.slice(0, 3), c.kind === "enum" && empty ? "name" : c.kind);
        const matches = c.matches ?? ((v: string, w: string) => v === w);
        const expected = everything.filter((r) => c.field(r).some((v) => typeof v === "string" && values.some((w) => matches(v, w))));
        expect(expected.length > 0).toBe(!empty);
        const extra = c.with ? `&${c.with(everything)}` : "";
        const query = c.key === "label_selector"
          ? `label_selector=${encodeURIComponent(`env in (${values.join(",")})`)}`
          : `${c.key}=${values.map(encodeURIComponent).join(",")}`;
        const res = await get(`${path}?${query}${extra}&per_page=5000`, auth());
        const text = await res.clone().text();
        expect(res.status, `${list} ${c.key}: ${text.slice(0, 300)}`).toBe(200);
        const body = await jsonOf<{ resources: Resource[]; pagination: { total_results: number } }>(res);
        expect(guids(body.resources)).toEqual(guids(expected));
        expect(body.pagination.total_results).toBe(expected.length);
      });
    }
  }
});

describe(`v2 buildpack filters with ${N} values`, () => {
  let names: string[];
  let admin: string;
  beforeAll(async () => {
    admin = await adminAuth();
    names = [];
    for (let i = 0; i < 3; i++) {
      const name = `v2-bp-${i}-${crypto.randomUUID().slice(0, 6)}`;
      expect((await call("POST", "/v3/buildpacks", { auth: admin, body: { name } })).status).toBe(201);
      names.push(name);
    }
  });
  const v2Names = async (query: string) => {
    const res = await get(`/v2/buildpacks?${query}&results-per-page=100`, admin);
    const text = await res.clone().text();
    expect(res.status, text.slice(0, 300)).toBe(200);
    const body = await jsonOf<{ total_results: number; resources: { entity: { name: string } }[] }>(res);
    return { total: body.total_results, names: body.resources.map((r) => r.entity.name).sort() };
  };

  it("q=name IN with 1,000 names", async () => {
    const values = thousand(names.slice(0, 2), "name");
    expect(await v2Names(`q=${encodeURIComponent(`name IN ${values.join(",")}`)}`)).toEqual({ total: 2, names: names.slice(0, 2).sort() });
  });

  it("1,000 repeated q=name:<name>, as separate parameters and as one ;-joined q", async () => {
    const repeated = Array.from({ length: N }, () => `q=${encodeURIComponent(`name:${names[0]}`)}`).join("&");
    expect(await v2Names(repeated)).toEqual({ total: 1, names: [names[0]] });
    const joined = `q=${encodeURIComponent(Array.from({ length: N }, () => `name:${names[1]}`).join(";"))}`;
    expect(await v2Names(joined)).toEqual({ total: 1, names: [names[1]] });
  });

  it("1,000 conditions that contradict each other match nothing; 1,000 of every operator match what one would", async () => {
    const contradicting = [names[0], names[1], ...Array.from({ length: N - 2 }, (_, i) => noise("name", i))].map((n) => `q=${encodeURIComponent(`name:${n}`)}`).join("&");
    expect(await v2Names(contradicting)).toEqual({ total: 0, names: [] });
    const sorted = [...names].sort();
    for (const op of [">=", "<=", "<", ">"]) {
      const single = await v2Names(`q=${encodeURIComponent(`name${op}${sorted[1]}`)}`);
      const many = Array.from({ length: N }, (_, i) => `q=${encodeURIComponent(`name${op}${i % 2 === 0 ? sorted[1] : op.startsWith(">") ? "" : "~"}`)}`).join("&");
      expect(await v2Names(many), op).toEqual(single);
    }
    const ins = Array.from({ length: N }, (_, i) => `q=${encodeURIComponent(`name IN ${names[0]},${names[1]},${noise("name", i)}`)}`).join("&");
    expect(await v2Names(ins)).toEqual({ total: 2, names: names.slice(0, 2).sort() });
  });
});
