// Cross-space isolation: a developer of S3 (org O3) neither sees nor changes anything of O, S or S2,
// through any of these endpoints, list filters and pagination included; packages (every endpoint)
// likewise, also for a developer of S against S2 in the same organization.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database, timestamp } from "../../src/db/client";
import { packages } from "../../src/db/schema";
import { call, get, jsonOf, v3Error } from "../helpers/api";
import { makeApp } from "../helpers/fixtures";
import { appZip, createBits, getPackage, readyBitsPackage, uploadZip } from "./packages/helpers";
import { APP_INVALID, refusedWithoutChange, SOURCE_INVALID, type Outcome } from "../helpers/outcomes";
import { notFound, world } from "../helpers/world";

describe("a developer of another space", () => {
  it("sees nothing of O through reads, filters and pagination, and changes nothing through writes", async () => {
    const w = await world();
    const app = await makeApp({ spaceGuid: w.space.guid, name: "secret-app" });
    const app2 = await makeApp({ spaceGuid: w.space2.guid, name: "secret-app-2" });
    const mine = await makeApp({ spaceGuid: w.space3.guid, name: "my-app" });
    await database(env.DB).insert(packages).values({ guid: crypto.randomUUID(), appGuid: app.guid, type: "bits", state: "AWAITING_UPLOAD", createdAt: timestamp() });
    await call("POST", "/v3/apps", { auth: w.auth.dev, body: { name: "evented", relationships: { space: { data: { guid: w.space.guid } } } } });
    const auth = w.auth.outsider;

    // Lists, with every filter naming O's things and with pagination: only the outsider's own things.
    const lists: [string, string[]][] = [
      [`/v3/apps?guids=${app.guid},${app2.guid},${mine.guid}`, [mine.guid]],
      [`/v3/apps?space_guids=${w.space.guid},${w.space2.guid}`, []],
      [`/v3/apps?organization_guids=${w.org.guid}`, []],
      [`/v3/apps?names=secret-app,secret-app-2`, []],
      [`/v3/apps?per_page=1&page=2`, []],
      [`/v3/spaces?organization_guids=${w.org.guid}`, []],
      [`/v3/spaces?guids=${w.space.guid},${w.space3.guid}`, [w.space3.guid]],
      [`/v3/organizations?guids=${w.org.guid},${w.org3.guid}`, [w.org3.guid]],
      [`/v3/organizations?names=${w.org.name}`, []],
      [`/v3/roles?organization_guids=${w.org.guid}`, []],
      [`/v3/roles?space_guids=${w.space.guid}`, []],
      [`/v3/roles?user_guids=${w.user.dev}`, []],
      [`/v3/users?guids=${w.user.dev},${w.user.om}`, []],
      [`/v3/audit_events?space_guids=${w.space.guid}`, []],
      [`/v3/audit_events?organization_guids=${w.org.guid}`, []],
    ];
    for (const [path, expected] of lists) {
      const body = await jsonOf<{ pagination: { total_results: number }; resources: { guid: string }[] }>(await get(path, auth));
      expect(body.resources.map((r) => r.guid), path).toEqual(expected);
      if (!path.includes("page=2")) expect(body.pagination.total_results, path).toBe(expected.length);
    }
    const all = await jsonOf<{ pagination: { total_results: number } }>(await get("/v3/apps?per_page=1", auth));
    expect(all.pagination.total_results).toBe(1);

    // Reads of O's things: 404.
    for (const path of [`/v3/apps/${app.guid}`, `/v3/spaces/${w.space.guid}`, `/v3/spaces/${w.space2.guid}`, `/v3/organizations/${w.org.guid}`, `/v3/users/${w.user.dev}`]) {
      expect((await get(path, auth)).status, path).toBe(404);
    }

    // Writes: 404 for things it cannot see, 422 for creates into them; nothing changes.
    const writes: [string, string, unknown, number][] = [
      ["PATCH", `/v3/apps/${app.guid}`, { name: "pwned" }, 404],
      ["DELETE", `/v3/apps/${app.guid}`, undefined, 404],
      ["POST", "/v3/apps", { name: "intruder", relationships: { space: { data: { guid: w.space.guid } } } }, 422],
      ["PATCH", `/v3/spaces/${w.space.guid}`, { name: "pwned" }, 404],
      ["DELETE", `/v3/spaces/${w.space.guid}`, undefined, 404],
      ["POST", "/v3/spaces", { name: "intruder", relationships: { organization: { data: { guid: w.org.guid } } } }, 422],
      ["PATCH", `/v3/organizations/${w.org.guid}`, { name: "pwned" }, 404],
      ["DELETE", `/v3/organizations/${w.org.guid}`, undefined, 404],
      ["POST", "/v3/roles", { type: "space_developer", relationships: { user: { data: { guid: w.user.outsider } }, space: { data: { guid: w.space.guid } } } }, 422],
      ["POST", "/v3/roles", { type: "organization_manager", relationships: { user: { data: { guid: w.user.outsider } }, organization: { data: { guid: w.org.guid } } } }, 422],
    ];
    for (const [method, path, body, status] of writes) {
      const res = await call(method, path, { auth, body });
      expect(res.status, `${method} ${path}`).toBe(status);
    }
    const devRoles = await jsonOf<{ resources: { guid: string }[] }>(await get(`/v3/roles?user_guids=${w.user.dev}`, w.auth.admin));
    expect((await call("DELETE", `/v3/roles/${devRoles.resources[0]!.guid}`, { auth })).status).toBe(404);

    const after = await jsonOf<{ resources: { name: string }[] }>(await get(`/v3/apps?organization_guids=${w.org.guid}&order_by=name`, w.auth.admin));
    expect(after.resources.map((a) => a.name)).toEqual(["evented", "secret-app", "secret-app-2"]);
    expect((await jsonOf<{ name: string }>(await get(`/v3/spaces/${w.space.guid}`, w.auth.admin))).name).toBe(w.space.name);
    expect((await jsonOf<{ name: string }>(await get(`/v3/organizations/${w.org.guid}`, w.auth.admin))).name).toBe(w.org.name);
    expect((await jsonOf<{ resources: unknown[] }>(await get(`/v3/roles?user_guids=${w.user.outsider}`, w.auth.admin))).resources).toHaveLength(2);
  });

  it("a developer of S sees S's apps but nothing of S2 in the same organization", async () => {
    const w = await world();
    const inS = await makeApp({ spaceGuid: w.space.guid });
    const inS2 = await makeApp({ spaceGuid: w.space2.guid });
    const body = await jsonOf<{ resources: { guid: string }[] }>(await get(`/v3/apps?organization_guids=${w.org.guid}`, w.auth.dev));
    expect(body.resources.map((a) => a.guid)).toEqual([inS.guid]);
    expect((await get(`/v3/apps/${inS2.guid}`, w.auth.dev)).status).toBe(404);
    expect((await call("DELETE", `/v3/apps/${inS2.guid}`, { auth: w.auth.dev })).status).toBe(404);
    expect((await call("POST", "/v3/apps", { auth: w.auth.dev, body: { name: "x", relationships: { space: { data: { guid: w.space2.guid } } } } })).status).toBe(422);
  });
});

// Packages (issue 5): every package endpoint, its list filters and pagination, and the audit events
// of the packages, walked by a developer of another organization (the outsider, S3) and by a
// developer of S against S2 in the same organization. Nothing is seen, nothing changes.
describe("packages of another space", () => {
  interface Scene {
    who: string;
    auth: string;
    /** The actor's own app (where it is a developer) and its own packages. */
    ownApp: { guid: string };
    ownSpaces: string[];
    /** Things it must not see or change. */
    foreignApps: string[];
    foreignPackages: string[];
    foreignSpaces: string[];
    /** An organization with nothing of the actor's in it. */
    foreignOrg: string;
    /** The other spaces' organization, and whether the actor's own space is in it too. */
    sharedOrg: string;
    ownInSharedOrg: boolean;
  }
  type Page = { pagination: { total_results: number; total_pages: number }; resources: { guid: string; target?: { guid: string } }[] };

  it("neither sees nor changes anything through any package endpoint, filter, pagination or audit event", async () => {
    const w = await world();
    const admin = w.auth.admin;
    const appS = await makeApp({ spaceGuid: w.space.guid, name: "app-s" });
    const appS2 = await makeApp({ spaceGuid: w.space2.guid, name: "app-s2" });
    const appS3 = await makeApp({ spaceGuid: w.space3.guid, name: "app-s3" });
    // Each space's packages, made by its developer through the API so that their events exist.
    const inS = await createBits(appS.guid, w.auth.dev);
    const readyInS = await readyBitsPackage(appS.guid);
    const inS2 = await createBits(appS2.guid);
    const readyInS2 = await readyBitsPackage(appS2.guid);
    const inS3 = await createBits(appS3.guid, w.auth.outsider);
    const readyInS3 = await readyBitsPackage(appS3.guid);
    expect((await get(`/v3/packages/${readyInS.guid}/download`, w.auth.dev)).status).toBe(200);

    const scenes: Scene[] = [
      {
        who: "developer of S3 (O3)", auth: w.auth.outsider, ownApp: appS3, ownSpaces: [w.space3.guid],
        foreignApps: [appS.guid, appS2.guid], foreignPackages: [inS.guid, readyInS.guid, inS2.guid, readyInS2.guid],
        foreignSpaces: [w.space.guid, w.space2.guid], foreignOrg: w.org.guid, sharedOrg: w.org.guid, ownInSharedOrg: false,
      },
      {
        who: "developer of S, against S2", auth: w.auth.dev, ownApp: appS, ownSpaces: [w.space.guid],
        foreignApps: [appS2.guid], foreignPackages: [inS2.guid, readyInS2.guid],
        foreignSpaces: [w.space2.guid], foreignOrg: w.org3.guid, sharedOrg: w.org.guid, ownInSharedOrg: true,
      },
    ];

    for (const scene of scenes) {
      const { auth, who } = scene;
      const own = (await jsonOf<Page>(await get(`/v3/packages?per_page=5000&space_guids=${scene.ownSpaces.join(",")}`, admin))).resources.map((p) => p.guid);
      expect(own.length, who).toBeGreaterThan(0);
      const guidsOf = async (path: string) => {
        const res = await get(path, auth);
        expect(res.status, `${who}: ${path}`).toBe(200);
        return jsonOf<Page>(res);
      };

      // Lists: filters naming the other space's things find nothing of it; totals count only one's own.
      const lists: [string, string[]][] = [
        [`/v3/packages?app_guids=${[...scene.foreignApps, scene.ownApp.guid].join(",")}`, own],
        [`/v3/packages?app_guids=${scene.foreignApps.join(",")}`, []],
        [`/v3/packages?space_guids=${scene.foreignSpaces.join(",")}`, []],
        [`/v3/packages?organization_guids=${scene.foreignOrg}`, []],
        [`/v3/packages?organization_guids=${scene.sharedOrg}&space_guids=${[...scene.foreignSpaces, ...scene.ownSpaces].join(",")}`, scene.ownInSharedOrg ? own : []],
        [`/v3/packages?guids=${scene.foreignPackages.join(",")}`, []],
        [`/v3/packages?guids=${[...scene.foreignPackages, own[0]!].join(",")}`, [own[0]!]],
        [`/v3/packages?states=READY,AWAITING_UPLOAD&types=bits&per_page=5000`, own],
        [`/v3/packages?per_page=5000`, own],
      ];
      for (const [path, expected] of lists) {
        const body = await guidsOf(path);
        expect(body.resources.map((p) => p.guid), `${who}: ${path}`).toEqual(expected);
        expect(body.pagination.total_results, `${who}: ${path}`).toBe(expected.length);
      }
      const paged = await guidsOf("/v3/packages?per_page=1");
      expect(paged.pagination, who).toMatchObject({ total_results: own.length, total_pages: own.length });
      const beyond = await guidsOf(`/v3/packages?per_page=1&page=${own.length + 1}`);
      expect(beyond.resources, who).toEqual([]);

      // The other space's apps and packages: 404 to every read.
      for (const app of scene.foreignApps) {
        for (const path of [`/v3/apps/${app}/packages`, `/v3/apps/${app}/packages?per_page=1`, `/v3/packages?app_guid=${app}`]) {
          const res = await get(path, auth);
          expect(res.status, `${who}: ${path}`).toBe(404);
          expect(await v3Error(res)).toEqual(notFound("App"));
        }
      }
      for (const pkg of scene.foreignPackages) {
        for (const path of [`/v3/packages/${pkg}`, `/v3/packages/${pkg}/download`]) {
          const res = await get(path, auth);
          expect(res.status, `${who}: ${path}`).toBe(404);
          expect(await v3Error(res)).toEqual(notFound("Package"));
        }
      }

      // Writes: 404 for its packages, 422 for creates and copies into or out of it; nothing changes.
      const zip = await appZip("intruder\n");
      const sends: [string, () => Promise<Response>, Outcome][] = [];
      for (const pkg of scene.foreignPackages) {
        sends.push(
          [`upload ${pkg}`, () => uploadZip(pkg, zip, auth), [404, notFound("Package")]],
          [`patch ${pkg}`, () => call("PATCH", `/v3/packages/${pkg}`, { auth, body: { metadata: { labels: { pwned: "yes" } } } }), [404, notFound("Package")]],
          [`delete ${pkg}`, () => call("DELETE", `/v3/packages/${pkg}`, { auth }), [404, notFound("Package")]],
          [`stage ${pkg}`, () => call("POST", `/v3/packages/${pkg}/droplets`, { auth, body: {} }), [404, notFound("Package")]],
          [`copy out of ${pkg}`, () => call("POST", `/v3/packages?source_guid=${pkg}`, { auth, body: { relationships: { app: { data: { guid: scene.ownApp.guid } } } } }), SOURCE_INVALID],
        );
      }
      for (const app of scene.foreignApps) {
        sends.push(
          [`create in ${app}`, () => call("POST", "/v3/packages", { auth, body: { type: "bits", relationships: { app: { data: { guid: app } } } } }), APP_INVALID],
          [`copy into ${app}`, () => call("POST", `/v3/packages?source_guid=${own[0]!}`, { auth, body: { relationships: { app: { data: { guid: app } } } } }), APP_INVALID],
        );
      }
      for (const [label, send, outcome] of sends) {
        await refusedWithoutChange(send, outcome).catch((err: unknown) => {
          throw new Error(`${who}: ${label}: ${String(err)}`);
        });
      }

      // Audit events of the other space: invisible through every filter and by guid.
      const foreignEvents = (await jsonOf<Page>(await get(`/v3/audit_events?per_page=5000&space_guids=${scene.foreignSpaces.join(",")}`, admin))).resources;
      expect(foreignEvents.length, who).toBeGreaterThan(0);
      const eventLists = [
        `/v3/audit_events?space_guids=${scene.foreignSpaces.join(",")}`,
        `/v3/audit_events?target_guids=${scene.foreignApps.join(",")}`,
        `/v3/audit_events?guids=${foreignEvents.map((e) => e.guid).join(",")}`,
        `/v3/audit_events?organization_guids=${scene.foreignOrg}`,
      ];
      for (const path of eventLists) {
        const body = await guidsOf(path);
        expect(body.resources, `${who}: ${path}`).toEqual([]);
        expect(body.pagination.total_results, `${who}: ${path}`).toBe(0);
      }
      const mine = await guidsOf("/v3/audit_events?types=audit.app.package.create,audit.app.package.upload,audit.app.package.download&per_page=5000");
      expect(mine.resources.length, who).toBeGreaterThan(0);
      expect(mine.resources.every((e) => !scene.foreignApps.includes(e.target!.guid)), who).toBe(true);
      for (const event of foreignEvents) {
        expect((await get(`/v3/audit_events/${event.guid}`, auth)).status, `${who}: event ${event.guid}`).toBe(404);
      }
    }

    // The other spaces' packages are as they were.
    for (const pkg of [inS, readyInS, inS2, readyInS2, inS3, readyInS3]) {
      expect(await getPackage(pkg.guid, admin)).toEqual(pkg);
    }
  });
});
