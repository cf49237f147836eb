// POST /v3/packages (PackageCreateMessage and PackageCreate, cases C01-C22). `dev` of the reference is
// played by admin where the case is about the request and not about the space role.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, jsonOf, v3Error } from "../../helpers/api";
import { adminAuth, auths, bearer, SCOPES } from "../../helpers/tokens";
import { makeWorld } from "../../helpers/world";
import { bitsBody, dockerBody, type PackageJson } from "./helpers";

let w: Awaited<ReturnType<typeof makeWorld>>;
beforeAll(async () => {
  w = await makeWorld();
});

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const APP_INVALID = { detail: "App is invalid. Ensure it exists and you have access to it.", title: "CF-UnprocessableEntity", code: 10008 };
const NOT_AUTHORIZED = { detail: "You are not authorized to perform the requested action", title: "CF-NotAuthorized", code: 10003 };

async function post(body: unknown, auth?: string, headers?: Record<string, string>) {
  return call("POST", "/v3/packages", { auth: auth ?? (await adminAuth()), body, ...(headers ? { headers } : {}) });
}

async function packageCount(): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM packages").first<{ n: number }>();
  return row?.n ?? 0;
}

async function expect422(body: unknown, detail: string | RegExp) {
  const before = await packageCount();
  const res = await post(body);
  expect(res.status).toBe(422);
  const error = await v3Error(res);
  expect(error.title).toBe("CF-UnprocessableEntity");
  expect(error.code).toBe(10008);
  if (typeof detail === "string") expect(error.detail).toBe(detail);
  else expect(error.detail).toMatch(detail);
  expect(await packageCount()).toBe(before);
}

describe("create", () => {
  it("C01 docker package with credentials and metadata: 201 READY, password shown as ***", async () => {
    const body = {
      ...dockerBody(w.D.guid, { image: "registry/image:latest", username: "my-docker-username", password: "my-password" }),
      metadata: { labels: { release: "stable", "seriouseats.com/potato": "mashed" }, annotations: { potato: "idaho" } },
    };
    const res = await post(body);
    expect(res.status).toBe(201);
    const pkg = await jsonOf<PackageJson>(res);
    expect(pkg.type).toBe("docker");
    expect(pkg.state).toBe("READY");
    expect(pkg.data).toEqual({ image: "registry/image:latest", username: "my-docker-username", password: "***" });
    expect(pkg.relationships).toEqual({ app: { data: { guid: w.D.guid } } });
    expect(pkg.metadata).toEqual({ labels: { release: "stable", "seriouseats.com/potato": "mashed" }, annotations: { potato: "idaho" } });
    // Contract: docker links are self, stage and app (relative paths, as the seed's).
    expect(pkg.links).toEqual({
      self: { href: `/v3/packages/${pkg.guid}` },
      stage: { href: `/v3/packages/${pkg.guid}/droplets`, method: "POST" },
      app: { href: `/v3/apps/${w.D.guid}` },
    });
    expect(pkg.created_at).toMatch(TIMESTAMP);
    expect(pkg.updated_at).toBeNull();
    // The stored password is never shown; the audit event redacts it too.
    const event = await env.DB.prepare("SELECT * FROM audit_events WHERE type = 'audit.app.package.create' AND data LIKE ?")
      .bind(`%${pkg.guid}%`).first<Record<string, string>>();
    expect(event?.actee_guid).toBe(w.D.guid);
    expect(event?.actee_type).toBe("app");
    expect(event?.actee_name).toBe(w.D.name);
    expect(event?.space_guid).toBe(w.S.guid);
    expect(event?.organization_guid).toBe(w.O.guid);
    const data = JSON.parse(event!.data!) as { package_guid: string; request: { data: Record<string, string> } };
    expect(data.package_guid).toBe(pkg.guid);
    expect(data.request.data).toEqual({ image: "registry/image:latest", username: "my-docker-username", password: "***" });
    expect(event!.data).not.toContain("my-password");
  });

  it("C02 bits package: 201 AWAITING_UPLOAD with the seed's data and links plus checksum (contract shape)", async () => {
    const res = await post(bitsBody(w.A.guid));
    expect(res.status).toBe(201);
    const pkg = await jsonOf<PackageJson>(res);
    expect(pkg.state).toBe("AWAITING_UPLOAD");
    expect(pkg.data).toEqual({ hash: { type: "sha1", value: null }, checksum: { type: "sha256", value: null }, error: null });
    expect(pkg.links).toEqual({
      self: { href: `/v3/packages/${pkg.guid}` },
      upload: { href: `/v3/packages/${pkg.guid}/upload`, method: "POST" },
      download: { href: `/v3/packages/${pkg.guid}/download`, method: "GET" },
      stage: { href: `/v3/packages/${pkg.guid}/droplets`, method: "POST" },
      app: { href: `/v3/apps/${w.A.guid}` },
    });
    expect(pkg.metadata).toEqual({ labels: {}, annotations: {} });
    expect(Object.keys(pkg)).toEqual(["guid", "type", "data", "state", "created_at", "updated_at", "relationships", "metadata", "links"]);
  });

  it("C03 admin_read_only and global_auditor (with write scope) get 403 NotAuthorized", async () => {
    for (const auth of [await auths.adminReadOnly(), await auths.globalAuditor()]) {
      const before = await packageCount();
      const res = await post(dockerBody(w.D.guid), auth);
      expect(res.status).toBe(403);
      expect(await v3Error(res)).toEqual(NOT_AUTHORIZED);
      expect(await packageCount()).toBe(before);
    }
  });

  it("C04 a user with no role gets 422 App is invalid", async () => {
    const res = await post(dockerBody(w.D.guid), await auths.noRole());
    expect(res.status).toBe(422);
    expect(await v3Error(res)).toEqual(APP_INVALID);
  });

  it("C05 an app guid that does not exist: 422 App is invalid", async () => {
    const res = await post(bitsBody("bogus-guid"));
    expect(res.status).toBe(422);
    expect(await v3Error(res)).toEqual(APP_INVALID);
  });

  it("C06 unknown type", () => expect422({ type: "ninja", relationships: { app: { data: { guid: w.A.guid } } } }, "Type must be one of 'bits, docker'"));

  it("C07 empty body", () => expect422({}, "Relationships 'relationships' is not an object, Type must be one of 'bits, docker'"));

  it("C08 unknown field", () => expect422({ ...bitsBody(w.A.guid), unexpected: "foo" }, /Unknown field\(s\): 'unexpected'/));

  it("C09 data on a bits package", () =>
    expect422({ type: "bits", data: { foobar: "foobaz" }, relationships: { app: { data: { guid: w.A.guid } } } }, "Data Data must be empty if provided for bits packages"));

  it("C10 docker without data", () => expect422({ type: "docker", relationships: { app: { data: { guid: w.D.guid } } } }, /Data Image required/));

  it("C11 docker image not a string", () => expect422(dockerBody(w.D.guid, { image: 5 }), /Data Image must be a string/));

  it("C12 unknown docker data field", () =>
    expect422(dockerBody(w.D.guid, { image: "path/to/image/", birthday: "party" }), /Unknown field\(s\): 'birthday'/));

  it("C13 app guid null, and relationships not an object", async () => {
    await expect422({ type: "bits", relationships: { app: { data: { guid: null } } } }, /App guid must be a string/);
    await expect422({ type: "bits", relationships: "gorniplatz" }, /'relationships' is not an object/);
  });

  it("C14 bits package for a docker app", async () => {
    const res = await post(bitsBody(w.D.guid));
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toBe("Cannot create bits package for a Docker app.");
  });

  it("C15 docker package for a buildpack app", async () => {
    const res = await post(dockerBody(w.A.guid));
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toBe("Cannot create Docker package for a buildpack app.");
  });

  it("C16 reserved label prefix", () =>
    expect422({ ...bitsBody(w.A.guid), metadata: { labels: { "cloudfoundry.org/release": "stable" } } }, "Metadata label key error: prefix 'cloudfoundry.org' is reserved"));

  it("C17 empty annotation key", () =>
    expect422({ ...bitsBody(w.A.guid), metadata: { annotations: { "": "stable" } } }, /annotation [\w\s]+ error/));

  it("metadata values that are not strings (a float, or a boolean annotation) are 422 and create nothing", async () => {
    await expect422({ ...bitsBody(w.A.guid), metadata: { labels: { a: 1 }, annotations: { b: 1.5 } } }, "Metadata annotation value error: value must be a string");
    await expect422({ ...bitsBody(w.A.guid), metadata: { labels: { a: 1.5 } } }, "Metadata label value error: value must be a string");
    await expect422({ ...bitsBody(w.A.guid), metadata: { annotations: { on: true } } }, "Metadata annotation value error: value must be a string");
  });

  it("C19 a token with only cloud_controller.read: 403", async () => {
    const res = await post(bitsBody(w.A.guid), await bearer({ scopes: SCOPES.readOnly }));
    expect(res.status).toBe(403);
    expect(await v3Error(res)).toEqual(NOT_AUTHORIZED);
  });

  it("C20 no Authorization header: 401 NotAuthenticated; garbage token: 401 InvalidAuthToken", async () => {
    const none = await call("POST", "/v3/packages", { body: bitsBody(w.A.guid) });
    expect(none.status).toBe(401);
    expect(await v3Error(none)).toEqual({ detail: "Authentication error", title: "CF-NotAuthenticated", code: 10002 });
    const garbage = await post(bitsBody(w.A.guid), "bearer garbage");
    expect(garbage.status).toBe(401);
    expect(await v3Error(garbage)).toEqual({ detail: "Invalid Auth Token", title: "CF-InvalidAuthToken", code: 1000 });
  });

  it("C21 an expired token: 401 InvalidAuthToken on GET /v3/packages", async () => {
    const expired = await bearer({ claims: { exp: Math.floor(Date.now() / 1000) - 10 } });
    const res = await call("GET", "/v3/packages", { auth: expired });
    expect(res.status).toBe(401);
    expect((await v3Error(res)).title).toBe("CF-InvalidAuthToken");
  });

  it("C22 malformed JSON: 400 MessageParseError", async () => {
    const res = await post('{"type":', undefined, { "Content-Type": "application/json" });
    expect(res.status).toBe(400);
    expect(await v3Error(res)).toEqual({ detail: "Request invalid due to parse error: invalid request body", title: "CF-MessageParseError", code: 1001 });
  });
});

describe("create: more bad input", () => {
  it("every validation message at once, in the reference's order", () =>
    expect422(
      { type: "bits", data: { x: 1 }, relationships: {}, metadata: { labels: { "a b": "c" } }, extra: 1 },
      "Metadata label key error: 'a b' contains invalid characters, Unknown field(s): 'extra', Data Data must be empty if provided for bits packages, Relationships 'relationships' must include one or more valid relationships",
    ));

  it("a relationship without data, with unknown keys, or with a guid too long", async () => {
    await expect422({ type: "bits", relationships: { app: "x" } }, 'Relationships App must be structured like this: "app: {"data": {"guid": "valid-guid"}}"');
    await expect422({ type: "bits", relationships: { potato: {} } }, /Relationships Unknown field\(s\): 'potato', Relationships App can't be blank/);
    await expect422({ type: "bits", relationships: { app: { data: { guid: "x".repeat(201) } } } }, "Relationships App guid must be between 1 and 200 characters");
  });

  it("app data null passes validation and is an invalid app", async () => {
    const res = await post({ type: "bits", relationships: { app: { data: null } } });
    expect(res.status).toBe(422);
    expect(await v3Error(res)).toEqual(APP_INVALID);
  });

  it("docker credentials of the wrong type and an over-long password", async () => {
    await expect422(dockerBody(w.D.guid, { image: "i", username: 5 }), "Data Username must be a string");
    await expect422(dockerBody(w.D.guid, { image: "i", username: "u", password: "p".repeat(5001) }), "docker_password can be up to 5,000 characters");
  });

  it("a body that is not an object, and a huge body", async () => {
    const array = await post("[1,2]", undefined, { "Content-Type": "application/json" });
    expect(array.status).toBe(400);
    const huge = await post(JSON.stringify({ ...bitsBody(w.A.guid), metadata: { annotations: { a: "x".repeat(2 * 1024 * 1024) } } }), undefined, { "Content-Type": "application/json" });
    expect(huge.status).toBe(400);
    expect((await v3Error(huge)).title).toBe("CF-BadRequest");
  });

  it("too many labels: 422 LabelLimitExceeded and no package", async () => {
    const labels = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]));
    const before = await packageCount();
    const res = await post({ ...bitsBody(w.A.guid), metadata: { labels } });
    expect(res.status).toBe(422);
    expect((await v3Error(res)).title).toBe("CF-LabelLimitExceeded");
    expect(await packageCount()).toBe(before);
  });

  it("the created package is what its self link shows", async () => {
    const created = await jsonOf<PackageJson>(await post(bitsBody(w.A.guid)));
    const res = await call("GET", created.links.self!.href, { auth: await adminAuth() });
    expect(res.status).toBe(200);
    expect(await jsonOf<PackageJson>(res)).toEqual(created);
  });
});
