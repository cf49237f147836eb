// The scheduled sweep's buildpack part: objects no buildpack refers to (left by a request that died
// between storing the bits and recording them) are deleted once old; referenced ones never are.
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { sweepBuildpackBits } from "../../../src/resources/buildpacks/upload";
import { call } from "../../helpers/api";
import { adminAuth } from "../../helpers/tokens";
import { bitsKeyOf, fileForm, plainZip, resetBuildpacks, storedKeys, v2Create } from "./helpers";

let ADMIN: string;
beforeAll(async () => {
  ADMIN = await adminAuth();
});
beforeEach(resetBuildpacks);

describe("sweepBuildpackBits", () => {
  it("deletes old unreferenced objects and keeps referenced and recent ones", async () => {
    const bp = await v2Create(ADMIN, { name: "kept" });
    expect((await call("PUT", `/v2/buildpacks/${bp.metadata.guid}/bits`, { auth: ADMIN, body: fileForm("buildpack", "k.zip", await plainZip()) })).status).toBe(201);
    const live = (await bitsKeyOf(bp.metadata.guid))!;
    await env.BITS.put(`buildpacks/${crypto.randomUUID()}/${crypto.randomUUID()}`, "orphan");
    const db = database(env.DB);
    // Right now, nothing is old enough.
    expect(await sweepBuildpackBits(db, env.BITS)).toBe(0);
    expect(await storedKeys()).toHaveLength(2);
    // Two hours later the orphan goes; the live object stays.
    expect(await sweepBuildpackBits(db, env.BITS, Date.now() + 2 * 3600_000)).toBe(1);
    expect(await storedKeys()).toEqual([live]);
  });
});
