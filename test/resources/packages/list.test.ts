// GET /v3/packages and GET /v3/apps/:guid/packages (PackagesListMessage, cases C31-C54).
// Each test starts from no packages, so counts and pagination links are exact.
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { call, get, jsonOf, v3Error, waitForJob } from "../../helpers/api";
import { adminAuth, auths, bearer } from "../../helpers/tokens";
import { makeWorld } from "../../helpers/world";
import { clearPackages, createBits, createDocker, H, type ListJson, type PackageJson } from "./helpers";
import { makeApp, makeSpace } from "../../helpers/fixtures";

let w: Awaited<ReturnType<typeof makeWorld>>;
beforeAll(async () => {
  w = await makeWorld();
});
beforeEach(clearPackages);

async function list(path: string, auth?: string): Promise<ListJson> {
  const res = await get(path, auth ?? (await adminAuth()));
  expect(res.status, path).toBe(200);
  return jsonOf<ListJson>(res);
}

async function badQuery(path: string): Promise<string> {
  const res = await get(path, await adminAuth());
  expect(res.status, path).toBe(400);
  const error = await v3Error(res);
  expect(error.title).toBe("CF-BadQueryParameter");
  expect(error.code).toBe(10005);
  return error.detail;
}

const setColumn = (guid: string, column: "state" | "created_at" | "updated_at" | "guid", value: string) =>
  env.DB.prepare(`UPDATE packages SET ${column} = ? WHERE guid = ?`).bind(value, guid).run();

const guidsOf = (l: ListJson) => l.resources.map((p) => p.guid);
const single = (href: string) => ({ total_results: 0, total_pages: 1, first: { href }, last: { href }, next: null, previous: null });

describe("GET /v3/packages", () => {
  it("C31 types=bits: only bits packages, with the reference's pagination links", async () => {
    const a1 = await createBits(w.A.guid);
    const a2 = await createBits(w.A.guid);
    await createDocker(w.D.guid);
    const b = await createBits(w.A2.guid);
    const body = await list("/v3/packages?types=bits");
    expect(guidsOf(body)).toEqual([a1.guid, a2.guid, b.guid]);
    expect(body.resources.every((p) => p.type === "bits")).toBe(true);
    expect(body.pagination).toEqual({ ...single(`${H}/v3/packages?page=1&per_page=50&types=bits`), total_results: 3 });
  });

  it("C32 states=PROCESSING_UPLOAD", async () => {
    const p = await createBits(w.A.guid);
    await createBits(w.A.guid);
    await setColumn(p.guid, "state", "PROCESSING_UPLOAD");
    const body = await list("/v3/packages?states=PROCESSING_UPLOAD");
    expect(guidsOf(body)).toEqual([p.guid]);
    expect(body.pagination.first.href).toBe(`${H}/v3/packages?page=1&per_page=50&states=PROCESSING_UPLOAD`);
  });

  it("C33 app_guids=A,A2", async () => {
    const a = await createBits(w.A.guid);
    const a2 = await createBits(w.A2.guid);
    await createBits(w.B.guid);
    const body = await list(`/v3/packages?app_guids=${w.A.guid},${w.A2.guid}`);
    expect(guidsOf(body)).toEqual([a.guid, a2.guid]);
    expect(body.pagination.first.href).toBe(`${H}/v3/packages?app_guids=${w.A.guid}%2C${w.A2.guid}&page=1&per_page=50`);
  });

  it("C34 guids=g1,g2", async () => {
    const g1 = await createBits(w.A.guid);
    const g2 = await createBits(w.A.guid);
    await createBits(w.A.guid);
    const body = await list(`/v3/packages?guids=${g1.guid},${g2.guid}`);
    expect(guidsOf(body)).toEqual([g1.guid, g2.guid]);
    expect(body.pagination.first.href).toBe(`${H}/v3/packages?guids=${g1.guid}%2C${g2.guid}&page=1&per_page=50`);
  });

  it("C35 space_guids=S2,S", async () => {
    const s = await createBits(w.A.guid);
    const s2 = await createBits(w.B.guid);
    await createBits(w.C.guid);
    const body = await list(`/v3/packages?space_guids=${w.S2.guid},${w.S.guid}`);
    expect(guidsOf(body)).toEqual([s.guid, s2.guid]);
    expect(body.pagination.first.href).toBe(`${H}/v3/packages?page=1&per_page=50&space_guids=${w.S2.guid}%2C${w.S.guid}`);
  });

  it("C36 organization_guids=O,O3", async () => {
    const inO = await createBits(w.A.guid);
    const inO3 = await createBits(w.C.guid);
    const body = await list(`/v3/packages?organization_guids=${w.O.guid},${w.O3.guid}`);
    expect(guidsOf(body)).toEqual([inO.guid, inO3.guid]);
    expect(guidsOf(await list(`/v3/packages?organization_guids=${w.O3.guid}`))).toEqual([inO3.guid]);
    expect(body.pagination.first.href).toBe(`${H}/v3/packages?organization_guids=${w.O.guid}%2C${w.O3.guid}&page=1&per_page=50`);
  });

  it("C37 label_selector=fruit=strawberry", async () => {
    const labelled = await createBits(w.A.guid);
    await createBits(w.A.guid);
    const patch = await call("PATCH", `/v3/packages/${labelled.guid}`, { auth: await adminAuth(), body: { metadata: { labels: { fruit: "strawberry" } } } });
    expect(patch.status).toBe(200);
    const body = await list("/v3/packages?label_selector=fruit=strawberry");
    expect(guidsOf(body)).toEqual([labelled.guid]);
    expect(body.pagination.first.href).toBe(`${H}/v3/packages?label_selector=fruit%3Dstrawberry&page=1&per_page=50`);
    expect(guidsOf(await list("/v3/packages?label_selector=fruit!=strawberry"))).toHaveLength(1);
    expect(await badQuery("/v3/packages?label_selector=")).toBe("The query parameter is invalid: Missing label_selector value");
  });

  it("C38 created_ats[lt] and updated_ats[lt] (updated_at is the creation time until a change)", async () => {
    const made: PackageJson[] = [];
    for (let i = 1; i <= 4; i++) {
      const p = await createBits(w.A.guid);
      await setColumn(p.guid, "created_at", `2020-05-26T18:47:0${i}Z`);
      made.push(p);
    }
    expect(guidsOf(await list("/v3/packages?created_ats[lt]=2020-05-26T18:47:03Z"))).toEqual([made[0]!.guid, made[1]!.guid]);
    // Never updated: their updated_at (null) counts as their creation time.
    expect(guidsOf(await list("/v3/packages?updated_ats[lt]=2020-05-26T18:47:03Z"))).toEqual([made[0]!.guid, made[1]!.guid]);
    await setColumn(made[0]!.guid, "updated_at", "2020-05-26T18:47:09Z");
    expect(guidsOf(await list("/v3/packages?updated_ats[lt]=2020-05-26T18:47:03Z"))).toEqual([made[1]!.guid]);
    expect(guidsOf(await list("/v3/packages?created_ats=2020-05-26T18:47:04Z,2020-05-26T18:47:01Z"))).toEqual([made[0]!.guid, made[3]!.guid]);
    expect(guidsOf(await list("/v3/packages?created_ats[gte]=2020-05-26T18:47:03Z"))).toEqual([made[2]!.guid, made[3]!.guid]);
  });

  it("C39 guids=1,2,4 with 1, 2 and 3 existing", async () => {
    for (const guid of ["1", "2", "3"]) await setColumn((await createBits(w.A.guid)).guid, "guid", guid);
    expect(guidsOf(await list("/v3/packages?guids=1,2,4"))).toEqual(["1", "2"]);
  });

  it("C40 every allowed parameter at once: 200", async () => {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const params = ["guids", "space_guids", "organization_guids", "app_guids", "states", "types"].map((k) => `${k}=foo,bar`).join("&");
    const body = await list(`/v3/packages?${params}&page=2&per_page=10&order_by=updated_at&label_selector=foo,bar&created_ats=${now},${now}&updated_ats[gt]=${now}`);
    expect(body.resources).toEqual([]);
  });

  it("C41 unknown query parameters: 400 listing them", async () => {
    const detail = await badQuery("/v3/packages?invalid=thing&bad=stuff");
    expect(detail).toMatch(/^The query parameter is invalid: Unknown query parameter\(s\): /);
    expect(detail).toContain("'invalid'");
    expect(detail).toContain("'bad'");
  });

  it("C42 per_page over 5000, per_page=0, page=0", async () => {
    expect(await badQuery("/v3/packages?per_page=9999999999")).toContain("Per page must be between 1 and 5000");
    expect(await badQuery("/v3/packages?per_page=0")).toBe("The query parameter is invalid: Per page must be a positive integer");
    expect(await badQuery("/v3/packages?page=0")).toBe("The query parameter is invalid: Page must be a positive integer");
  });

  it("C43 order_by=name", async () => {
    expect(await badQuery("/v3/packages?order_by=name")).toBe("The query parameter is invalid: Order by can only be: 'created_at', 'updated_at'");
  });

  it("C44 created_ats=yesterday", async () => {
    expect(await badQuery("/v3/packages?created_ats=yesterday")).toContain("has an invalid timestamp format");
  });

  it("C45 role matrix: admin, admin_read_only, global_auditor see both packages in full; a user without roles sees []", async () => {
    const pb = await createBits(w.A.guid);
    const pd = await createDocker(w.D.guid);
    for (const auth of [await auths.admin(), await auths.adminReadOnly(), await auths.globalAuditor()]) {
      const body = await list("/v3/packages?per_page=2", auth);
      expect(body.resources).toEqual([pb, pd]);
    }
    const none = await list("/v3/packages?per_page=2", await auths.noRole());
    expect(none.resources).toEqual([]);
    expect(none.pagination.total_results).toBe(0);
  });

  it("C46 per_page=1 with two packages: two pages and a next link", async () => {
    const first = await createBits(w.A.guid);
    await createBits(w.A.guid);
    const body = await list("/v3/packages?per_page=1");
    expect(guidsOf(body)).toEqual([first.guid]);
    expect(body.pagination).toEqual({
      total_results: 2,
      total_pages: 2,
      first: { href: `${H}/v3/packages?page=1&per_page=1` },
      last: { href: `${H}/v3/packages?page=2&per_page=1` },
      next: { href: `${H}/v3/packages?page=2&per_page=1` },
      previous: null,
    });
    const beyond = await list("/v3/packages?per_page=1&page=3");
    expect(beyond.resources).toEqual([]);
    expect(beyond.pagination.previous).toEqual({ href: `${H}/v3/packages?page=2&per_page=1` });
  });

  it("C47 a token with no scopes: 403", async () => {
    const res = await get("/v3/packages", await bearer({ scopes: [] }));
    expect(res.status).toBe(403);
    expect((await v3Error(res)).title).toBe("CF-NotAuthorized");
  });

  it("order_by=-created_at and order_by=updated_at", async () => {
    const p1 = await createBits(w.A.guid);
    const p2 = await createBits(w.A.guid);
    await setColumn(p1.guid, "created_at", "2020-01-01T00:00:00Z");
    await setColumn(p2.guid, "created_at", "2020-01-01T01:00:00Z");
    expect(guidsOf(await list("/v3/packages?order_by=-created_at"))).toEqual([p2.guid, p1.guid]);
    await setColumn(p2.guid, "updated_at", "2019-01-01T00:00:00Z");
    const byUpdate = await list("/v3/packages?order_by=updated_at");
    expect(guidsOf(byUpdate)).toEqual([p2.guid, p1.guid]);
    expect(byUpdate.pagination.first.href).toBe(`${H}/v3/packages?order_by=%2Bupdated_at&page=1&per_page=50`);
  });

  it("app_guid= makes it the app's list (as PackagesController#index does): links under /v3/apps, 404 for an unknown app", async () => {
    const a = await createBits(w.A.guid);
    await createBits(w.A2.guid);
    const body = await list(`/v3/packages?app_guid=${w.A.guid}`);
    expect(guidsOf(body)).toEqual([a.guid]);
    expect(body.pagination.first.href).toBe(`${H}/v3/apps/${w.A.guid}/packages?page=1&per_page=50`);
    const missing = await get("/v3/packages?app_guid=nope", await adminAuth());
    expect(missing.status).toBe(404);
    expect((await v3Error(missing)).detail).toBe("App not found");
  });
});

describe("the unfiltered list's total (kept by triggers, migrations/0002_row_counts.sql)", () => {
  const rows = async () => (await env.DB.prepare("SELECT count(*) AS n FROM packages").first<{ n: number }>())!.n;
  const total = async () => (await list("/v3/packages?per_page=1")).pagination.total_results;
  const filteredTotal = async () => (await list("/v3/packages?per_page=1&types=bits,docker")).pagination.total_results;

  it("follows creates, copies, deletes, and the deletes of an app's and a space's packages", async () => {
    const auth = await adminAuth();
    const expectTotal = async (n: number) => {
      expect(await rows()).toBe(n);
      expect(await total()).toBe(n);
      expect(await filteredTotal()).toBe(n); // the counted path agrees
    };
    await expectTotal(0);
    const space = await makeSpace({ orgGuid: w.O.guid });
    const app = await makeApp({ spaceGuid: space.guid });
    const other = await makeApp({ spaceGuid: space.guid });
    const docker = await makeApp({ spaceGuid: space.guid, lifecycle: "docker" });
    const created = [await createBits(app.guid), await createBits(app.guid), await createDocker(w.D.guid), await createBits(other.guid)];
    await expectTotal(4);
    const copy = await call("POST", `/v3/packages?source_guid=${created[2]!.guid}`, { auth, body: { relationships: { app: { data: { guid: docker.guid } } } } });
    expect(copy.status, await copy.clone().text()).toBe(201);
    await expectTotal(5);
    const deleted = await call("DELETE", `/v3/packages/${created[0]!.guid}`, { auth });
    expect(deleted.status).toBe(202);
    expect((await waitForJob(deleted.headers.get("location")!, auth)).state).toBe("COMPLETE");
    await expectTotal(4);
    const appDeleted = await call("DELETE", `/v3/apps/${app.guid}`, { auth });
    expect((await waitForJob(appDeleted.headers.get("location")!, auth)).state).toBe("COMPLETE");
    await expectTotal(3);
    const spaceDeleted = await call("DELETE", `/v3/spaces/${space.guid}`, { auth });
    expect((await waitForJob(spaceDeleted.headers.get("location")!, auth)).state).toBe("COMPLETE");
    await expectTotal(1);
  });

  it("is read only by the unfiltered list; a filter or a label selector counts the rows instead", async () => {
    await createBits(w.A.guid);
    await createBits(w.C.guid);
    // A count row that disagreed would show here: only the unfiltered admin list reads it.
    await env.DB.prepare("UPDATE row_counts SET n = n + 100 WHERE name = 'packages'").run();
    try {
      expect(await total()).toBe(102);
      expect(await filteredTotal()).toBe(2);
      expect((await list("/v3/packages?per_page=1&label_selector=!nope")).pagination.total_results).toBe(2);
    } finally {
      await env.DB.prepare("UPDATE row_counts SET n = n - 100 WHERE name = 'packages'").run();
    }
    expect(await total()).toBe(2);
  });
});

describe("GET /v3/apps/:guid/packages", () => {
  it("C48 order_by=-created_at with paging", async () => {
    const p1 = await createBits(w.A.guid);
    const p2 = await createBits(w.A.guid);
    await setColumn(p1.guid, "created_at", "2020-01-01T00:00:00Z");
    await setColumn(p2.guid, "created_at", "2020-01-01T01:00:00Z");
    const body = await list(`/v3/apps/${w.A.guid}/packages?page=1&per_page=2&order_by=-created_at`);
    expect(guidsOf(body)).toEqual([p2.guid, p1.guid]);
    const href = `${H}/v3/apps/${w.A.guid}/packages?order_by=-created_at&page=1&per_page=2`;
    expect(body.pagination).toEqual({ ...single(href), total_results: 2 });
  });

  it("C49 states=PROCESSING_UPLOAD", async () => {
    const p = await createBits(w.A.guid);
    await createBits(w.A.guid);
    const other = await createBits(w.A2.guid);
    await setColumn(p.guid, "state", "PROCESSING_UPLOAD");
    await setColumn(other.guid, "state", "PROCESSING_UPLOAD");
    const body = await list(`/v3/apps/${w.A.guid}/packages?states=PROCESSING_UPLOAD`);
    expect(guidsOf(body)).toEqual([p.guid]);
    expect(body.pagination.first.href).toBe(`${H}/v3/apps/${w.A.guid}/packages?page=1&per_page=50&states=PROCESSING_UPLOAD`);
  });

  it("C50 guids=g1,g2", async () => {
    const g1 = await createBits(w.A.guid);
    const g2 = await createBits(w.A.guid);
    const body = await list(`/v3/apps/${w.A.guid}/packages?guids=${g1.guid},${g2.guid}`);
    expect(guidsOf(body)).toEqual([g1.guid, g2.guid]);
    expect(body.pagination.first.href).toBe(`${H}/v3/apps/${w.A.guid}/packages?guids=${g1.guid}%2C${g2.guid}&page=1&per_page=50`);
  });

  it("C51 space_guids, app_guids, organization_guids are unknown here (checked before the app lookup)", async () => {
    for (const key of ["space_guids", "app_guids", "organization_guids"]) {
      expect(await badQuery(`/v3/apps/${w.A.guid}/packages?${key}=x`)).toContain(`Unknown query parameter(s): '${key}'`);
      expect(await badQuery(`/v3/apps/does-not-exist/packages?${key}=x`)).toContain(`Unknown query parameter(s): '${key}'`);
    }
  });

  it("C52 an app that does not exist: 404 App not found", async () => {
    const res = await get("/v3/apps/does-not-exist/packages", await adminAuth());
    expect(res.status).toBe(404);
    expect(await v3Error(res)).toEqual({ detail: "App not found", title: "CF-ResourceNotFound", code: 10010 });
  });

  it("C53 role matrix: admin, admin_read_only, global_auditor 200 with the package; no role 404", async () => {
    const pb = await createBits(w.A.guid);
    for (const auth of [await auths.admin(), await auths.adminReadOnly(), await auths.globalAuditor()]) {
      expect((await list(`/v3/apps/${w.A.guid}/packages`, auth)).resources).toEqual([pb]);
    }
    const res = await get(`/v3/apps/${w.A.guid}/packages`, await auths.noRole());
    expect(res.status).toBe(404);
    expect((await v3Error(res)).detail).toBe("App not found");
  });

  it("C54 created_ats[lt], updated_ats[lt] and guids, scoped to the app", async () => {
    const made: PackageJson[] = [];
    for (let i = 1; i <= 4; i++) {
      const p = await createBits(i === 4 ? w.A2.guid : w.A.guid);
      await setColumn(p.guid, "created_at", `2020-05-26T18:47:0${i === 4 ? 1 : i}Z`);
      made.push(p);
    }
    const base = `/v3/apps/${w.A.guid}/packages`;
    expect(guidsOf(await list(`${base}?created_ats[lt]=2020-05-26T18:47:03Z`))).toEqual([made[0]!.guid, made[1]!.guid]);
    expect(guidsOf(await list(`${base}?updated_ats[lt]=2020-05-26T18:47:03Z`))).toEqual([made[0]!.guid, made[1]!.guid]);
    expect(guidsOf(await list(`${base}?guids=${made[0]!.guid},${made[3]!.guid}`))).toEqual([made[0]!.guid]);
  });

  it("label_selector is accepted on the app's list (the reference accepts it, its docs omit it)", async () => {
    await createBits(w.A.guid);
    expect((await list(`/v3/apps/${w.A.guid}/packages?label_selector=!fruit`)).resources).toHaveLength(1);
  });
});
