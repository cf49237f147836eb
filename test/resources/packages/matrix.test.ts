// The whole role matrix of lib/cloud_controller/permissions.rb for packages, table-driven: each role ×
// each package action, with the exact status and error body, the suspended-organization row, and the
// conformance cases that are rows of it (C03, C04, C18, C25, C26, C45, C53, C55, C64, C67, C73, C77).
// Tokens as the reference makes them (world.ts): local roles read+write, global roles their global scope
// + write; one more column, a developer of another organization, answers as no_role. A refused request
// changes nothing: no package (or app, space, role) record, R2 object or audit event appears, changes or
// goes. Downloads answer 200 here (bits are streamed from R2; the reference's 302 is not used).
import { beforeAll, describe, expect, it } from "vitest";
import { call, get, jsonOf, waitForJob } from "../../helpers/api";
import { makeApp } from "../../helpers/fixtures";
import { adminAuth } from "../../helpers/tokens";
import { ROLES, world, type RoleName, type World } from "../../helpers/world";
import {
  appZip, createBits, createDocker, dockerBody, packageKeys, readyBitsPackage, uploadZip, type ListJson, type PackageJson,
} from "./helpers";
import {
  APP_INVALID, describeOutcome, expectOutcome, FORBIDDEN, notFound, REFERENCE_NAME, refusedWithoutChange, statusOf, SUSPENDED,
  type Outcome,
} from "../../helpers/outcomes";

type Actor = RoleName | "outsider";
const ACTORS: readonly Actor[] = [...ROLES, "outsider"];
const READERS: readonly Actor[] = ["admin", "aro", "ga", "dev", "mgr", "aud", "sup", "om"];

/** Every reader gets `read`; oa, obm, nr (and a developer of another org) get `blind`. */
const readRow = (read: Outcome, blind: Outcome) =>
  Object.fromEntries(ACTORS.map((a) => [a, READERS.includes(a) ? read : blind])) as Record<Actor, Outcome>;

/** admin and the space developer write; the other readers 403 NotAuthorized; the blind get `blind`. */
const writeRow = (ok: number, blind: Outcome, developer: Outcome = ok) =>
  ({ ...readRow(FORBIDDEN, blind), admin: ok, dev: developer }) as Record<Actor, Outcome>;

/** A world: org O (S, S2), O3 (S3); apps A, A2x (buildpack) and D (docker) in S. */
interface Fixture {
  w: World;
  A: { guid: string };
  A2x: { guid: string };
  D: { guid: string };
}

async function fixture(suspended: boolean): Promise<Fixture> {
  const w = await world({ suspended });
  return {
    w,
    A: await makeApp({ spaceGuid: w.space.guid, name: "A" }),
    A2x: await makeApp({ spaceGuid: w.space.guid, name: "A2x" }),
    D: await makeApp({ spaceGuid: w.space.guid, name: "D", lifecycle: "docker" }),
  };
}

let active: Fixture;
let suspended: Fixture;
/** PB: bits of A, AWAITING_UPLOAD; PD: docker of D, READY (the reference's fixture). */
let PB: PackageJson;
let PD: PackageJson;

beforeAll(async () => {
  active = await fixture(false);
  suspended = await fixture(true);
  PB = await createBits(active.A.guid);
  PD = await createDocker(active.D.guid);
});

// ---------------------------------------------------------------------------------------------
// Reads: the lists run first, while PB and PD are the only packages there are.

describe("C45 GET /v3/packages?per_page=2", () => {
  for (const who of ACTORS) {
    const sees = READERS.includes(who);
    it(`C45 ${REFERENCE_NAME[who]} → 200 ${sees ? "with PB and PD in full" : "[]"}`, async () => {
      const res = await get("/v3/packages?per_page=2", active.w.auth[who]);
      expect(res.status).toBe(200);
      const body = await jsonOf<ListJson>(res);
      expect(body.resources).toEqual(sees ? [PB, PD] : []);
      expect(body.pagination.total_results).toBe(sees ? 2 : 0);
    });
  }
});

const readCases: { id: string; action: string; expected: Record<Actor, Outcome>; run: (f: Fixture, auth: string) => Promise<Response>; body: () => unknown }[] = [
  {
    id: "C53", action: "GET /v3/apps/:guid/packages", expected: readRow(200, [404, notFound("App")]),
    run: (f, auth) => get(`/v3/apps/${f.A.guid}/packages`, auth),
    body: () => ({ resources: [PB] }),
  },
  {
    id: "C55", action: "GET /v3/packages/:guid", expected: readRow(200, [404, notFound("Package")]),
    run: (_f, auth) => get(`/v3/packages/${PB.guid}`, auth),
    body: () => PB,
  },
];

for (const c of readCases) {
  describe(`${c.id} ${c.action}`, () => {
    for (const who of ACTORS) {
      const outcome = c.expected[who];
      it(`${c.id} ${REFERENCE_NAME[who]} → ${describeOutcome(outcome)}`, async () => {
        const send = () => c.run(active, active.w.auth[who]);
        if (statusOf(outcome) === 200) {
          const res = await send();
          expect(res.status).toBe(200);
          expect(await jsonOf(res)).toMatchObject(c.body() as object);
        } else {
          await refusedWithoutChange(send, outcome);
        }
      });
    }
  });
}

describe("C77 GET /v3/packages/:guid/download of a READY package", () => {
  let ready: PackageJson;
  let zip: Uint8Array;
  beforeAll(async () => {
    zip = await appZip("matrix download\n");
    ready = await readyBitsPackage(active.A.guid, zip);
  });
  // Reading bits needs the right to read secrets: admin, admin_read_only, space developer.
  const expected: Record<Actor, Outcome> = { ...readRow(FORBIDDEN, [404, notFound("Package")]), admin: 200, aro: 200, dev: 200 };
  for (const who of ACTORS) {
    const outcome = expected[who];
    it(`C77 ${REFERENCE_NAME[who]} → ${describeOutcome(outcome)}`, async () => {
      const run = () => get(`/v3/packages/${ready.guid}/download`, active.w.auth[who]);
      if (statusOf(outcome) === 200) {
        const res = await run();
        expect(res.status).toBe(200);
        expect(new Uint8Array(await res.arrayBuffer())).toEqual(zip);
      } else {
        // A refused download records no audit.app.package.download either.
        await refusedWithoutChange(run, outcome);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Writes, in the active organization and (the matrix's last row) with the organization suspended.

interface WriteCase<T = unknown> {
  /** The conformance cases of the active row and of the suspended row. */
  ids: [string, string];
  action: string;
  expected: Record<Actor, Outcome>;
  /** The suspended-organization row. */
  whenSuspended: Record<Actor, Outcome>;
  /** Makes what the request needs, as admin (before the snapshot of a refused request). */
  prepare: (f: Fixture) => Promise<T>;
  send: (f: Fixture, target: T, auth: string) => Promise<Response>;
  /** The effect of a success. */
  succeeded: (f: Fixture, target: T, res: Response) => Promise<void>;
}

const writeCase = <T>(c: WriteCase<T>) => c as unknown as WriteCase;
const packageMissing: Outcome = [404, notFound("Package")];

const writeCases: WriteCase[] = [
  writeCase({
    ids: ["C03 C04", "C18"], action: "POST /v3/packages (docker for D)",
    expected: writeRow(201, APP_INVALID), whenSuspended: writeRow(201, APP_INVALID, SUSPENDED),
    prepare: async () => undefined,
    send: (f, _t, auth) => call("POST", "/v3/packages", { auth, body: dockerBody(f.D.guid) }),
    succeeded: async (f, _t, res) => {
      const pkg = await jsonOf<PackageJson>(res);
      expect(pkg).toMatchObject({ type: "docker", state: "READY", relationships: { app: { data: { guid: f.D.guid } } } });
      expect((await get(`/v3/packages/${pkg.guid}`, await adminAuth())).status).toBe(200);
    },
  }),
  writeCase({
    ids: ["C25 C26", "suspended row"], action: "POST /v3/packages?source_guid= (copy PD into A2x)",
    expected: writeRow(201, APP_INVALID), whenSuspended: writeRow(201, APP_INVALID, SUSPENDED),
    prepare: async (f) => (f === active ? PD : await createDocker(f.D.guid)),
    send: (f, source, auth) =>
      call("POST", `/v3/packages?source_guid=${source.guid}`, { auth, body: { relationships: { app: { data: { guid: f.A2x.guid } } } } }),
    succeeded: async (f, source, res) => {
      const copy = await jsonOf<PackageJson>(res);
      expect(copy.guid).not.toBe(source.guid);
      expect(copy).toMatchObject({
        type: "docker", state: "READY", data: { image: "registry/image:latest", username: null, password: null },
        relationships: { app: { data: { guid: f.A2x.guid } } },
      });
    },
  }),
  writeCase({
    ids: ["C73", "C73"], action: "POST /v3/packages/:guid/upload",
    expected: writeRow(200, packageMissing), whenSuspended: writeRow(200, packageMissing, SUSPENDED),
    prepare: async (f) => ({ pkg: await createBits(f.A.guid), zip: await appZip("matrix upload\n") }),
    send: (_f, { pkg, zip }, auth) => uploadZip(pkg.guid, zip, auth),
    succeeded: async (_f, { pkg }, res) => {
      expect((await jsonOf<PackageJson>(res)).state).toBe("READY");
      expect(await packageKeys(pkg.guid)).toHaveLength(1);
    },
  }),
  writeCase({
    ids: ["C64", "C64"], action: "PATCH /v3/packages/:guid (metadata)",
    expected: writeRow(200, packageMissing), whenSuspended: writeRow(200, packageMissing, SUSPENDED),
    prepare: (f) => createBits(f.A.guid),
    send: (_f, pkg, auth) =>
      call("PATCH", `/v3/packages/${pkg.guid}`, { auth, body: { metadata: { labels: { release: "stable" }, annotations: { checksum: "SHA" } } } }),
    succeeded: async (_f, pkg, res) => {
      expect((await jsonOf<PackageJson>(res)).metadata).toEqual({ labels: { release: "stable" }, annotations: { checksum: "SHA" } });
      expect((await jsonOf<PackageJson>(await get(`/v3/packages/${pkg.guid}`, await adminAuth()))).metadata.labels).toEqual({ release: "stable" });
    },
  }),
  writeCase({
    ids: ["C67", "C67"], action: "DELETE /v3/packages/:guid",
    expected: writeRow(202, packageMissing), whenSuspended: writeRow(202, packageMissing, SUSPENDED),
    prepare: (f) => readyBitsPackage(f.A.guid),
    send: (_f, pkg, auth) => call("DELETE", `/v3/packages/${pkg.guid}`, { auth }),
    succeeded: async (_f, pkg, res) => {
      const job = await waitForJob(res.headers.get("Location")!, await adminAuth());
      expect(job.state).toBe("COMPLETE");
      expect((await get(`/v3/packages/${pkg.guid}`, await adminAuth())).status).toBe(404);
      expect(await packageKeys(pkg.guid)).toEqual([]);
    },
  }),
];

for (const c of writeCases) {
  for (const [id, label, fixtureOf, row] of [
    [c.ids[0], "active organization", () => active, c.expected],
    [c.ids[1], "organization suspended", () => suspended, c.whenSuspended],
  ] as const) {
    describe(`${id} ${c.action}, ${label}`, () => {
      for (const who of ACTORS) {
        const outcome = row[who];
        it(`${id} ${REFERENCE_NAME[who]} → ${describeOutcome(outcome)} (${label})`, async () => {
          const f = fixtureOf();
          const target = await c.prepare(f);
          const send = () => c.send(f, target, f.w.auth[who]);
          if (typeof outcome === "number") {
            const res = await send();
            await expectOutcome(res, outcome);
            await c.succeeded(f, target, res);
          } else {
            await refusedWithoutChange(send, outcome);
          }
        });
      }
    });
  }
}
