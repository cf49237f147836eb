// What a client may store as metadata: annotation keys are checked whatever the value, and one
// resource's annotations stay within MAX_ANNOTATION_BYTES, so every list page it is on stays within
// D1's 2,000,000-byte value limit. Refused requests leave nothing behind (no metadata, no audit event).
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { database } from "../../src/db/client";
import { runBatch } from "../../src/db/batch";
import { ApiError } from "../../src/http/errors";
import { loadOneMetadata, MAX_ANNOTATION_BYTES, prepareMetadataPatch } from "../../src/metadata/store";
import { call, get, jsonOf, v3Error } from "../helpers/api";
import { makeApp } from "../helpers/fixtures";
import { adminAuth } from "../helpers/tokens";

type Metadata = { labels: Record<string, string>; annotations: Record<string, string> };
const appMetadata = async (guid: string, auth: string) => (await jsonOf<{ metadata: Metadata }>(await get(`/v3/apps/${guid}`, auth))).metadata;
const updateEvents = async (guid: string, auth: string) =>
  (await jsonOf<{ resources: unknown[] }>(await get(`/v3/audit_events?types=audit.app.update&target_guids=${guid}`, auth))).resources.length;

describe("annotation keys are checked whatever the value", () => {
  it.each([
    ["an empty key", "", "key cannot be empty string"],
    ["a key with spaces", "a b c", "'a b c' contains invalid characters"],
    ["the reserved prefix", "cloudfoundry.org/x", "prefix 'cloudfoundry.org' is reserved"],
    ["a 900,000-character key", "k".repeat(900_000), "'kkkkkkkk...' is greater than 63 characters"],
  ])("%s with an empty, blank or null value is 422 and stores nothing", async (_name, key, message) => {
    const auth = await adminAuth();
    const app = await makeApp();
    for (const value of ["", "  ", null]) {
      const res = await call("PATCH", `/v3/apps/${app.guid}`, { auth, body: { metadata: { annotations: { [key]: value } } } });
      expect(res.status).toBe(422);
      expect(await v3Error(res)).toMatchObject({ title: "CF-UnprocessableEntity", detail: `Metadata annotation key error: ${message}` });
    }
    expect(await appMetadata(app.guid, auth)).toEqual({ labels: {}, annotations: {} });
    expect(await updateEvents(app.guid, auth)).toBe(0);
  });
});

describe(`one resource's annotations take at most ${MAX_ANNOTATION_BYTES} bytes as stored`, () => {
  // 5,000 control characters: 30,000 bytes as stored JSON ("\u0001" each).
  const heavy = "\u0001".repeat(5000);
  const batch = (from: number, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`note${from + i}`, heavy]));

  it("patches that would pass the bound are 422 and leave the annotations as they were; every list still answers", async () => {
    const auth = await adminAuth();
    const app = await makeApp();
    expect((await call("PATCH", `/v3/apps/${app.guid}`, { auth, body: { metadata: { annotations: batch(0, 30) } } })).status).toBe(200);
    const refused = await call("PATCH", `/v3/apps/${app.guid}`, { auth, body: { metadata: { annotations: batch(30, 4) } } });
    expect(refused.status).toBe(422);
    expect(await v3Error(refused)).toMatchObject({
      title: "CF-UnprocessableEntity", detail: `Metadata annotations of one resource may not take more than ${MAX_ANNOTATION_BYTES} bytes`,
    });
    expect(Object.keys((await appMetadata(app.guid, auth)).annotations)).toHaveLength(30);
    expect(await updateEvents(app.guid, auth)).toBe(1);
    // Replacing values with ones of the same size, or deleting, is still allowed at the bound.
    expect((await call("PATCH", `/v3/apps/${app.guid}`, { auth, body: { metadata: { annotations: { ...batch(0, 3), note3: null } } } })).status).toBe(200);
    const list = await get(`/v3/apps?guids=${app.guid}`, auth);
    expect(list.status).toBe(200);
    expect(Object.keys((await jsonOf<{ resources: { metadata: Metadata }[] }>(list)).resources[0]!.metadata.annotations)).toHaveLength(29);
  });

  it("a create over the bound is 422 and creates nothing", async () => {
    const auth = await adminAuth();
    const name = `bounded-${crypto.randomUUID().slice(0, 8)}`;
    // 101 × 5,000 '"': about 1,010,000 bytes stored, in a body under the 1 MiB limit.
    const annotations = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`q${i}`, '"'.repeat(5000)]));
    const res = await call("POST", "/v3/stacks", { auth, body: { name, metadata: { annotations } } });
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toBe(`Metadata annotations of one resource may not take more than ${MAX_ANNOTATION_BYTES} bytes`);
    expect((await jsonOf<{ resources: unknown[] }>(await get(`/v3/stacks?names=${name}`, auth))).resources).toEqual([]);
  });

  it("two patches read before either writes cannot pass the bound together: the batch's guard refuses the second", async () => {
    const db = database(env.DB);
    const guid = crypto.randomUUID();
    const first = await prepareMetadataPatch(db, "app", guid, { annotations: batch(0, 20) });
    const second = await prepareMetadataPatch(db, "app", guid, { annotations: batch(20, 20) });
    await runBatch(db, first.statements).catch(first.rethrow);
    const refused = await runBatch(db, second.statements).catch(second.rethrow).then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(422);
    expect(Object.keys((await loadOneMetadata(db, "app", guid)).annotations)).toHaveLength(20);
  });
});
