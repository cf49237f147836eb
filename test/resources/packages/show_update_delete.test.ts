// GET, PATCH and DELETE /v3/packages/:guid (PackagesController#show, #update, #destroy, cases C55-C67).
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, get, jsonOf, v3Error, waitForJob } from "../../helpers/api";
import { auditEventInsert } from "../../../src/audit/events";
import { database } from "../../../src/db/client";
import { deletePackageRecord } from "../../../src/resources/packages/store";
import { adminAuth, auths } from "../../helpers/tokens";
import { makeWorld } from "../../helpers/world";
import { createBits, createDocker, getPackage, packageKeys, readyBitsPackage, type PackageJson } from "./helpers";

let w: Awaited<ReturnType<typeof makeWorld>>;
beforeAll(async () => {
  w = await makeWorld();
});

const NOT_AUTHORIZED = { detail: "You are not authorized to perform the requested action", title: "CF-NotAuthorized", code: 10003 };
const PACKAGE_NOT_FOUND = { detail: "Package not found", title: "CF-ResourceNotFound", code: 10010 };

async function patch(guid: string, body: unknown, auth?: string) {
  return call("PATCH", `/v3/packages/${guid}`, { auth: auth ?? (await adminAuth()), body });
}

async function metadataRows(guid: string): Promise<number> {
  const labels = await env.DB.prepare("SELECT count(*) AS n FROM labels WHERE resource_guid = ?").bind(guid).first<{ n: number }>();
  const annotations = await env.DB.prepare("SELECT count(*) AS n FROM annotations WHERE resource_guid = ?").bind(guid).first<{ n: number }>();
  return (labels?.n ?? 0) + (annotations?.n ?? 0);
}

describe("show", () => {
  it("C55 role matrix: admin, admin_read_only, global_auditor 200 with the full shape; no role 404", async () => {
    const pb = await createBits(w.A.guid);
    for (const auth of [await auths.admin(), await auths.adminReadOnly(), await auths.globalAuditor()]) {
      expect(await getPackage(pb.guid, auth)).toEqual(pb);
    }
    expect(pb.state).toBe("AWAITING_UPLOAD");
    const res = await get(`/v3/packages/${pb.guid}`, await auths.noRole());
    expect(res.status).toBe(404);
    expect(await v3Error(res)).toEqual(PACKAGE_NOT_FOUND);
  });

  it("C56 an unknown guid is 404; a write-only token is 403", async () => {
    const res = await get("/v3/packages/made-up-guid", await adminAuth());
    expect(res.status).toBe(404);
    expect(await v3Error(res)).toEqual(PACKAGE_NOT_FOUND);
    const pb = await createBits(w.A.guid);
    const writeOnly = await get(`/v3/packages/${pb.guid}`, await auths.writeOnly());
    expect(writeOnly.status).toBe(403);
    expect(await v3Error(writeOnly)).toEqual(NOT_AUTHORIZED);
  });
});

describe("update", () => {
  it("C57 labels and annotations are set; a metadata-only change leaves updated_at alone", async () => {
    const pb = await createBits(w.A.guid);
    const res = await patch(pb.guid, { metadata: { labels: { release: "stable", "seriouseats.com/potato": "mashed" }, annotations: { checksum: "SHA" } } });
    expect(res.status).toBe(200);
    const body = await jsonOf<PackageJson>(res);
    expect(body.metadata).toEqual({ labels: { release: "stable", "seriouseats.com/potato": "mashed" }, annotations: { checksum: "SHA" } });
    expect(body.updated_at).toBeNull();
  });

  it("C58 existing keys are merged", async () => {
    const pb = await createBits(w.A.guid);
    await patch(pb.guid, { metadata: { labels: { fruit: "pears", truck: "hino" }, annotations: { potato: "celandine", beet: "formanova" } } });
    const body = await jsonOf<PackageJson>(await patch(pb.guid, { metadata: { labels: { fruit: "passionfruit" }, annotations: { potato: "adora" } } }));
    expect(body.metadata).toEqual({ labels: { fruit: "passionfruit", truck: "hino" }, annotations: { potato: "adora", beet: "formanova" } });
  });

  it("C59 null deletes a key; {} changes nothing", async () => {
    const pb = await createBits(w.A.guid);
    await patch(pb.guid, { metadata: { labels: { fruit: "pears", truck: "hino" }, annotations: { potato: "celandine", beet: "formanova" } } });
    expect((await jsonOf<PackageJson>(await patch(pb.guid, { metadata: { labels: { fruit: null } } }))).metadata.labels).toEqual({ truck: "hino" });
    expect((await jsonOf<PackageJson>(await patch(pb.guid, { metadata: { annotations: { potato: null } } }))).metadata.annotations).toEqual({ beet: "formanova" });
    const res = await patch(pb.guid, {});
    expect(res.status).toBe(200);
    expect((await jsonOf<PackageJson>(res)).guid).toBe(pb.guid);
  });

  it("C60 an unknown field is 422 (before the lookup); an unknown package is 404", async () => {
    const pb = await createBits(w.A.guid);
    const res = await patch(pb.guid, { metadata: { labels: { a: "b" } }, animals: "Cows" });
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toContain("Unknown field(s): 'animals'");
    const invalidAndMissing = await patch("no-such", { animals: "Cows" });
    expect(invalidAndMissing.status).toBe(422);
    const missing = await patch("no-such", { metadata: { labels: { a: "b" } } });
    expect(missing.status).toBe(404);
    expect(await v3Error(missing)).toEqual(PACKAGE_NOT_FOUND);
  });

  it("C61 a reserved label prefix and an over-long annotation value are 422", async () => {
    const pb = await createBits(w.A.guid);
    const reserved = await patch(pb.guid, { metadata: { labels: { "cloudfoundry.org/label": "value" } } });
    expect(reserved.status).toBe(422);
    expect((await v3Error(reserved)).detail).toMatch(/label [\w\s]+ error/);
    const long = await patch(pb.guid, { metadata: { annotations: { key: "x".repeat(15000) } } });
    expect(long.status).toBe(422);
    expect((await v3Error(long)).detail).toMatch(/is greater than 5000 characters/);
    expect(await metadataRows(pb.guid)).toBe(0);
  });

  it("metadata values that are not strings are 422 and change nothing; null still deletes", async () => {
    const pb = await createBits(w.A.guid);
    await patch(pb.guid, { metadata: { labels: { fruit: "pears" }, annotations: { potato: "idaho" } } });
    for (const [metadata, detail] of [
      [{ labels: { fruit: null, n: 1.5 } }, "Metadata label value error: value must be a string"],
      [{ annotations: { potato: null, b: 1.5, on: false } }, "Metadata annotation value error: value must be a string"],
    ] as const) {
      const res = await patch(pb.guid, { metadata });
      expect(res.status).toBe(422);
      expect((await v3Error(res)).detail).toBe(detail);
    }
    expect((await getPackage(pb.guid)).metadata).toEqual({ labels: { fruit: "pears" }, annotations: { potato: "idaho" } });
    const res = await patch(pb.guid, { metadata: { labels: { fruit: null }, annotations: { potato: null } } });
    expect((await jsonOf<PackageJson>(res)).metadata).toEqual({ labels: {}, annotations: {} });
  });

  it("C62 (default limit of 200 annotations) growing past the limit is 422 AnnotationLimitExceeded", async () => {
    const pb = await createBits(w.A.guid);
    const full = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, "v"]));
    expect((await patch(pb.guid, { metadata: { annotations: full } })).status).toBe(200);
    const res = await patch(pb.guid, { metadata: { annotations: { radish: "daikon", potato: "idaho" } } });
    expect(res.status).toBe(422);
    const error = await v3Error(res);
    expect(error.title).toBe("CF-AnnotationLimitExceeded");
    expect(error.detail).toMatch(/exceed maximum of 200/);
  });

  it("C63 docker credentials: 422 on a bits package, 200 on a docker package (password shown as ***)", async () => {
    const pb = await createBits(w.A.guid);
    const refused = await patch(pb.guid, { username: "Walz", password: "Absolutely secret" });
    expect(refused.status).toBe(422);
    expect((await v3Error(refused)).detail).toBe("Cannot update Docker credentials for a buildpack app.");
    // Checked before write permission, as the reference's PackagesController#update does.
    const beforeWrite = await patch(pb.guid, { username: "Walz" }, await auths.adminReadOnly());
    expect(beforeWrite.status).toBe(422);

    const pd = await createDocker(w.D.guid);
    const res = await patch(pd.guid, { username: "Walz", password: "Absolutely secret" });
    expect(res.status).toBe(200);
    const body = await jsonOf<PackageJson>(res);
    expect(body.data).toEqual({ image: "registry/image:latest", username: "Walz", password: "***" });
    expect(body.updated_at).not.toBeNull();
    expect(JSON.stringify(body)).not.toContain("Absolutely secret");
    // Stored, encrypted (test/packages/docker_credentials.test.ts).
    const stored = await env.DB.prepare("SELECT docker_password, docker_password_key_label FROM packages WHERE guid = ?").bind(pd.guid).first<{ docker_password: string; docker_password_key_label: string }>();
    expect(stored?.docker_password).not.toContain("Absolutely secret");
    expect(stored?.docker_password_key_label).toBe(env.DB_ENCRYPTION_CURRENT_KEY_LABEL);
    const wrongType = await patch(pd.guid, { username: 5 });
    expect(wrongType.status).toBe(422);
    expect((await v3Error(wrongType)).detail).toBe("Username must be a string");
  });

  it("C64 role matrix: admin 200; admin_read_only and global_auditor 403; no role 404", async () => {
    const pb = await createBits(w.A.guid);
    const body = { metadata: { labels: { a: "b" } } };
    expect((await patch(pb.guid, body)).status).toBe(200);
    for (const auth of [await auths.adminReadOnly(), await auths.globalAuditor()]) {
      const res = await patch(pb.guid, body, auth);
      expect(res.status).toBe(403);
      expect(await v3Error(res)).toEqual(NOT_AUTHORIZED);
    }
    const res = await patch(pb.guid, body, await auths.noRole());
    expect(res.status).toBe(404);
  });
});

describe("delete", () => {
  it("C65 202 with a job; the job deletes the package and records the audit event", async () => {
    const pb = await createBits(w.A.guid);
    const res = await call("DELETE", `/v3/packages/${pb.guid}`, { auth: await adminAuth() });
    expect(res.status).toBe(202);
    expect(await res.text()).toBe("");
    const location = res.headers.get("Location")!;
    expect(location).toMatch(/^https?:\/\/.+\/v3\/jobs\/[a-fA-F0-9-]+$/);
    const job = await waitForJob(location, await adminAuth());
    expect(job.operation).toBe("package.delete");
    expect(job.state).toBe("COMPLETE");
    expect((await get(`/v3/packages/${pb.guid}`, await adminAuth())).status).toBe(404);
    const event = await env.DB.prepare("SELECT * FROM audit_events WHERE type = 'audit.app.package.delete' AND data = ?")
      .bind(JSON.stringify({ package_guid: pb.guid })).first<Record<string, string>>();
    expect(event?.actee_guid).toBe(w.A.guid);
    expect(event?.actee_name).toBe(w.A.name);
  });

  it("C66 the package's labels and annotations go with it", async () => {
    const pb = await createBits(w.A.guid);
    await patch(pb.guid, { metadata: { labels: { a: "b" }, annotations: { c: "d" } } });
    expect(await metadataRows(pb.guid)).toBe(2);
    const res = await call("DELETE", `/v3/packages/${pb.guid}`, { auth: await adminAuth() });
    await waitForJob(res.headers.get("Location")!, await adminAuth());
    expect(await metadataRows(pb.guid)).toBe(0);
  });

  it("C67 role matrix: admin 202; admin_read_only and global_auditor 403; no role 404; unknown 404; read-only token 403", async () => {
    const pb = await createBits(w.A.guid);
    for (const auth of [await auths.adminReadOnly(), await auths.globalAuditor()]) {
      const res = await call("DELETE", `/v3/packages/${pb.guid}`, { auth });
      expect(res.status).toBe(403);
      expect(await v3Error(res)).toEqual(NOT_AUTHORIZED);
    }
    expect((await call("DELETE", `/v3/packages/${pb.guid}`, { auth: await auths.noRole() })).status).toBe(404);
    expect((await call("DELETE", `/v3/packages/${pb.guid}`, { auth: await auths.readOnly() })).status).toBe(403);
    const unknown = await call("DELETE", "/v3/packages/nono", { auth: await adminAuth() });
    expect(unknown.status).toBe(404);
    expect(await v3Error(unknown)).toEqual(PACKAGE_NOT_FOUND);
    expect((await call("DELETE", `/v3/packages/${pb.guid}`, { auth: await adminAuth() })).status).toBe(202);
  });

  it("deleting a READY package deletes its bits from R2", async () => {
    const ready = await readyBitsPackage(w.A2.guid);
    expect(await packageKeys(ready.guid)).toHaveLength(1);
    const res = await call("DELETE", `/v3/packages/${ready.guid}`, { auth: await adminAuth() });
    expect((await waitForJob(res.headers.get("Location")!, await adminAuth())).state).toBe("COMPLETE");
    expect(await packageKeys(ready.guid)).toEqual([]);
  });

  it("a second delete of a package already gone records no second audit event", async () => {
    const pb = await createBits(w.A.guid);
    const db = database(env.DB);
    const who = { guid: "admin-user", isClient: false, scopes: new Set<string>(), email: null, userName: null };
    const event = () => auditEventInsert(db, { type: "audit.app.package.delete", actor: who, actee: { guid: w.A.guid, type: "app", name: w.A.name }, data: { package_guid: pb.guid } });
    expect((await deletePackageRecord(db, pb.guid, [event()])).deleted).toBe(true);
    expect((await deletePackageRecord(db, pb.guid, [event()])).deleted).toBe(false);
    const events = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE type = 'audit.app.package.delete' AND data = ?")
      .bind(JSON.stringify({ package_guid: pb.guid })).first<{ n: number }>();
    expect(events?.n).toBe(1);
  });
});
