// Suspended organizations (issue 5, item 3): once an admin suspends an organization through
// PATCH /v3/organizations/:guid, every write by anyone but an admin answers 403 CF-OrgSuspended —
// package create, copy, upload, update and delete, app create, update and delete, space create,
// update and delete, role grants and revocations — even by the role holder who may otherwise make it,
// and nothing changes. Admins still write; reads still answer; unsuspending lets the role holders back.
import { beforeAll, describe, expect, it } from "vitest";
import { call, get, jsonOf, waitForJob } from "../../helpers/api";
import { grant, makeApp, makeOrg, makeSpace } from "../../helpers/fixtures";
import { world, type World } from "../../helpers/world";
import { appZip, createBits, createDocker, readyBitsPackage, uploadZip, type PackageJson } from "../packages/helpers";
import { expectOutcome, refusedWithoutChange, SUSPENDED, type Outcome } from "../../helpers/outcomes";

let w: World;
let org: { guid: string };
let space: { guid: string };
let A: { guid: string };
let A2: { guid: string };
let PD: PackageJson;
let ready: PackageJson;

beforeAll(async () => {
  w = await world();
  org = await makeOrg({ name: "to-suspend" });
  space = await makeSpace({ orgGuid: org.guid, name: "in-suspended" });
  await grant(w.user.dev, "organization_user", { orgGuid: org.guid });
  await grant(w.user.dev, "space_developer", { spaceGuid: space.guid });
  await grant(w.user.mgr, "organization_user", { orgGuid: org.guid });
  await grant(w.user.mgr, "space_manager", { spaceGuid: space.guid });
  await grant(w.user.om, "organization_manager", { orgGuid: org.guid });
  await grant(w.user.aud, "organization_user", { orgGuid: org.guid });
  A = await makeApp({ spaceGuid: space.guid, name: "A" });
  A2 = await makeApp({ spaceGuid: space.guid, name: "A2" });
  PD = await createDocker((await makeApp({ spaceGuid: space.guid, name: "D", lifecycle: "docker" })).guid);
  ready = await readyBitsPackage(A.guid);
  const res = await call("PATCH", `/v3/organizations/${org.guid}`, { auth: w.auth.admin, body: { suspended: true } });
  expect(res.status).toBe(200);
  expect((await jsonOf<{ suspended: boolean }>(res)).suspended).toBe(true);
});

type Who = "dev" | "mgr" | "om";
interface Write {
  action: string;
  /** The role holder who makes this write in an active organization. */
  who: Who;
  /** Builds the request (fixtures made before the snapshot), for a given token. */
  prepare: () => Promise<(auth: string) => Promise<Response>>;
  /** What an admin gets for the same request. */
  admin: number;
}

const roleBody = (type: string, user: string, target: { space: string } | { organization: string }) => ({
  type,
  relationships: {
    user: { data: { guid: user } },
    ...("space" in target ? { space: { data: { guid: target.space } } } : { organization: { data: { guid: target.organization } } }),
  },
});

/** A role straight in D1, and its guid as the API shows it. */
async function roleGuid(user: string, type: string): Promise<string> {
  const list = await jsonOf<{ resources: { guid: string; type: string }[] }>(await get(`/v3/roles?user_guids=${user}&types=${type}`, w.auth.admin));
  return list.resources[0]!.guid;
}

const writes: Write[] = [
  {
    action: "POST /v3/packages", who: "dev", admin: 201,
    prepare: async () => (auth) => call("POST", "/v3/packages", { auth, body: { type: "bits", relationships: { app: { data: { guid: A.guid } } } } }),
  },
  {
    action: "POST /v3/packages?source_guid= (copy)", who: "dev", admin: 201,
    prepare: async () => (auth) => call("POST", `/v3/packages?source_guid=${PD.guid}`, { auth, body: { relationships: { app: { data: { guid: A2.guid } } } } }),
  },
  {
    action: "POST /v3/packages/:guid/upload", who: "dev", admin: 200,
    prepare: async () => {
      const pkg = await createBits(A.guid);
      const zip = await appZip("suspended\n");
      return (auth) => uploadZip(pkg.guid, zip, auth);
    },
  },
  {
    action: "PATCH /v3/packages/:guid", who: "dev", admin: 200,
    prepare: async () => (auth) => call("PATCH", `/v3/packages/${ready.guid}`, { auth, body: { metadata: { labels: { touched: "yes" } } } }),
  },
  {
    action: "DELETE /v3/packages/:guid", who: "dev", admin: 202,
    prepare: async () => {
      const pkg = await readyBitsPackage(A.guid);
      return (auth) => call("DELETE", `/v3/packages/${pkg.guid}`, { auth });
    },
  },
  {
    action: "POST /v3/apps", who: "dev", admin: 201,
    prepare: async () => (auth) => call("POST", "/v3/apps", { auth, body: { name: `new-${crypto.randomUUID().slice(0, 6)}`, relationships: { space: { data: { guid: space.guid } } } } }),
  },
  {
    action: "PATCH /v3/apps/:guid", who: "dev", admin: 200,
    prepare: async () => (auth) => call("PATCH", `/v3/apps/${A2.guid}`, { auth, body: { name: "renamed-A2" } }),
  },
  {
    action: "DELETE /v3/apps/:guid", who: "dev", admin: 202,
    prepare: async () => {
      const app = await makeApp({ spaceGuid: space.guid });
      await readyBitsPackage(app.guid);
      return (auth) => call("DELETE", `/v3/apps/${app.guid}`, { auth });
    },
  },
  {
    action: "POST /v3/spaces", who: "om", admin: 201,
    prepare: async () => (auth) => call("POST", "/v3/spaces", { auth, body: { name: `s-${crypto.randomUUID().slice(0, 6)}`, relationships: { organization: { data: { guid: org.guid } } } } }),
  },
  {
    action: "PATCH /v3/spaces/:guid", who: "mgr", admin: 200,
    prepare: async () => (auth) => call("PATCH", `/v3/spaces/${space.guid}`, { auth, body: { name: "renamed-space" } }),
  },
  {
    action: "DELETE /v3/spaces/:guid", who: "om", admin: 202,
    prepare: async () => {
      const doomed = await makeSpace({ orgGuid: org.guid });
      return (auth) => call("DELETE", `/v3/spaces/${doomed.guid}`, { auth });
    },
  },
  {
    action: "POST /v3/roles (space role, by the space manager)", who: "mgr", admin: 201,
    prepare: async () => {
      const user = `grantee-${crypto.randomUUID().slice(0, 6)}`;
      await grant(user, "organization_user", { orgGuid: org.guid });
      return (auth) => call("POST", "/v3/roles", { auth, body: roleBody("space_auditor", user, { space: space.guid }) });
    },
  },
  {
    action: "POST /v3/roles (organization role, by the org manager)", who: "om", admin: 201,
    prepare: async () => {
      const user = `grantee-${crypto.randomUUID().slice(0, 6)}`;
      return (auth) => call("POST", "/v3/roles", { auth, body: roleBody("organization_auditor", user, { organization: org.guid }) });
    },
  },
  {
    action: "DELETE /v3/roles/:guid (space role, by the space manager)", who: "mgr", admin: 202,
    prepare: async () => {
      const user = `revokee-${crypto.randomUUID().slice(0, 6)}`;
      await grant(user, "organization_user", { orgGuid: org.guid });
      await grant(user, "space_auditor", { spaceGuid: space.guid });
      const guid = await roleGuid(user, "space_auditor");
      return (auth) => call("DELETE", `/v3/roles/${guid}`, { auth });
    },
  },
];

describe("an organization suspended by an admin", () => {
  for (const write of writes) {
    it(`${write.action}: the ${write.who} gets 403 CF-OrgSuspended and nothing changes; an admin gets ${write.admin}`, async () => {
      const send = await write.prepare();
      await refusedWithoutChange(() => send(w.auth[write.who]), SUSPENDED);
      const res = await send(w.auth.admin);
      await expectOutcome(res, write.admin as Outcome);
      if (write.admin === 202) expect((await waitForJob(res.headers.get("Location")!, w.auth.admin)).state).toBe("COMPLETE");
    });
  }

  it("the global roles with write scope get 403 CF-NotAuthorized, not OrgSuspended (they may not write anywhere)", async () => {
    const send = await writes[0]!.prepare();
    for (const who of ["aro", "ga"] as const) {
      await refusedWithoutChange(() => send(w.auth[who]), [403, { detail: "You are not authorized to perform the requested action", title: "CF-NotAuthorized", code: 10003 }]);
    }
  });

  it("reads still answer: lists, show, the app's packages and a download", async () => {
    const auth = w.auth.dev;
    expect((await get(`/v3/packages/${ready.guid}`, auth)).status).toBe(200);
    expect((await get(`/v3/apps/${A.guid}/packages`, auth)).status).toBe(200);
    const list = await jsonOf<{ resources: { guid: string }[] }>(await get(`/v3/packages?organization_guids=${org.guid}`, auth));
    expect(list.resources.map((p) => p.guid)).toContain(ready.guid);
    expect((await get(`/v3/packages/${ready.guid}/download`, auth)).status).toBe(200);
    expect((await get(`/v3/spaces/${space.guid}`, w.auth.mgr)).status).toBe(200);
  });

  it("an org manager cannot lift the suspension; once an admin does, the developer writes again", async () => {
    const lift = (auth: string) => call("PATCH", `/v3/organizations/${org.guid}`, { auth, body: { suspended: false } });
    await refusedWithoutChange(() => lift(w.auth.om), SUSPENDED);
    expect((await lift(w.auth.admin)).status).toBe(200);
    const res = await call("POST", "/v3/packages", { auth: w.auth.dev, body: { type: "bits", relationships: { app: { data: { guid: A.guid } } } } });
    await expectOutcome(res, 201);
  });
});
