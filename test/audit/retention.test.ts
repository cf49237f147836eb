// Audit event retention (issue 14, item 4): the scheduled sweep deletes events older than
// AUDIT_EVENTS_RETENTION_DAYS (31 by default, as the reference's audit_events.cutoff_age_in_days),
// oldest first, at most a bounded number per run; recent events stay, and what a run leaves the next
// one takes.
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { database, timestamp } from "../../src/db/client";
import { deleteOldAuditEvents, retentionDays, RETENTION_CHUNK, RETENTION_CHUNKS_PER_RUN } from "../../src/audit/retention";
import { housekeeping } from "../../src/housekeeping";
import { get, jsonOf } from "../helpers/api";
import { adminAuth } from "../helpers/tokens";

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.parse("2026-06-30T12:00:00Z");
const ago = (days: number, plusSeconds = 0) => timestamp(new Date(NOW - days * DAY + plusSeconds * 1000));

let ADMIN: string;
beforeAll(async () => {
  ADMIN = await adminAuth();
});
beforeEach(async () => {
  await env.DB.prepare("DELETE FROM audit_events").run();
});

/** `count` events created at `createdAt` (plus i seconds each), straight into D1. */
async function seed(createdAt: (i: number) => string, count: number, label: string): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => ({ guid: crypto.randomUUID(), at: createdAt(i) }));
  await env.DB.prepare(`INSERT INTO audit_events (guid, type, actor_guid, actor_type, actee_guid, actee_type, actee_name, data, created_at)
    SELECT json_extract(value, '$.guid'), 'audit.app.package.create', 'user-1', 'user', 'app-1', 'app', ?, '{}', json_extract(value, '$.at')
    FROM json_each(?)`).bind(label, JSON.stringify(rows)).run();
}

const labels = async () =>
  (await env.DB.prepare("SELECT actee_name AS label, created_at FROM audit_events ORDER BY created_at, id").all<{ label: string; created_at: string }>()).results;

describe("audit event retention", () => {
  it("the sweep deletes events older than 31 days by default and keeps the rest, as GET /v3/audit_events shows", async () => {
    await seed(() => ago(400), 1, "a year old");
    await seed(() => ago(31, -1), 1, "31 days and a second");
    await seed(() => ago(31, 1), 1, "a second under 31 days");
    await seed(() => ago(1), 1, "yesterday");
    await seed(() => ago(0), 1, "now");
    expect(env.AUDIT_EVENTS_RETENTION_DAYS).toBe("31");

    await housekeeping(env, NOW);

    expect((await labels()).map((r) => r.label)).toEqual(["a second under 31 days", "yesterday", "now"]);
    const list = await jsonOf<{ pagination: { total_results: number } }>(await get("/v3/audit_events", ADMIN));
    expect(list.pagination.total_results).toBe(3);
  });

  it("AUDIT_EVENTS_RETENTION_DAYS sets the age; an unusable value is the default", async () => {
    await seed(() => ago(10), 1, "ten days");
    await seed(() => ago(5), 1, "five days");
    await housekeeping({ ...env, AUDIT_EVENTS_RETENTION_DAYS: "7" }, NOW);
    expect((await labels()).map((r) => r.label)).toEqual(["five days"]);

    for (const value of ["", "0", "-3", "1.5", "ten", undefined]) expect(retentionDays(value)).toBe(31);
    expect(retentionDays("90")).toBe(90);
  });

  it("a run deletes at most its bound, oldest first; the next run takes the rest", async () => {
    await seed((i) => ago(60, i), 25, "old");
    await seed(() => ago(2), 3, "recent");
    const db = database(env.DB);
    const bound = { chunk: 10, chunksPerRun: 2 };

    expect(await deleteOldAuditEvents(db, 31, NOW, bound)).toBe(20);
    const left = await labels();
    expect(left.filter((r) => r.label === "old").map((r) => r.created_at)).toEqual([20, 21, 22, 23, 24].map((i) => ago(60, i)));

    expect(await deleteOldAuditEvents(db, 31, NOW, bound)).toBe(5);
    expect(await deleteOldAuditEvents(db, 31, NOW, bound)).toBe(0);
    expect((await labels()).map((r) => r.label)).toEqual(["recent", "recent", "recent"]);
  });

  it("the sweep's own bound: 5,000 events per run", async () => {
    const bound = RETENTION_CHUNK * RETENTION_CHUNKS_PER_RUN;
    expect(bound).toBe(5_000);
    await env.DB.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
      INSERT INTO audit_events (guid, type, actor_guid, actor_type, actee_guid, actee_type, data, created_at)
      SELECT printf('00000000-0000-4000-8000-%012x', i), 'audit.app.package.upload', 'user-1', 'user', 'app-1', 'app', '{}', ? FROM n`)
      .bind(bound + 120, ago(45)).run();
    const count = async () => (await env.DB.prepare("SELECT count(*) AS n FROM audit_events").first<{ n: number }>())!.n;

    await housekeeping(env, NOW);
    expect(await count()).toBe(120);
    await housekeeping(env, NOW);
    expect(await count()).toBe(0);
  });
});
