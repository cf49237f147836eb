// The package sweep's last step: objects under packages/ that no package names any more are deleted
// once an hour old. They are what an app, space, organization or package delete leaves when its R2
// calls fail after the records are gone, and what a rewrite leaves when its request dies.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { partialKeyOf } from "../../../src/bits/keys";
import { database } from "../../../src/db/client";
import { housekeeping } from "../../../src/housekeeping";
import { sweepPackages } from "../../../src/resources/packages/sweep";
import { call } from "../../helpers/api";
import { adminAuth } from "../../helpers/tokens";
import { listKeys } from "../../helpers/r2";
import { makeWorld } from "../../helpers/world";
import { appZip, createBits, getPackage, uploadZip } from "./helpers";

let w: Awaited<ReturnType<typeof makeWorld>>;
beforeAll(async () => {
  w = await makeWorld();
});

const HOUR = 3600_000;

describe("orphaned package bits", () => {
  it("deletes the bits of packages that are gone and stale partial keys; keeps every object a package names", async () => {
    const live = await createBits(w.A.guid);
    expect((await uploadZip(live.guid, await appZip())).status).toBe(200);
    const liveKey = (await env.DB.prepare("SELECT bits_key AS k FROM packages WHERE guid = ?").bind(live.guid).first<{ k: string }>())!.k;
    // A package deleted while R2 failed: its record is gone, its object is not.
    const gone = await createBits(w.A.guid);
    expect((await uploadZip(gone.guid, await appZip())).status).toBe(200);
    const goneKey = (await env.DB.prepare("SELECT bits_key AS k FROM packages WHERE guid = ?").bind(gone.guid).first<{ k: string }>())!.k;
    await env.DB.prepare("DELETE FROM packages WHERE guid = ?").bind(gone.guid).run();
    // A rewrite whose request died after the live package was READY: its partial key.
    await env.BITS.put(partialKeyOf(liveKey), "left by a dead rewrite");
    // A key that is not of the packages' shape at all.
    await env.BITS.put("packages/stray", "x");

    const db = database(env.DB);
    expect((await sweepPackages(db, env.BITS, Date.now())).orphansDeleted).toBe(0); // nothing an hour old yet
    const result = await sweepPackages(db, env.BITS, Date.now() + 2 * HOUR);
    expect(result.orphansDeleted).toBe(3);
    expect(await listKeys(env.BITS, "packages/")).toEqual([liveKey]);
    expect((await getPackage(live.guid)).state).toBe("READY");
    expect(goneKey).not.toBe(liveKey);
  });

  it("the scheduled housekeeping runs it: an app delete whose bits stayed behind ends with no object", async () => {
    const pkg = await createBits(w.B.guid);
    expect((await uploadZip(pkg.guid, await appZip())).status).toBe(200);
    const key = (await env.DB.prepare("SELECT bits_key AS k FROM packages WHERE guid = ?").bind(pkg.guid).first<{ k: string }>())!.k;
    // The records go (as an app delete's batch does); the R2 delete "failed": the object stays.
    await env.DB.batch([
      env.DB.prepare("DELETE FROM packages WHERE app_guid = ?").bind(w.B.guid),
      env.DB.prepare("DELETE FROM apps WHERE guid = ?").bind(w.B.guid),
    ]);
    expect(await listKeys(env.BITS, `packages/${pkg.guid}/`)).toEqual([key]);
    await housekeeping(env, Date.now() + 2 * HOUR);
    expect(await listKeys(env.BITS, `packages/${pkg.guid}/`)).toEqual([]);
    expect((await call("GET", `/v3/packages/${pkg.guid}`, { auth: await adminAuth() })).status).toBe(404);
  });
});
