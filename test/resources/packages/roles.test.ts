// Beyond the global roles: a few org and space role cases of the matrix
// (lib/cloud_controller/permissions.rb), answered by auth/permissions.ts from the roles table (roles are
// granted straight in D1 here).
import { beforeAll, describe, expect, it } from "vitest";
import { call, get, jsonOf, v3Error } from "../../helpers/api";
import { grant, makeApp, makeOrg, makeSpace } from "../../helpers/fixtures";
import { userAuth } from "../../helpers/tokens";
import { makeWorld } from "../../helpers/world";
import { appZip, bitsBody, createBits, readyBitsPackage, uploadZip, type ListJson } from "./helpers";

let w: Awaited<ReturnType<typeof makeWorld>>;
beforeAll(async () => {
  w = await makeWorld();
  await grant("dev", "space_developer", { spaceGuid: w.S.guid });
  await grant("aud", "space_auditor", { spaceGuid: w.S.guid });
  await grant("om", "organization_manager", { orgGuid: w.O.guid });
  await grant("oa", "organization_auditor", { orgGuid: w.O.guid });
});

describe("org and space roles", () => {
  it("C02 a space developer creates and uploads; C73 a space auditor may not upload (403), an org auditor sees nothing (404)", async () => {
    const res = await call("POST", "/v3/packages", { auth: await userAuth("dev"), body: bitsBody(w.A.guid) });
    expect(res.status).toBe(201);
    const pkg = await jsonOf<{ guid: string }>(res);
    expect((await uploadZip(pkg.guid, await appZip(), await userAuth("aud"))).status).toBe(403);
    expect((await uploadZip(pkg.guid, await appZip(), await userAuth("oa"))).status).toBe(404);
    expect((await uploadZip(pkg.guid, await appZip(), await userAuth("dev"))).status).toBe(200);
  });

  it("C45 list visibility: space auditor and org manager see the space's packages, org auditor none", async () => {
    const pb = await createBits(w.A.guid);
    await createBits(w.C.guid);
    for (const user of ["aud", "om"]) {
      const body = await jsonOf<ListJson>(await get("/v3/packages?per_page=5000", await userAuth(user)));
      expect(body.resources.map((p) => p.guid)).toContain(pb.guid);
      expect(body.resources.every((p) => p.relationships.app.data.guid !== w.C.guid)).toBe(true);
    }
    expect((await jsonOf<ListJson>(await get("/v3/packages", await userAuth("oa")))).resources).toEqual([]);
  });

  it("C77 download: developer 200, space auditor and org manager 403", async () => {
    const pb = await readyBitsPackage(w.A.guid);
    expect((await get(`/v3/packages/${pb.guid}/download`, await userAuth("dev"))).status).toBe(200);
    for (const user of ["aud", "om"]) {
      const res = await get(`/v3/packages/${pb.guid}/download`, await userAuth(user));
      expect(res.status).toBe(403);
      expect((await v3Error(res)).title).toBe("CF-NotAuthorized");
    }
  });

  it("C18 a suspended org: the developer gets 403 OrgSuspended, admin 201", async () => {
    const org = await makeOrg({ suspended: true });
    const space = await makeSpace({ orgGuid: org.guid });
    const app = await makeApp({ spaceGuid: space.guid });
    await grant("dev-suspended", "space_developer", { spaceGuid: space.guid });
    const res = await call("POST", "/v3/packages", { auth: await userAuth("dev-suspended"), body: bitsBody(app.guid) });
    expect(res.status).toBe(403);
    expect(await v3Error(res)).toEqual({ detail: "The organization is suspended", title: "CF-OrgSuspended", code: 10017 });
    expect((await createBits(app.guid)).guid).toBeTruthy();
  });
});
