// Labels and annotations in real D1: create, patch and delete statements run in one batch with the
// caller's own statement, count limits (also under a concurrent patch), chunking under D1's
// 100-parameter limit, loading for presentation, and hostile keys and values.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { stacks } from "../../src/db/schema";
import { ApiError } from "../../src/http/errors";
import { loadMetadata, loadOneMetadata, metadataCreateStatements, metadataDeleteStatements, parseMetadata, prepareMetadataPatch, presentMetadata, type MetadataUpdate } from "../../src/metadata";
import { runBatch, type Statement } from "../../src/db/batch";

const db = drizzle(env.DB);
const newGuid = () => crypto.randomUUID();

/** Every statement's SQL and parameters, as D1 receives them. */
const built = (statements: Statement[]) =>
  statements.map((s) => (s as unknown as { toSQL(): { sql: string; params: unknown[] } }).toSQL());

const rowCount = async (table: "labels" | "annotations", guid: string) =>
  (await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE resource_guid = ?`).bind(guid).first<{ n: number }>())!.n;

async function create(guid: string, metadata: MetadataUpdate, type: "app" | "space" = "app") {
  await runBatch(db, metadataCreateStatements(db, type, guid, metadata));
}

async function patch(guid: string, metadata: MetadataUpdate, limits?: { maxLabels: number; maxAnnotations: number }) {
  const p = await prepareMetadataPatch(db, "app", guid, metadata, limits);
  await runBatch(db, p.statements).catch(p.rethrow);
}

async function thrown(promise: Promise<unknown> | (() => unknown)): Promise<ApiError> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected an ApiError");
}

const many = (n: number, value: (i: number) => string | null = (i) => `v${i}`) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`key${i}`, value(i)]));

describe("create", () => {
  it("writes labels and annotations; null values are no-ops; keys render as prefix/name", async () => {
    const g = newGuid();
    await create(g, {
      labels: { release: "stable", "seriouseats.com/potato": "mashed", gone: null, empty: "" },
      annotations: { checksum: "SHA", "example.com/note": "a note", none: null },
    });
    expect(await loadOneMetadata(db, "app", g)).toEqual({
      labels: { release: "stable", "seriouseats.com/potato": "mashed", empty: "" },
      annotations: { checksum: "SHA", "example.com/note": "a note" },
    });
    // Stored split into prefix and name, the prefix "" when there is none.
    const rows = await env.DB.prepare("SELECT resource_type, key_prefix, key_name, value FROM labels WHERE resource_guid = ? ORDER BY rowid").bind(g).all();
    expect(rows.results).toEqual([
      { resource_type: "app", key_prefix: "", key_name: "release", value: "stable" },
      { resource_type: "app", key_prefix: "seriouseats.com", key_name: "potato", value: "mashed" },
      { resource_type: "app", key_prefix: "", key_name: "empty", value: "" },
    ]);
  });

  it("nothing to write gives no statements", () => {
    expect(metadataCreateStatements(db, "app", newGuid(), undefined)).toEqual([]);
    expect(metadataCreateStatements(db, "app", newGuid(), {})).toEqual([]);
    expect(metadataCreateStatements(db, "app", newGuid(), { labels: { a: null }, annotations: {} })).toEqual([]);
  });

  it("goes into one batch with the resource's own insert: both or neither", async () => {
    const g = newGuid();
    const name = `stack-${g}`;
    const insertStack = () => db.insert(stacks).values({ guid: g, name, createdAt: "2026-01-01T00:00:00Z" });
    // Typed for drizzle's own db.batch as well as for runBatch.
    await db.batch([insertStack(), ...metadataCreateStatements(db, "stack", g, { labels: { a: "b" } })]);
    expect(await loadOneMetadata(db, "stack", g)).toEqual({ labels: { a: "b" }, annotations: {} });

    // The same insert again fails (unique guid): the metadata of the failed batch is not written.
    const g2 = newGuid();
    const failing = db.insert(stacks).values({ guid: g2, name, createdAt: "2026-01-01T00:00:00Z" });
    await expect(runBatch(db, [...metadataCreateStatements(db, "stack", g2, { labels: { x: "y" }, annotations: { n: "1" } }), failing])).rejects.toThrow();
    expect(await rowCount("labels", g2)).toBe(0);
    expect(await rowCount("annotations", g2)).toBe(0);
  });

  it("50 labels and 200 annotations are allowed", async () => {
    const g = newGuid();
    await create(g, { labels: many(50), annotations: many(200) });
    const m = await loadOneMetadata(db, "app", g);
    expect(Object.keys(m.labels)).toHaveLength(50);
    expect(Object.keys(m.annotations)).toHaveLength(200);
  });

  it("51 labels: CF-LabelLimitExceeded; N counts every requested key, nulls included", async () => {
    const err = await thrown(() => metadataCreateStatements(db, "app", newGuid(), { labels: many(51) }));
    expect([err.status, err.code, err.title, err.detail]).toEqual([422, 390020, "CF-LabelLimitExceeded", "Failed to add 51 labels because it would exceed maximum of 50"]);
    const withNull = await thrown(() => metadataCreateStatements(db, "app", newGuid(), { labels: { ...many(51), extra: null } }));
    expect(withNull.detail).toBe("Failed to add 52 labels because it would exceed maximum of 50");
    // 50 set plus nulls is within the limit.
    expect(metadataCreateStatements(db, "app", newGuid(), { labels: { ...many(50), x: null, y: null } }).length).toBeGreaterThan(0);
  });

  it("201 annotations: CF-AnnotationLimitExceeded", async () => {
    const err = await thrown(() => metadataCreateStatements(db, "app", newGuid(), { annotations: many(201) }));
    expect([err.status, err.code, err.title, err.detail]).toEqual([422, 390023, "CF-AnnotationLimitExceeded", "Failed to add 201 annotations because it would exceed maximum of 200"]);
  });

  it("limits are configurable; labels are checked before annotations", async () => {
    const err = await thrown(() => metadataCreateStatements(db, "app", newGuid(), { labels: many(3), annotations: many(3) }, { maxLabels: 2, maxAnnotations: 2 }));
    expect(err.detail).toBe("Failed to add 3 labels because it would exceed maximum of 2");
  });

  it("190 annotations of 5000 characters (within the 1,000,000-byte bound): chunked to at most 100 parameters per statement, all written", async () => {
    const g = newGuid();
    const statements = metadataCreateStatements(db, "app", g, { annotations: many(190, (i) => `${i}`.padEnd(5000, "x")) });
    const queries = built(statements);
    expect(queries.length).toBeGreaterThan(2);
    for (const q of queries) expect(q.params.length).toBeLessThanOrEqual(100);
    expect(queries.reduce((n, q) => n + q.params.length, 0)).toBe(190 * 5);
    await runBatch(db, statements);
    const m = await loadOneMetadata(db, "app", g);
    expect(Object.keys(m.annotations)).toEqual(Object.keys(many(190)));
    expect(m.annotations["key137"]).toBe("137".padEnd(5000, "x"));
  });

  it("two keys naming the same stored row: the last one wins (unvalidated annotation keys)", async () => {
    const g = newGuid();
    // "a.com/b/c" is stored as prefix a.com, name b, as the reference's extract_prefix does.
    await create(g, { annotations: { "a.com/b": "first", "a.com/b/c": "" } });
    expect((await loadOneMetadata(db, "app", g)).annotations).toEqual({ "a.com/b": "" });
  });
});

describe("patch", () => {
  it("sets, replaces and deletes; keys not named are untouched (C57-C59)", async () => {
    const g = newGuid();
    await create(g, { labels: { fruit: "pears", truck: "hino" }, annotations: { potato: "celandine", beet: "formanova" } });

    await patch(g, { labels: { fruit: "passionfruit" }, annotations: { potato: "adora" } });
    expect(await loadOneMetadata(db, "app", g)).toEqual({
      labels: { fruit: "passionfruit", truck: "hino" },
      annotations: { potato: "adora", beet: "formanova" },
    });

    await patch(g, { labels: { fruit: null } });
    await patch(g, { annotations: { potato: null } });
    expect(await loadOneMetadata(db, "app", g)).toEqual({ labels: { truck: "hino" }, annotations: { beet: "formanova" } });

    await patch(g, { labels: { "seriouseats.com/potato": "mashed", missing: null }, annotations: { checksum: "SHA" } });
    expect(await loadOneMetadata(db, "app", g)).toEqual({
      labels: { truck: "hino", "seriouseats.com/potato": "mashed" },
      annotations: { beet: "formanova", checksum: "SHA" },
    });
  });

  it("an update keeps the key's place; a deleted and re-added key moves to the end", async () => {
    const g = newGuid();
    await create(g, { labels: { a: "1", b: "2", c: "3" } });
    await patch(g, { labels: { a: "10" } });
    expect(Object.entries((await loadOneMetadata(db, "app", g)).labels)).toEqual([["a", "10"], ["b", "2"], ["c", "3"]]);
    await patch(g, { labels: { a: null } });
    await patch(g, { labels: { a: "11" } });
    expect(Object.entries((await loadOneMetadata(db, "app", g)).labels)).toEqual([["b", "2"], ["c", "3"], ["a", "11"]]);
  });

  it("an empty or absent update has no statements and reads nothing", async () => {
    for (const m of [undefined, {}, { labels: {}, annotations: {} }]) {
      const p = await prepareMetadataPatch(db, "app", newGuid(), m);
      expect(p.statements).toEqual([]);
    }
    expect(await runBatch(db, [])).toEqual([]);
  });

  it("works with what parseMetadata produced from a request body", async () => {
    const g = newGuid();
    await create(g, { labels: { keep: "me", drop: "me" } });
    const parsed = parseMetadata(JSON.parse('{"labels":{"drop":null,"count":5,"on":true},"annotations":{"n":7}}'));
    if (!parsed.ok) throw new Error(parsed.errors.join());
    await patch(g, parsed.metadata);
    expect(await loadOneMetadata(db, "app", g)).toEqual({ labels: { keep: "me", count: "5", on: "true" }, annotations: { n: "7" } });
  });

  it("a net growth past the limit is refused before anything is written (C62)", async () => {
    const g = newGuid();
    const limits = { maxLabels: 50, maxAnnotations: 2 };
    await create(g, { annotations: { a: "1", b: "2" } });
    const err = await thrown(patch(g, { annotations: { radish: "daikon", potato: "idaho" } }, limits));
    expect([err.status, err.code, err.detail]).toEqual([422, 390023, "Failed to add 2 annotations because it would exceed maximum of 2"]);
    expect((await loadOneMetadata(db, "app", g)).annotations).toEqual({ a: "1", b: "2" });
  });

  it("the label limit is checked first and nothing of either kind is written", async () => {
    const g = newGuid();
    await create(g, { labels: { a: "1" }, annotations: { a: "1" } });
    const err = await thrown(patch(g, { labels: { b: "2", c: "3" }, annotations: { b: "2", c: "3" } }, { maxLabels: 2, maxAnnotations: 2 }));
    expect([err.code, err.detail]).toEqual([390020, "Failed to add 2 labels because it would exceed maximum of 2"]);
    expect(await loadOneMetadata(db, "app", g)).toEqual({ labels: { a: "1" }, annotations: { a: "1" } });
  });

  it("growing up to the limit is fine; replacing values of a resource already over the limit is fine; shrinking is fine", async () => {
    const g = newGuid();
    const limits = { maxLabels: 3, maxAnnotations: 200 };
    await create(g, { labels: { a: "1" } });
    await patch(g, { labels: { b: "2", c: "3" } }, limits);
    // Now pretend the limit was lowered to 2: the resource has 3.
    const lower = { maxLabels: 2, maxAnnotations: 200 };
    await patch(g, { labels: { a: "10", b: "20" } }, lower); // no growth
    await patch(g, { labels: { d: "4", a: null } }, lower); // one in, one out: still 3, no growth
    expect((await loadOneMetadata(db, "app", g)).labels).toEqual({ b: "20", c: "3", d: "4" });
    const err = await thrown(patch(g, { labels: { e: "5" } }, lower));
    expect(err.detail).toBe("Failed to add 1 labels because it would exceed maximum of 2");
    await patch(g, { labels: { e: "5", b: null, c: null } }, lower); // 3 → 2
    expect((await loadOneMetadata(db, "app", g)).labels).toEqual({ d: "4", e: "5" });
  });

  it("a concurrent patch that would break the limit fails in its batch, whole batch rolled back, as the reference's error", async () => {
    const g = newGuid();
    const stackGuid = newGuid();
    await db.insert(stacks).values({ guid: stackGuid, name: `s-${stackGuid}`, createdAt: "2026-01-01T00:00:00Z" });
    const labelsA = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`a${i}`, "x"]));
    const labelsB = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`b${i}`, "x"]));
    // Both read the resource with no labels, so both pass the early check.
    const first = await prepareMetadataPatch(db, "stack", g, { labels: labelsA });
    const second = await prepareMetadataPatch(db, "stack", g, { labels: labelsB });
    await runBatch(db, first.statements).catch(first.rethrow);

    const ownUpdate = db.update(stacks).set({ description: "changed" }).where(eq(stacks.guid, stackGuid));
    const err = await thrown(runBatch(db, [ownUpdate, ...second.statements]).catch(second.rethrow));
    expect([err.status, err.code, err.detail]).toEqual([422, 390020, "Failed to add 30 labels because it would exceed maximum of 50"]);
    expect(Object.keys((await loadOneMetadata(db, "stack", g)).labels)).toEqual(Object.keys(labelsA));
    const [stack] = await db.select().from(stacks).where(eq(stacks.guid, stackGuid));
    expect(stack?.description).toBeNull();
  });

  it("the guard does not fire when the batch stays within the limit", async () => {
    const g = newGuid();
    const p = await prepareMetadataPatch(db, "app", g, { labels: many(50), annotations: many(200) });
    await runBatch(db, p.statements).catch(p.rethrow);
    const m = await loadOneMetadata(db, "app", g);
    expect([Object.keys(m.labels).length, Object.keys(m.annotations).length]).toEqual([50, 200]);
  });

  it("rethrow passes other failures through unchanged", async () => {
    const p = await prepareMetadataPatch(db, "app", newGuid(), { labels: { a: "b" } });
    const other = new Error("D1_ERROR: UNIQUE constraint failed: stacks.name");
    expect(() => p.rethrow(other)).toThrow(other);
  });

  it("patches touching many keys are chunked to at most 100 parameters per statement", async () => {
    const g = newGuid();
    await create(g, { annotations: many(200) });
    const p = await prepareMetadataPatch(db, "app", g, { annotations: { ...many(150, () => null), fresh: "new" } });
    for (const q of built(p.statements)) expect(q.params.length).toBeLessThanOrEqual(100);
    await runBatch(db, p.statements).catch(p.rethrow);
    const m = await loadOneMetadata(db, "app", g);
    expect(Object.keys(m.annotations)).toEqual([...Object.keys(many(200)).slice(150), "fresh"]);
  });
});

describe("delete", () => {
  it("deletes all metadata of one resource, nothing else", async () => {
    const [g, other] = [newGuid(), newGuid()];
    await create(g, { labels: { a: "b" }, annotations: { c: "d" } });
    await create(other, { labels: { a: "b" }, annotations: { c: "d" } });
    await runBatch(db, metadataDeleteStatements(db, "app", g));
    expect(await rowCount("labels", g)).toBe(0);
    expect(await rowCount("annotations", g)).toBe(0);
    expect(await loadOneMetadata(db, "app", other)).toEqual({ labels: { a: "b" }, annotations: { c: "d" } });
  });

  it("deletes only the given resource type's rows", async () => {
    const g = newGuid();
    await create(g, { labels: { a: "b" } }, "space");
    await runBatch(db, metadataDeleteStatements(db, "app", g));
    expect(await rowCount("labels", g)).toBe(1);
  });

  it("deletes the metadata of 300 resources in statements of at most 100 parameters", async () => {
    const guids = Array.from({ length: 300 }, newGuid);
    await runBatch(db, guids.flatMap((g) => metadataCreateStatements(db, "app", g, { labels: { n: "1" }, annotations: { m: "2" } })));
    const statements = metadataDeleteStatements(db, "app", guids);
    expect(statements.length).toBeGreaterThanOrEqual(6);
    for (const q of built(statements)) expect(q.params.length).toBeLessThanOrEqual(100);
    await runBatch(db, statements);
    const left = await env.DB.prepare("SELECT (SELECT count(*) FROM labels WHERE resource_guid IN (SELECT value FROM json_each(?1))) + (SELECT count(*) FROM annotations WHERE resource_guid IN (SELECT value FROM json_each(?1))) AS n")
      .bind(JSON.stringify(guids)).first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});

describe("load and present", () => {
  it("loads 300 resources in one call; every guid present, {} when it has nothing", async () => {
    const guids = Array.from({ length: 300 }, newGuid);
    await runBatch(db, guids.flatMap((g, i) =>
      i % 3 === 0 ? [] : metadataCreateStatements(db, "app", g, { labels: { idx: `${i}` }, annotations: i % 2 ? { odd: "yes" } : {} })));
    const unknown = newGuid();
    const loaded = await loadMetadata(db, "app", [...guids, unknown, guids[1]!]);
    expect(loaded.size).toBe(301);
    guids.forEach((g, i) => {
      expect(loaded.get(g)).toEqual(
        i % 3 === 0 ? { labels: {}, annotations: {} } : { labels: { idx: `${i}` }, annotations: i % 2 ? { odd: "yes" } : {} },
      );
    });
    expect(loaded.get(unknown)).toEqual({ labels: {}, annotations: {} });
  });

  it("loads only the given resource type's metadata", async () => {
    const g = newGuid();
    await create(g, { labels: { kind: "space" } }, "space");
    expect(await loadOneMetadata(db, "app", g)).toEqual({ labels: {}, annotations: {} });
    expect(await loadOneMetadata(db, "space", g)).toEqual({ labels: { kind: "space" }, annotations: {} });
  });

  it("an empty guid list reads nothing", async () => {
    expect((await loadMetadata(db, "app", [])).size).toBe(0);
  });

  it("presentMetadata gives fresh objects, {} for a guid without metadata", async () => {
    const g = newGuid();
    await create(g, { labels: { a: "b" } });
    const loaded = await loadMetadata(db, "app", [g]);
    const shown = presentMetadata(loaded, g);
    expect(shown).toEqual({ labels: { a: "b" }, annotations: {} });
    shown.labels["x"] = "mutated";
    expect(presentMetadata(loaded, g)).toEqual({ labels: { a: "b" }, annotations: {} });
    expect(presentMetadata(loaded, "not-loaded")).toEqual({ labels: {}, annotations: {} });
    expect(JSON.stringify({ metadata: presentMetadata(new Map(), g) })).toBe('{"metadata":{"labels":{},"annotations":{}}}');
  });
});

describe("hostile keys and values are data, never SQL", () => {
  const hostile = [
    "x'); DROP TABLE labels; --",
    "\" OR 1=1 --",
    "a\"],[\"b",
    "'; DELETE FROM annotations WHERE '1'='1",
    "\\0\u0000nul",
  ];

  it("stored and loaded verbatim, tables intact", async () => {
    const g = newGuid();
    const bystander = newGuid();
    await create(bystander, { labels: { safe: "yes" }, annotations: { safe: "yes" } });
    // Straight to the store (validation would refuse most of these label keys): the SQL must not care.
    const entries = Object.fromEntries(hostile.map((h, i) => [`k${i}${h}`, h]));
    await create(g, { labels: entries, annotations: entries });
    expect(await loadOneMetadata(db, "app", g)).toEqual({ labels: entries, annotations: entries });
    await patch(g, { labels: Object.fromEntries(Object.keys(entries).map((k) => [k, null])) });
    expect(await loadOneMetadata(db, "app", g)).toEqual({ labels: {}, annotations: entries });
    await runBatch(db, metadataDeleteStatements(db, "app", [g, ...hostile]));
    expect(await loadOneMetadata(db, "app", bystander)).toEqual({ labels: { safe: "yes" }, annotations: { safe: "yes" } });
    expect((await loadMetadata(db, "app", hostile)).get(hostile[0]!)).toEqual({ labels: {}, annotations: {} });
  });
});
