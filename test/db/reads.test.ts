// One round trip per read (src/db/reads.ts): parts of one batch get their own results, and a list's
// page brings each row's metadata in its own statement (metadataColumns), in the order keys were first
// set, the same as the per-guid loader, at any offset; through the API a page shows each resource's own.
import { env } from "cloudflare:workers";
import { asc, count, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { firstRowOf, mapReads, rowsOf, runReads } from "../../src/db/reads";
import { stacks, type Stack } from "../../src/db/schema";
import {
  loadMetadata, metadataColumns, metadataCreateStatements, metadataReads, pageWithMetadata, prepareMetadataPatch, type MetadataColumnValues,
} from "../../src/metadata/store";
import { runBatch } from "../../src/db/batch";
import { get, jsonOf } from "../helpers/api";
import { adminAuth } from "../helpers/tokens";

const db = database(env.DB);

async function makeStacks(n: number, prefix: string): Promise<Stack[]> {
  const made: Stack[] = [];
  for (let i = 0; i < n; i++) {
    const guid = crypto.randomUUID();
    const [row] = await db.insert(stacks).values({ guid, name: `${prefix}-${i}`, createdAt: "2026-01-01T00:00:00Z" }).returning();
    made.push(row!);
  }
  return made;
}

describe("runReads", () => {
  it("hands each part its own results, in order, from one batch; a part without statements reads nothing", async () => {
    const [a, b] = await makeStacks(2, `reads-${crypto.randomUUID().slice(0, 6)}`);
    const nothing = { statements: [], read: (results: readonly unknown[]) => results.length };
    const [first, none, empty, both, named] = await runReads(
      db,
      firstRowOf(db.select().from(stacks).where(eq(stacks.guid, a!.guid))),
      nothing,
      firstRowOf(db.select().from(stacks).where(eq(stacks.guid, "no-such-stack"))),
      rowsOf(db.select({ guid: stacks.guid }).from(stacks).where(inArray(stacks.guid, [a!.guid, b!.guid])).orderBy(asc(stacks.id))),
      mapReads(firstRowOf(db.select().from(stacks).where(eq(stacks.guid, b!.guid))), (s) => s?.name),
    );
    expect(first?.guid).toBe(a!.guid);
    expect(none).toBe(0);
    expect(empty).toBeUndefined();
    expect(both).toEqual([{ guid: a!.guid }, { guid: b!.guid }]);
    expect(named).toBe(b!.name);
  });
});

describe("metadataColumns: a page's metadata in the page's own statement", () => {
  it("gives what the per-guid loader gives (key order, prefixes, empty values, nothing), at every offset", async () => {
    const prefix = `meta-${crypto.randomUUID().slice(0, 6)}`;
    const made = await makeStacks(5, prefix);
    const [s0, s1, , s3] = made;
    await runBatch(db, [
      ...metadataCreateStatements(db, "stack", s0!.guid, { labels: { zeta: "1", "example.com/alpha": "2", mid: "" }, annotations: { note: "a" } }),
      ...metadataCreateStatements(db, "stack", s1!.guid, { annotations: { "x.io/b": "B", a: "A" } }),
      ...metadataCreateStatements(db, "stack", s3!.guid, { labels: { only: "s3" } }),
    ]);
    // A later change keeps the first-set order of a key that stays, and puts a new key last.
    const patch = await prepareMetadataPatch(db, "stack", s0!.guid, { labels: { zeta: "changed", later: "x" } });
    await runBatch(db, patch.statements);
    // A stack of the same guid-space with labels of another resource type must not leak in.
    await runBatch(db, metadataCreateStatements(db, "app", s1!.guid, { labels: { wrong: "type" } }));

    const expected = await loadMetadata(db, "stack", made.map((s) => s.guid));
    expect(expected.get(s0!.guid)!.labels).toEqual({ zeta: "changed", "example.com/alpha": "2", mid: "", later: "x" });
    expect(Object.keys(expected.get(s0!.guid)!.labels)).toEqual(["zeta", "example.com/alpha", "mid", "later"]);

    const where = inArray(stacks.guid, made.map((s) => s.guid));
    for (const [limit, offset] of [[5, 0], [2, 0], [2, 2], [2, 4], [2, 6]] as const) {
      const [page] = await runReads(db, pageWithMetadata(
        db.select({ n: count() }).from(stacks).where(where),
        db.select({ row: stacks, ...metadataColumns("stack", stacks.guid) }).from(stacks).where(where).orderBy(asc(stacks.id)).limit(limit).offset(offset),
        (r: { row: Stack } & MetadataColumnValues) => r.row,
      ));
      expect(page.total).toBe(5);
      const window = made.slice(offset, offset + limit);
      expect(page.rows.map((r) => r.row.guid)).toEqual(window.map((s) => s.guid));
      for (const r of page.rows) {
        expect(r.metadata).toEqual(expected.get(r.row.guid));
        expect(Object.keys(r.metadata.labels)).toEqual(Object.keys(expected.get(r.row.guid)!.labels));
        expect(Object.keys(r.metadata.annotations)).toEqual(Object.keys(expected.get(r.row.guid)!.annotations));
      }
    }
  });

  it("metadataReads by guids: every guid in the map, `{}` when it has none", async () => {
    const [s] = await makeStacks(1, `mr-${crypto.randomUUID().slice(0, 6)}`);
    const missing = crypto.randomUUID();
    const [map] = await runReads(db, metadataReads(db, "stack", [s!.guid, missing, s!.guid]));
    expect([...map.keys()]).toEqual([s!.guid, missing]);
    expect(map.get(missing)).toEqual({ labels: {}, annotations: {} });
  });
});

describe("through the API: a list page shows each resource's own metadata", () => {
  it("GET /v3/stacks with a label selector: each stack with its labels and annotations", async () => {
    const prefix = `api-${crypto.randomUUID().slice(0, 6)}`;
    const [a, b] = await makeStacks(2, prefix);
    await runBatch(db, [
      ...metadataCreateStatements(db, "stack", a!.guid, { labels: { group: prefix, who: "a" }, annotations: { n: "1" } }),
      ...metadataCreateStatements(db, "stack", b!.guid, { labels: { group: prefix, who: "b" } }),
    ]);
    const res = await get(`/v3/stacks?label_selector=group=${prefix}&order_by=created_at`, await adminAuth());
    expect(res.status).toBe(200);
    const body = await jsonOf<{ pagination: { total_results: number }; resources: { guid: string; metadata: unknown }[] }>(res);
    expect(body.pagination.total_results).toBe(2);
    expect(Object.fromEntries(body.resources.map((r) => [r.guid, r.metadata]))).toEqual({
      [a!.guid]: { labels: { group: prefix, who: "a" }, annotations: { n: "1" } },
      [b!.guid]: { labels: { group: prefix, who: "b" }, annotations: {} },
    });
  });
});
