// The seed (v3-get-a-package.md) field for field with its headers, the cf CLI's package flow
// (the CLI's command/v7/push_command.go and actor/v7pushaction), resource matches, the staging link, and
// C79-C80.
import { beforeAll, describe, expect, it } from "vitest";
import { presentPackage } from "../../../src/resources/packages/present";
import type { Package } from "../../../src/db/schema";
import { call, get, jsonOf, v3Error } from "../../helpers/api";
import { adminAuth, auths } from "../../helpers/tokens";
import { makeWorld } from "../../helpers/world";
import { digestHex } from "../../helpers/bytes";
import { appZip, bitsPart, createBits, multipart, type PackageJson } from "./helpers";

let w: Awaited<ReturnType<typeof makeWorld>>;
beforeAll(async () => {
  w = await makeWorld();
});

/** The seed's response body, as published (840 bytes). */
const SEED_BODY = `{
  "guid": "guid-44f7c078-0934-470f-9883-4fcddc5b8f13",
  "type": "bits",
  "data": {
    "hash": {
      "type": "sha1",
      "value": null
    },
    "error": null
  },
  "state": "AWAITING_UPLOAD",
  "created_at": "2015-11-13T17:02:56Z",
  "updated_at": null,
  "links": {
    "self": {
      "href": "/v3/packages/guid-44f7c078-0934-470f-9883-4fcddc5b8f13"
    },
    "upload": {
      "href": "/v3/packages/guid-44f7c078-0934-470f-9883-4fcddc5b8f13/upload",
      "method": "POST"
    },
    "download": {
      "href": "/v3/packages/guid-44f7c078-0934-470f-9883-4fcddc5b8f13/download",
      "method": "GET"
    },
    "stage": {
      "href": "/v3/packages/guid-44f7c078-0934-470f-9883-4fcddc5b8f13/droplets",
      "method": "POST"
    },
    "app": {
      "href": "/v3/apps/guid-1d3bf0ec-5806-43c4-b64e-8364dba1086a"
    }
  }
}`;
const SEED_HEADERS = {
  "X-Frame-Options": "SAMEORIGIN",
  "X-XSS-Protection": "1; mode=block",
  "X-Content-Type-Options": "nosniff",
  "Content-Type": "application/json; charset=utf-8",
};

/** The seed's body with the contract's additions, in the contract's key order. */
function expectedBody(packageGuid: string, appGuid: string, createdAt: string): string {
  const seed = JSON.parse(SEED_BODY.replaceAll("guid-44f7c078-0934-470f-9883-4fcddc5b8f13", packageGuid)
    .replaceAll("guid-1d3bf0ec-5806-43c4-b64e-8364dba1086a", appGuid)
    .replace("2015-11-13T17:02:56Z", createdAt)) as Record<string, unknown> & { data: Record<string, unknown> };
  return JSON.stringify({
    guid: seed.guid,
    type: seed.type,
    data: { hash: seed.data.hash, checksum: { type: "sha256", value: null }, error: seed.data.error },
    state: seed.state,
    created_at: seed.created_at,
    updated_at: seed.updated_at,
    relationships: { app: { data: { guid: appGuid } } },
    metadata: { labels: {}, annotations: {} },
    links: seed.links,
  }, null, 2);
}

describe("the seed: GET /v3/packages/:guid", () => {
  it("matches the seed field for field, in order, with the seed's headers", async () => {
    const created = await createBits(w.A.guid);
    const res = await get(`/v3/packages/${created.guid}`, await adminAuth());
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toBe(expectedBody(created.guid, w.A.guid, created.created_at));
    for (const [name, value] of Object.entries(SEED_HEADERS)) expect(res.headers.get(name), name).toBe(value);
    expect(res.headers.get("X-Runtime")).toMatch(/^\d+\.\d+$/);
    expect(res.headers.get("Content-Length")).toBe(String(new TextEncoder().encode(text).length));
  });

  it("the seed's own package, without the contract's additions, renders to the seed's 840 bytes", () => {
    const row: Package = {
      id: 1, guid: "guid-44f7c078-0934-470f-9883-4fcddc5b8f13", appGuid: "guid-1d3bf0ec-5806-43c4-b64e-8364dba1086a",
      type: "bits", state: "AWAITING_UPLOAD", bitsKey: null, bitsSize: null, sha1: null, sha256: null, error: null,
      dockerImage: null, dockerUsername: null, dockerPassword: null, dockerPasswordIv: null, dockerPasswordKeyLabel: null, pooledAt: null,
      createdAt: "2015-11-13T17:02:56Z", updatedAt: null,
    };
    const { relationships: _r, metadata: _m, data, ...rest } = presentPackage(row);
    const { checksum: _c, ...seedData } = data as { hash: unknown; checksum: unknown; error: unknown };
    const { guid, type, state, created_at, updated_at, links } = rest;
    const text = JSON.stringify({ guid, type, data: seedData, state, created_at, updated_at, links }, null, 2);
    expect(text).toBe(SEED_BODY);
    expect(new TextEncoder().encode(text).length).toBe(840);
  });

  it("C79 X-VCAP-Request-ID is set (and a client's id is cleaned and kept); X-USER-GUID names the token's user", async () => {
    const pkg = await createBits(w.A.guid);
    const res = await get(`/v3/packages/${pkg.guid}`, await adminAuth("seed-user"), { "X-VCAP-Request-ID": "abc$%def" });
    expect(res.headers.get("X-VCAP-Request-ID")).toMatch(/^abcdef::[0-9a-f-]{36}$/);
    expect(res.headers.get("X-USER-GUID")).toBe("seed-user");
  });

  it("C80 PUT /v3/packages/:guid is an unknown request", async () => {
    const pkg = await createBits(w.A.guid);
    const res = await call("PUT", `/v3/packages/${pkg.guid}`, { body: {} });
    expect(res.status).toBe(404);
    expect(await v3Error(res)).toEqual({ detail: "Unknown request", title: "CF-NotFound", code: 10000 });
  });
});

describe("staging and resource matches", () => {
  it("POST /v3/packages/:guid/droplets (the stage link) is 422: staging is not available here", async () => {
    const pkg = await createBits(w.A.guid);
    const res = await call("POST", `/v3/packages/${pkg.guid}/droplets`, { auth: await adminAuth(), body: {} });
    expect(res.status).toBe(422);
    const error = await v3Error(res);
    expect(error.title).toBe("CF-UnprocessableEntity");
    expect(error.detail).toMatch(/^Staging is not available here/);
    expect((await call("POST", "/v3/packages/nope/droplets", { auth: await adminAuth(), body: {} })).status).toBe(404);
  });

  it("POST /v3/resource_matches answers 201 with no resources for a file the pool cannot hold; bad input is an error", async () => {
    const res = await call("POST", "/v3/resource_matches", {
      auth: await adminAuth(),
      body: { resources: [{ path: "app.rb", mode: "644", checksum: { value: "2f6b0a8b5e7b8f8a0e1d7d1a8d9b6f3c4e5a6b7c" }, size_in_bytes: 311 }] },
    });
    expect(res.status).toBe(201);
    expect(await jsonOf(res)).toEqual({ resources: [] });
    const bad = await call("POST", "/v3/resource_matches", { auth: await adminAuth(), body: { resources: "x" } });
    expect(bad.status).toBe(422);
    expect((await call("POST", "/v3/resource_matches", { auth: await auths.readOnly(), body: { resources: [] } })).status).toBe(403);
    expect((await call("POST", "/v3/resource_matches", { body: { resources: [] } })).status).toBe(401);
  });

  it("POST /v3/resource_matches: an element that is not a resource object is 422 in the reference's words, not zod's", async () => {
    const auth = await adminAuth();
    for (const resources of [[1], [null], [true], [""], [[]]]) {
      const res = await call("POST", "/v3/resource_matches", { auth, body: { resources } });
      expect(res.status, JSON.stringify(resources)).toBe(422);
      expect(await v3Error(res), JSON.stringify(resources))
        .toEqual({ detail: "Resources must be an array of resource objects", title: "CF-UnprocessableEntity", code: 10008 });
    }
  });
});

describe("the cf CLI's package flow (cf push: app lookup to package READY, then a download)", () => {
  it("app lookup by name, resource matches, create, upload (resources + bits 'package.zip', exact Content-Length), poll until READY, download the same bytes", async () => {
    const auth = await auths.admin();
    // 3. The app by name in the targeted space.
    const lookup = await get(`/v3/apps?names=${encodeURIComponent(w.A.name)}&space_guids=${w.S.guid}`, auth);
    expect(lookup.status).toBe(200);
    const apps = await jsonOf<{ resources: { guid: string; name: string }[] }>(lookup);
    expect(apps.resources.map((a) => a.guid)).toEqual([w.A.guid]);
    const appGuid = apps.resources[0]!.guid;

    // 4. Resource matching: nothing matches, so every file goes into the zip.
    const zip = await appZip("puts 'pushed by the cli'\n");
    const matches = await call("POST", "/v3/resource_matches", {
      auth,
      body: { resources: [{ path: "app.rb", mode: "644", checksum: { value: await digestHex("SHA-1", new TextEncoder().encode("x")) }, size_in_bytes: 25 }] },
    });
    expect(matches.status).toBe(201);
    const matched = await jsonOf<{ resources: unknown[] }>(matches);

    // 5. Create the package.
    const createRes = await call("POST", "/v3/packages", { auth, body: { relationships: { app: { data: { guid: appGuid } } }, type: "bits" } });
    expect(createRes.status).toBe(201);
    const created = await jsonOf<PackageJson>(createRes);
    expect(created.state).toBe("AWAITING_UPLOAD");

    // 6. Upload: the matched resources (re-encoded) and the zip, with an exact Content-Length.
    const { body, contentType } = multipart([
      { name: "resources", data: JSON.stringify(matched.resources) },
      bitsPart(zip, "package.zip"),
    ]);
    const uploadRes = await call("POST", `/v3/packages/${created.guid}/upload`, {
      auth, body, headers: { "Content-Type": contentType, "Content-Length": String(body.length) },
    });
    expect(uploadRes.status).toBe(200);
    const uploaded = await jsonOf<PackageJson>(uploadRes);
    expect(uploaded.guid).toBe(created.guid);
    expect(typeof uploaded.state).toBe("string");

    // 7. Poll from the package the CLI kept until READY, FAILED or EXPIRED.
    let polled = created;
    for (let i = 0; i < 20 && !["READY", "FAILED", "EXPIRED"].includes(polled.state); i++) {
      polled = await jsonOf<PackageJson>(await get(`/v3/packages/${created.guid}`, auth));
    }
    expect(polled.state).toBe("READY");
    expect(polled.data.checksum).toEqual({ type: "sha256", value: await digestHex("SHA-256", zip) });

    // `cf packages APP`
    const listed = await jsonOf<{ resources: PackageJson[] }>(await get(`/v3/packages?app_guids=${appGuid}&order_by=-created_at`, auth));
    expect(listed.resources[0]!.guid).toBe(created.guid);

    // The same bytes back.
    const download = await get(`/v3/packages/${created.guid}/download`, auth);
    expect(download.status).toBe(200);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(zip);
  });
});
