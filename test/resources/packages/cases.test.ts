// The reference's conformance cases that are not plain matrix rows: copies across spaces and
// organizations (C29 suspended source or destination, C30 a role that reads but does not write the
// source), and the token cases of C67 and C73. Refused requests change nothing.
import { beforeAll, describe, expect, it } from "vitest";
import { call, get, jsonOf } from "../../helpers/api";
import { grant, makeApp, makeOrg, makeSpace } from "../../helpers/fixtures";
import { bearer, SCOPES } from "../../helpers/tokens";
import { world, type World } from "../../helpers/world";
import { appZip, createBits, createDocker, packageKeys, readyBitsPackage, uploadZip, type PackageJson } from "./helpers";
import { expectOutcome, FORBIDDEN, notFound, refusedWithoutChange, SOURCE_INVALID, SUSPENDED } from "../../helpers/outcomes";

let w: World;
/** A2x (buildpack, S) is the copies' destination; PD a docker package of D (S); PB2 a READY bits package of B (S2). */
let A2x: { guid: string };
let PD: PackageJson;
let PB2: PackageJson;

beforeAll(async () => {
  w = await world();
  A2x = await makeApp({ spaceGuid: w.space.guid, name: "A2x" });
  PD = await createDocker((await makeApp({ spaceGuid: w.space.guid, name: "D", lifecycle: "docker" })).guid);
  PB2 = await readyBitsPackage((await makeApp({ spaceGuid: w.space2.guid, name: "B" })).guid);
});

const copy = (sourceGuid: string, appGuid: string, auth: string) =>
  call("POST", `/v3/packages?source_guid=${sourceGuid}`, { auth, body: { relationships: { app: { data: { guid: appGuid } } } } });

describe("C29 copies out of and into a suspended organization", () => {
  // dev is developer of S (world) and of Ssus in the suspended organization Osus.
  let appInSuspended: { guid: string };
  let sourceInSuspended: PackageJson;
  beforeAll(async () => {
    const org = await makeOrg();
    const space = await makeSpace({ orgGuid: org.guid });
    await grant(w.user.dev, "organization_user", { orgGuid: org.guid });
    await grant(w.user.dev, "space_developer", { spaceGuid: space.guid });
    appInSuspended = await makeApp({ spaceGuid: space.guid, name: "C" });
    sourceInSuspended = await readyBitsPackage(appInSuspended.guid);
    const res = await call("PATCH", `/v3/organizations/${org.guid}`, { auth: w.auth.admin, body: { suspended: true } });
    expect(res.status).toBe(200);
  });

  it("C29 source organization suspended: the developer gets 403 CF-OrgSuspended", async () => {
    await refusedWithoutChange(() => copy(sourceInSuspended.guid, A2x.guid, w.auth.dev), SUSPENDED);
  });

  it("C29 destination organization suspended: the developer gets 403 CF-OrgSuspended", async () => {
    await refusedWithoutChange(() => copy(PD.guid, appInSuspended.guid, w.auth.dev), SUSPENDED);
  });

  it("C29 an admin copies both ways (admins bypass suspension); the bits copy is READY with the source's checksum", async () => {
    const out = await copy(sourceInSuspended.guid, A2x.guid, w.auth.admin);
    await expectOutcome(out, 201);
    const copied = await jsonOf<PackageJson>(out);
    expect(copied.state).toBe("READY");
    expect(copied.data.checksum).toEqual(sourceInSuspended.data.checksum);
    expect(await packageKeys(copied.guid)).toHaveLength(1);
    await expectOutcome(await copy(PD.guid, appInSuspended.guid, w.auth.admin), 201);
  });
});

describe("C30 copying needs write on both spaces", () => {
  it("C30 auditor of the source space (S2), developer of the destination (S): 403 CF-NotAuthorized", async () => {
    const user = `c30-${crypto.randomUUID().slice(0, 8)}`;
    await grant(user, "organization_user", { orgGuid: w.org.guid });
    await grant(user, "space_developer", { spaceGuid: w.space.guid });
    await grant(user, "space_auditor", { spaceGuid: w.space2.guid });
    const auth = await bearer({ user, scopes: SCOPES.user });
    await refusedWithoutChange(() => copy(PB2.guid, A2x.guid, auth), FORBIDDEN);
  });

  it("C30 (the other way) developer of the source space, auditor of the destination: 403 CF-NotAuthorized", async () => {
    const user = `c30b-${crypto.randomUUID().slice(0, 8)}`;
    await grant(user, "organization_user", { orgGuid: w.org.guid });
    await grant(user, "space_developer", { spaceGuid: w.space2.guid });
    await grant(user, "space_auditor", { spaceGuid: w.space.guid });
    const auth = await bearer({ user, scopes: SCOPES.user });
    await refusedWithoutChange(() => copy(PB2.guid, A2x.guid, auth), FORBIDDEN);
  });

  it("C30 (no role at all in the source space) the developer of S copying S2's package: 422 source invalid", async () => {
    await refusedWithoutChange(() => copy(PB2.guid, A2x.guid, w.auth.dev), SOURCE_INVALID);
  });

  it("C30 developer of both spaces: 201, a READY copy in S", async () => {
    const user = `c30c-${crypto.randomUUID().slice(0, 8)}`;
    await grant(user, "organization_user", { orgGuid: w.org.guid });
    await grant(user, "space_developer", { spaceGuid: w.space.guid });
    await grant(user, "space_developer", { spaceGuid: w.space2.guid });
    const res = await copy(PB2.guid, A2x.guid, await bearer({ user, scopes: SCOPES.user }));
    await expectOutcome(res, 201);
    expect(await jsonOf<PackageJson>(res)).toMatchObject({ state: "READY", relationships: { app: { data: { guid: A2x.guid } } } });
  });
});

describe("C67 and C73: unknown packages and tokens without write scope", () => {
  it("C67 DELETE /v3/packages/nono → 404 Package not found", async () => {
    await refusedWithoutChange(() => call("DELETE", "/v3/packages/nono", { auth: w.auth.dev }), [404, notFound("Package")]);
  });

  it("C67 a read-only token (cloud_controller.read) → 403 CF-NotAuthorized, also for a developer", async () => {
    const pkg = await createBits(PB2.relationships.app.data.guid);
    const auth = await bearer({ user: w.user.dev, scopes: SCOPES.readOnly });
    await refusedWithoutChange(() => call("DELETE", `/v3/packages/${pkg.guid}`, { auth }), FORBIDDEN);
  });

  it("C73 a read-only token uploading → 403 CF-NotAuthorized, and no bits are stored", async () => {
    const pkg = await createBits(A2x.guid);
    const zip = await appZip();
    const auth = await bearer({ user: w.user.dev, scopes: SCOPES.readOnly });
    await refusedWithoutChange(() => uploadZip(pkg.guid, zip, auth), FORBIDDEN);
    expect((await jsonOf<PackageJson>(await get(`/v3/packages/${pkg.guid}`, w.auth.dev))).state).toBe("AWAITING_UPLOAD");
  });
});
