// Cross-space isolation: a developer of S3 (org O3) neither sees nor changes anything of O, S or S2,
// through any of these endpoints, list filters and pagination included.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database, timestamp } from "../../src/db/client";
import { packages } from "../../src/db/schema";
import { call, get, jsonOf } from "../helpers/api";
import { makeApp } from "../helpers/fixtures";
import { world } from "./world";

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
