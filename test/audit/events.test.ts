// Audit events (the reference's app/repositories/*_event_repository.rb; issue 5, item 4): one test per
// event type, each read back through GET /v3/audit_events with its filters (types, target_guids,
// space_guids, organization_guids, created_ats) and GET /v3/audit_events/:guid, checking actor, target
// (the actee: guid, type, name), space, organization and data. Events of a space are shown to its
// auditors and hidden from others.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { database, timestamp } from "../../src/db/client";
import { users } from "../../src/db/schema";
import { buildZip } from "../helpers/zip";
import { call, get, jsonOf, waitForJob } from "../helpers/api";
import { grant, makeApp } from "../helpers/fixtures";
import { world, type World } from "../helpers/world";
import { digestHex } from "../helpers/bytes";
import { appZip, createBits, readyBitsPackage, uploadZip, type PackageJson } from "../resources/packages/helpers";

interface AuditEvent {
  guid: string;
  created_at: string;
  updated_at: string;
  type: string;
  actor: { guid: string; type: string; name: string };
  target: { guid: string; type: string; name: string };
  data: Record<string, unknown>;
  space: { guid: string } | null;
  organization: { guid: string } | null;
  links: { self: { href: string } };
}
interface EventList {
  pagination: { total_results: number };
  resources: AuditEvent[];
}

let w: World;
let A: { guid: string; name: string };
let D: { guid: string; name: string };
/** When the file started: every event here is at or after it. */
let since: string;

beforeAll(async () => {
  since = timestamp();
  w = await world();
  A = await makeApp({ spaceGuid: w.space.guid, name: "audited-app" });
  D = await makeApp({ spaceGuid: w.space.guid, name: "audited-docker", lifecycle: "docker" });
});

const actor = (who: "dev" | "admin" | "om" | "mgr") => ({ guid: w.user[who], type: "user", name: `${w.user[who]}@example.com` });
const inS = () => ({ space: { guid: w.space.guid }, organization: { guid: w.org.guid } });

/**
 * The one event of `type` on `target`, found through the list's filters (as an admin, and again with
 * the space and organization filters when the event has them); GET /v3/audit_events/:guid agrees.
 */
async function theEvent(type: string, target: string): Promise<AuditEvent> {
  const query = `types=${type}&target_guids=${target}&created_ats[gte]=${since}`;
  const list = await jsonOf<EventList>(await get(`/v3/audit_events?${query}`, w.auth.admin));
  expect(list.pagination.total_results, `${type} on ${target}`).toBe(1);
  const event = list.resources[0]!;
  expect(event.updated_at).toBe(event.created_at);
  expect(event.links.self.href).toBe(`/v3/audit_events/${event.guid}`);
  expect(await jsonOf(await get(`/v3/audit_events/${event.guid}`, w.auth.admin))).toEqual(event);
  if (event.space) {
    const bySpace = await jsonOf<EventList>(await get(`/v3/audit_events?${query}&space_guids=${event.space.guid}`, w.auth.admin));
    expect(bySpace.resources).toEqual([event]);
    const otherSpace = await jsonOf<EventList>(await get(`/v3/audit_events?${query}&space_guids=${w.space2.guid}`, w.auth.admin));
    expect(otherSpace.resources).toEqual([]);
  }
  if (event.organization) {
    const byOrg = await jsonOf<EventList>(await get(`/v3/audit_events?${query}&organization_guids=${event.organization.guid}`, w.auth.admin));
    expect(byOrg.resources).toEqual([event]);
    const otherOrg = await jsonOf<EventList>(await get(`/v3/audit_events?${query}&organization_guids=${w.org3.guid}`, w.auth.admin));
    expect(otherOrg.resources).toEqual([]);
  }
  return event;
}

/** Who sees an event: S's space auditor sees S's events; a developer of another org sees none. */
async function visibility(event: AuditEvent, auditorSees: boolean) {
  expect((await get(`/v3/audit_events/${event.guid}`, w.auth.aud)).status).toBe(auditorSees ? 200 : 404);
  expect((await get(`/v3/audit_events/${event.guid}`, w.auth.outsider)).status).toBe(404);
  const outsiderList = await jsonOf<EventList>(await get(`/v3/audit_events?types=${event.type}&target_guids=${event.target.guid}`, w.auth.outsider));
  expect(outsiderList.resources).toEqual([]);
}

describe("package events (PackageEventRepository): actee the app, in its space and organization", () => {
  it("audit.app.package.create on create: the requested keys, the docker password as ***", async () => {
    const body = {
      type: "docker",
      data: { image: "registry/image:latest", username: "user", password: "very secret" },
      relationships: { app: { data: { guid: D.guid } } },
      metadata: { labels: { audited: "yes" } },
    };
    const res = await call("POST", "/v3/packages", { auth: w.auth.dev, body });
    expect(res.status).toBe(201);
    const pkg = await jsonOf<PackageJson>(res);
    const event = await theEvent("audit.app.package.create", D.guid);
    expect(event).toMatchObject({
      type: "audit.app.package.create",
      actor: actor("dev"),
      target: { guid: D.guid, type: "app", name: D.name },
      ...inS(),
      data: { package_guid: pkg.guid, request: { ...body, data: { ...body.data, password: "***" } } },
    });
    expect(JSON.stringify(event)).not.toContain("very secret");
    await visibility(event, true);
  });

  it("audit.app.package.create on copy: the new package and the source, actee the destination app", async () => {
    const source = await readyBitsPackage(A.guid);
    const destination = await makeApp({ spaceGuid: w.space.guid, name: "copy-destination" });
    const res = await call("POST", `/v3/packages?source_guid=${source.guid}`, { auth: w.auth.dev, body: { relationships: { app: { data: { guid: destination.guid } } } } });
    expect(res.status).toBe(201);
    const copy = await jsonOf<PackageJson>(res);
    const event = await theEvent("audit.app.package.create", destination.guid);
    expect(event).toMatchObject({
      actor: actor("dev"),
      target: { guid: destination.guid, type: "app", name: "copy-destination" },
      ...inS(),
    });
    expect(event.data).toEqual({ package_guid: copy.guid, request: { source_package_guid: source.guid } });
    await visibility(event, true);
  });

  it("audit.app.package.upload", async () => {
    const app = await makeApp({ spaceGuid: w.space.guid, name: "upload-target" });
    const pkg = await createBits(app.guid);
    expect((await uploadZip(pkg.guid, await appZip(), w.auth.dev)).status).toBe(200);
    const event = await theEvent("audit.app.package.upload", app.guid);
    expect(event).toMatchObject({ actor: actor("dev"), target: { guid: app.guid, type: "app", name: "upload-target" }, ...inS() });
    expect(event.data).toEqual({ package_guid: pkg.guid });
    await visibility(event, true);
  });

  it("audit.app.package.download: one per download, none for a refused one", async () => {
    const app = await makeApp({ spaceGuid: w.space.guid, name: "download-target" });
    const pkg = await readyBitsPackage(app.guid);
    expect((await get(`/v3/packages/${pkg.guid}/download`, w.auth.aud)).status).toBe(403);
    const res = await get(`/v3/packages/${pkg.guid}/download`, w.auth.dev);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const event = await theEvent("audit.app.package.download", app.guid);
    expect(event).toMatchObject({ actor: actor("dev"), target: { guid: app.guid, type: "app", name: "download-target" }, ...inS() });
    expect(event.data).toEqual({ package_guid: pkg.guid });
    await visibility(event, true);
  });

  it("audit.app.package.delete, recorded by the delete job", async () => {
    const app = await makeApp({ spaceGuid: w.space.guid, name: "delete-target" });
    const pkg = await readyBitsPackage(app.guid);
    const res = await call("DELETE", `/v3/packages/${pkg.guid}`, { auth: w.auth.dev });
    expect(res.status).toBe(202);
    expect((await waitForJob(res.headers.get("Location")!, w.auth.dev)).state).toBe("COMPLETE");
    const event = await theEvent("audit.app.package.delete", app.guid);
    expect(event).toMatchObject({ actor: actor("dev"), target: { guid: app.guid, type: "app", name: "delete-target" }, ...inS() });
    expect(event.data).toEqual({ package_guid: pkg.guid });
    await visibility(event, true);
  });
});

describe("app events", () => {
  it("audit.app.create: the request", async () => {
    const body = { name: "created-app", relationships: { space: { data: { guid: w.space.guid } } } };
    const res = await call("POST", "/v3/apps", { auth: w.auth.dev, body });
    expect(res.status).toBe(201);
    const app = await jsonOf<{ guid: string }>(res);
    const event = await theEvent("audit.app.create", app.guid);
    expect(event).toMatchObject({ actor: actor("dev"), target: { guid: app.guid, type: "app", name: "created-app" }, ...inS() });
    expect(event.data).toMatchObject({ request: body });
    await visibility(event, true);
  });

  it("audit.app.delete-request (the reference's type for an app delete), recursive", async () => {
    const app = await makeApp({ spaceGuid: w.space.guid, name: "doomed-app" });
    const res = await call("DELETE", `/v3/apps/${app.guid}`, { auth: w.auth.dev });
    expect(res.status).toBe(202);
    expect((await waitForJob(res.headers.get("Location")!, w.auth.dev)).state).toBe("COMPLETE");
    const event = await theEvent("audit.app.delete-request", app.guid);
    expect(event).toMatchObject({ actor: actor("dev"), target: { guid: app.guid, type: "app", name: "doomed-app" }, ...inS() });
    expect(event.data).toEqual({ request: { recursive: true } });
    await visibility(event, true);
  });
});

describe("buildpack events: platform-wide (no space or organization), seen only by global readers", () => {
  let buildpack: { guid: string; name: string };
  const zip = () => buildZip([{ name: "bin/detect", data: "echo detect" }, { name: "bin/compile", data: "echo compile" }]);

  beforeAll(async () => {
    const res = await call("POST", "/v3/buildpacks", { auth: w.auth.admin, body: { name: "audited_buildpack", position: 1 } });
    expect(res.status).toBe(201);
    buildpack = await jsonOf(res);
  });

  const expectPlatformEvent = async (event: AuditEvent) => {
    expect(event).toMatchObject({ actor: actor("admin"), target: { guid: buildpack.guid, type: "buildpack", name: "audited_buildpack" } });
    expect(event.space).toBeNull();
    expect(event.organization).toBeNull();
    for (const who of ["aro", "ga"] as const) expect((await get(`/v3/audit_events/${event.guid}`, w.auth[who])).status, who).toBe(200);
    for (const who of ["dev", "aud", "om", "oa"] as const) expect((await get(`/v3/audit_events/${event.guid}`, w.auth[who])).status, who).toBe(404);
  };

  it("audit.buildpack.create: the request", async () => {
    const event = await theEvent("audit.buildpack.create", buildpack.guid);
    await expectPlatformEvent(event);
    expect(event.data).toMatchObject({ request: { name: "audited_buildpack", position: 1 } });
  });

  it("audit.buildpack.update: the changed fields", async () => {
    expect((await call("PATCH", `/v3/buildpacks/${buildpack.guid}`, { auth: w.auth.admin, body: { enabled: false } })).status).toBe(200);
    const event = await theEvent("audit.buildpack.update", buildpack.guid);
    await expectPlatformEvent(event);
    expect(event.data).toEqual({ request: { enabled: false } });
  });

  it("audit.buildpack.upload: the file name and the bits' sha256, recorded by the upload job", async () => {
    const bits = await zip();
    const form = new FormData();
    form.append("bits", new File([bits], "audited.zip", { type: "application/zip" }));
    const res = await call("POST", `/v3/buildpacks/${buildpack.guid}/upload`, { auth: w.auth.admin, body: form });
    expect(res.status).toBe(202);
    expect((await waitForJob(res.headers.get("Location")!, w.auth.admin)).state).toBe("COMPLETE");
    const event = await theEvent("audit.buildpack.upload", buildpack.guid);
    await expectPlatformEvent(event);
    expect(event.data).toEqual({ filename: "audited.zip", sha256: await digestHex("SHA-256", bits) });
  });

  it("audit.buildpack.delete, recorded by the delete job", async () => {
    const res = await call("DELETE", `/v3/buildpacks/${buildpack.guid}`, { auth: w.auth.admin });
    expect(res.status).toBe(202);
    expect((await waitForJob(res.headers.get("Location")!, w.auth.admin)).state).toBe("COMPLETE");
    const event = await theEvent("audit.buildpack.delete", buildpack.guid);
    await expectPlatformEvent(event);
  });
});

describe("role events: actee the user, in the role's space and organization", () => {
  const grantee = `grantee-${crypto.randomUUID().slice(0, 8)}`;
  beforeAll(async () => {
    await database(env.DB).insert(users).values({ guid: grantee, username: "grantee-name", origin: "uaa", createdAt: timestamp() });
    await grant(grantee, "organization_user", { orgGuid: w.org.guid });
  });

  it("audit.user.space_auditor_add (granted by the space manager): the request", async () => {
    const body = { type: "space_auditor", relationships: { user: { data: { guid: grantee } }, space: { data: { guid: w.space.guid } } } };
    expect((await call("POST", "/v3/roles", { auth: w.auth.mgr, body })).status).toBe(201);
    const event = await theEvent("audit.user.space_auditor_add", grantee);
    expect(event).toMatchObject({ actor: actor("mgr"), target: { guid: grantee, type: "user", name: "grantee-name" }, ...inS() });
    expect(event.data).toMatchObject({ request: body });
    // A role event of S is S's: its auditor sees it, another org's developer does not.
    await visibility(event, true);
  });

  it("audit.user.organization_billing_manager_add (granted by the org manager): no space", async () => {
    const body = { type: "organization_billing_manager", relationships: { user: { data: { guid: grantee } }, organization: { data: { guid: w.org.guid } } } };
    expect((await call("POST", "/v3/roles", { auth: w.auth.om, body })).status).toBe(201);
    const event = await theEvent("audit.user.organization_billing_manager_add", grantee);
    expect(event).toMatchObject({
      actor: actor("om"), target: { guid: grantee, type: "user", name: "grantee-name" }, space: null, organization: { guid: w.org.guid },
    });
    expect(event.data).toMatchObject({ request: body });
    // An organization's events are for its auditors, not for a space's auditor.
    await visibility(event, false);
    expect((await get(`/v3/audit_events/${event.guid}`, w.auth.oa)).status).toBe(200);
  });

  it("audit.user.space_auditor_remove (revoked by the space manager), recorded by the delete job", async () => {
    const roles = await jsonOf<{ resources: { guid: string }[] }>(await get(`/v3/roles?user_guids=${grantee}&types=space_auditor`, w.auth.admin));
    const res = await call("DELETE", `/v3/roles/${roles.resources[0]!.guid}`, { auth: w.auth.mgr });
    expect(res.status).toBe(202);
    expect((await waitForJob(res.headers.get("Location")!, w.auth.mgr)).state).toBe("COMPLETE");
    const event = await theEvent("audit.user.space_auditor_remove", grantee);
    expect(event).toMatchObject({ actor: actor("mgr"), target: { guid: grantee, type: "user", name: "grantee-name" }, ...inS() });
    await visibility(event, true);
  });

  it("audit.user.organization_billing_manager_remove (revoked by the org manager)", async () => {
    const roles = await jsonOf<{ resources: { guid: string }[] }>(await get(`/v3/roles?user_guids=${grantee}&types=organization_billing_manager`, w.auth.admin));
    const res = await call("DELETE", `/v3/roles/${roles.resources[0]!.guid}`, { auth: w.auth.om });
    expect(res.status).toBe(202);
    expect((await waitForJob(res.headers.get("Location")!, w.auth.om)).state).toBe("COMPLETE");
    const event = await theEvent("audit.user.organization_billing_manager_remove", grantee);
    expect(event).toMatchObject({ actor: actor("om"), target: { guid: grantee, type: "user" }, space: null, organization: { guid: w.org.guid } });
  });
});

describe("no event for what did not happen", () => {
  it("a refused create, upload and delete record nothing", async () => {
    const before = await jsonOf<EventList>(await get("/v3/audit_events?per_page=1", w.auth.admin));
    const pkg = await createBits(A.guid);
    const after = await jsonOf<EventList>(await get("/v3/audit_events?per_page=1", w.auth.admin));
    expect(after.pagination.total_results).toBe(before.pagination.total_results + 1);
    expect((await call("POST", "/v3/packages", { auth: w.auth.aud, body: { type: "bits", relationships: { app: { data: { guid: A.guid } } } } })).status).toBe(403);
    expect((await uploadZip(pkg.guid, await appZip(), w.auth.mgr)).status).toBe(403);
    expect((await call("DELETE", `/v3/packages/${pkg.guid}`, { auth: w.auth.sup })).status).toBe(403);
    const end = await jsonOf<EventList>(await get("/v3/audit_events?per_page=1", w.auth.admin));
    expect(end.pagination.total_results).toBe(after.pagination.total_results);
  });
});
