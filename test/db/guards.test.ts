// The one-winner decisions themselves, called as the store functions the routes call, each twice (or
// with a view read before the other writer's write): the request-level races in the other test files
// are mostly turned away by earlier reads before these conditions ever decide. Each test here fails
// when its guard's condition is removed (see the table in the closing note of issue 12).
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { auditEventInsert } from "../../src/audit/events";
import type { Identity } from "../../src/auth/token";
import { database, timestamp } from "../../src/db/client";
import { auditEvents, buildpacks, packages, stacks, type Buildpack, type Package } from "../../src/db/schema";
import {
  BuildpackWriteError, createBuildpack, deleteBuildpack, findBuildpack, replaceBits, updateBuildpack,
} from "../../src/resources/buildpacks/store";
import {
  acceptUpload, deletePackageRecord, expireOldPackages, failStuck, insertPackage, markFailed, markReady, newPackageRow, reopenUpload,
} from "../../src/resources/packages/store";
import { makeApp } from "../helpers/fixtures";

const db = database(env.DB);
const who: Identity = { guid: "guard-admin", isClient: false, scopes: new Set(), email: null, userName: null };
const sums = { sha1: "a".repeat(40), sha256: "b".repeat(64), size: 1 };

const eventsOf = async (type: string, actee: string) =>
  (await db.select().from(auditEvents).where(and(eq(auditEvents.type, type), eq(auditEvents.acteeGuid, actee)))).length;
const rowOf = async (guid: string) => (await db.select().from(packages).where(eq(packages.guid, guid)))[0];
const event = (type: string, actee: string) =>
  auditEventInsert(db, { type, actor: who, actee: { guid: actee, type: "app", name: "a" }, spaceGuid: null, organizationGuid: null, data: {} });

async function awaitingPackage(): Promise<Package> {
  const app = await makeApp();
  return insertPackage(db, newPackageRow({ type: "bits", appGuid: app.guid, state: "AWAITING_UPLOAD" }), []);
}

describe("package guards", () => {
  it("acceptUpload: a second acceptance of the same package is refused and records no event", async () => {
    const pkg = await awaitingPackage();
    // Both attempts saw the package AWAITING_UPLOAD (the read before either write).
    expect(await acceptUpload(db, pkg.guid, "key-1", event("audit.app.package.upload", pkg.appGuid))).toBe(true);
    expect(await acceptUpload(db, pkg.guid, "key-2", event("audit.app.package.upload", pkg.appGuid))).toBe(false);
    expect(await rowOf(pkg.guid)).toMatchObject({ state: "PROCESSING_UPLOAD", bitsKey: "key-1" });
    expect(await eventsOf("audit.app.package.upload", pkg.appGuid)).toBe(1);
  });

  it("reopenUpload: only the attempt that holds the package reopens it, and only while it processes", async () => {
    const pkg = await awaitingPackage();
    expect(await acceptUpload(db, pkg.guid, "key-1", event("x", pkg.appGuid))).toBe(true);
    expect(await reopenUpload(db, pkg, "key-other")).toBe(false);
    expect(await rowOf(pkg.guid)).toMatchObject({ state: "PROCESSING_UPLOAD", bitsKey: "key-1" });
    expect(await markReady(db, pkg.guid, "PROCESSING_UPLOAD", "key-1", sums, env.POOL_QUEUE)).toBe(true);
    expect(await reopenUpload(db, pkg, "key-1")).toBe(false);
    expect(await rowOf(pkg.guid)).toMatchObject({ state: "READY", bitsKey: "key-1" });
  });

  it("markReady / markFailed: only from the expected state with this attempt's key; the first verdict stands", async () => {
    const pkg = await awaitingPackage();
    expect(await acceptUpload(db, pkg.guid, "key-1", event("x", pkg.appGuid))).toBe(true);
    expect(await markReady(db, pkg.guid, "PROCESSING_UPLOAD", "key-2", sums, env.POOL_QUEUE)).toBe(false);
    expect(await markFailed(db, pkg.guid, "PROCESSING_UPLOAD", "key-2", "no")).toBe(false);
    expect(await rowOf(pkg.guid)).toMatchObject({ state: "PROCESSING_UPLOAD", bitsKey: "key-1" });
    // The sweep fails it first; the upload's own verdict then changes nothing.
    expect(await markFailed(db, pkg.guid, "PROCESSING_UPLOAD", "key-1", "upload lost")).toBe(true);
    expect(await markReady(db, pkg.guid, "PROCESSING_UPLOAD", "key-1", sums, env.POOL_QUEUE)).toBe(false);
    expect(await markFailed(db, pkg.guid, "PROCESSING_UPLOAD", "key-1", "again")).toBe(false);
    expect(await rowOf(pkg.guid)).toMatchObject({ state: "FAILED", error: "upload lost", bitsKey: null, sha256: null });
  });

  it("copy: a copy the sweep failed is not made READY by the copier that finishes late", async () => {
    const app = await makeApp();
    const copy = await insertPackage(db, newPackageRow({ type: "bits", appGuid: app.guid, state: "COPYING", bitsKey: "copy-key" }), []);
    expect(await failStuck(db, { guid: copy.guid, state: "COPYING", bitsKey: "copy-key" }, "failed to copy", timestamp())).toBe(true);
    expect(await markReady(db, copy.guid, "COPYING", "copy-key", sums, env.POOL_QUEUE)).toBe(false);
    expect(await rowOf(copy.guid)).toMatchObject({ state: "FAILED", error: "failed to copy", sha256: null });
  });

  it("failStuck: a package no longer as the sweep saw it is left alone", async () => {
    const pkg = await awaitingPackage();
    expect(await acceptUpload(db, pkg.guid, "key-1", event("x", pkg.appGuid))).toBe(true);
    const seen = { guid: pkg.guid, state: "PROCESSING_UPLOAD" as const, bitsKey: "key-1" };
    expect(await markReady(db, pkg.guid, "PROCESSING_UPLOAD", "key-1", sums, env.POOL_QUEUE)).toBe(true);
    expect(await failStuck(db, seen, "upload lost", timestamp())).toBe(false);
    expect(await rowOf(pkg.guid)).toMatchObject({ state: "READY", bitsKey: "key-1" });
  });

  it("deletePackageRecord: a second delete of the same package deletes nothing and records no event", async () => {
    const pkg = await awaitingPackage();
    const first = await deletePackageRecord(db, pkg.guid, [event("audit.app.package.delete", pkg.appGuid)]);
    const second = await deletePackageRecord(db, pkg.guid, [event("audit.app.package.delete", pkg.appGuid)]);
    expect(first.deleted).toBe(true);
    expect(second).toEqual({ deleted: false, bitsKey: null });
    expect(await eventsOf("audit.app.package.delete", pkg.appGuid)).toBe(1);
  });

  it("expireOldPackages: of two expiries of one app, only the first gets the packages (and deletes their bits)", async () => {
    const app = await makeApp();
    for (let i = 0; i < 7; i++) {
      await insertPackage(db, { ...newPackageRow({ type: "bits", appGuid: app.guid, state: "READY", bitsKey: `bits-${i}` }), createdAt: `2020-01-01T00:00:0${i}Z` }, []);
    }
    const first = await expireOldPackages(db, app.guid);
    const second = await expireOldPackages(db, app.guid);
    expect(first.map((p) => p.bitsKey).sort()).toEqual(["bits-0", "bits-1"]);
    expect(second).toEqual([]);
  });
});

describe("buildpack guards", () => {
  const ctx = (type: string) => ({ actor: who, type });
  let bp: Buildpack;
  beforeEach(async () => {
    bp = await createBuildpack(db, {
      name: `guard-${crypto.randomUUID().slice(0, 8)}`, stack: null, lifecycle: "buildpack", position: 1, enabled: true, locked: false,
    }, () => [], ctx("audit.buildpack.create"));
  });
  const refusal = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => (err instanceof BuildpackWriteError ? err.reason : err));

  it("replaceBits: of two uploads that read the same bits, the second learns bits-changed and records no event", async () => {
    const seen = (await findBuildpack(db, bp.guid))!;
    await replaceBits(db, seen, { key: "bp-key-1", sha256: "1".repeat(64), filename: "a.zip" }, ctx("audit.buildpack.upload"));
    expect(await refusal(replaceBits(db, seen, { key: "bp-key-2", sha256: "2".repeat(64), filename: "b.zip" }, ctx("audit.buildpack.upload")))).toBe("bits-changed");
    expect((await findBuildpack(db, bp.guid))?.bitsKey).toBe("bp-key-1");
    expect(await eventsOf("audit.buildpack.upload", bp.guid)).toBe(1);
  });

  it("replaceBits: a buildpack locked after it was read takes no bits", async () => {
    const seen = (await findBuildpack(db, bp.guid))!;
    await updateBuildpack(db, seen, { locked: true }, [], ctx("audit.buildpack.update"));
    expect(await refusal(replaceBits(db, seen, { key: "bp-key-1", sha256: "1".repeat(64), filename: "a.zip" }, ctx("audit.buildpack.upload")))).toBe("locked");
    expect((await findBuildpack(db, bp.guid))?.bitsKey).toBeNull();
  });

  it("updateBuildpack: a stack set meanwhile by another writer is not replaced", async () => {
    const other = `guard-stack-${crypto.randomUUID().slice(0, 8)}`;
    await db.insert(stacks).values({ guid: crypto.randomUUID(), name: other, createdAt: timestamp() });
    const seen = (await findBuildpack(db, bp.guid))!;
    await db.update(buildpacks).set({ stack: "cflinuxfs4" }).where(eq(buildpacks.guid, bp.guid));
    expect(await refusal(updateBuildpack(db, seen, { stack: other }, [], ctx("audit.buildpack.update")))).toBe("stack-changed");
    expect((await findBuildpack(db, bp.guid))?.stack).toBe("cflinuxfs4");
    expect(await eventsOf("audit.buildpack.update", bp.guid)).toBe(0);
  });

  it("deleteBuildpack: a second delete of the same buildpack deletes nothing, moves no position and records no event", async () => {
    const below = await createBuildpack(db, {
      name: `guard-below-${crypto.randomUUID().slice(0, 8)}`, stack: null, lifecycle: "buildpack", position: 2, enabled: true, locked: false,
    }, () => [], ctx("audit.buildpack.create"));
    const seen = (await findBuildpack(db, bp.guid))!;
    await deleteBuildpack(db, seen, [], ctx("audit.buildpack.delete"));
    const positionAfterFirst = (await findBuildpack(db, below.guid))!.position;
    expect(await refusal(deleteBuildpack(db, seen, [], ctx("audit.buildpack.delete")))).toBe("not-found");
    expect((await findBuildpack(db, below.guid))!.position).toBe(positionAfterFirst);
    expect(await eventsOf("audit.buildpack.delete", bp.guid)).toBe(1);
  });
});
