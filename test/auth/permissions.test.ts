// The space verdict of src/auth/permissions.ts: the pure function over the fetched facts (every
// global scope against every role, table-driven), and the one statement that fetches those facts in
// real D1, by guid and by a subquery, which must agree with the condition that shows and lists use.
import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { readableSpaces, spaceAccess, spaceAccessReads, spaceAccessVerdict, type SpaceAccess, type SpaceFacts } from "../../src/auth/permissions";
import type { Identity } from "../../src/auth/token";
import { database } from "../../src/db/client";
import { runReads } from "../../src/db/reads";
import { apps, roleTypes, spaces, type RoleType } from "../../src/db/schema";
import { grant, makeApp, makeOrg, makeSpace } from "../helpers/fixtures";
import { SCOPES } from "../helpers/tokens";

const db = database(env.DB);

const identity = (scopes: readonly string[], guid = `user-${crypto.randomUUID().slice(0, 8)}`): Identity => ({
  guid, isClient: false, scopes: new Set(scopes), email: null, userName: null,
});

type Flags = Pick<SpaceAccess, "canRead" | "canWrite" | "canReadSecrets" | "canManage" | "canManageOrganization">;
const flags = (a: SpaceAccess): Flags => ({
  canRead: a.canRead, canWrite: a.canWrite, canReadSecrets: a.canReadSecrets, canManage: a.canManage, canManageOrganization: a.canManageOrganization,
});
// read, write, secrets, manage, manage organization
const F = (r: number, w: number, s: number, m: number, o: number): Flags => ({
  canRead: r === 1, canWrite: w === 1, canReadSecrets: s === 1, canManage: m === 1, canManageOrganization: o === 1,
});
const NOTHING = F(0, 0, 0, 0, 0);

const facts = (roles: readonly RoleType[], suspended = false): SpaceFacts => ({ organizationGuid: "org-1", suspended, roles });

describe("spaceAccessVerdict: scopes x roles", () => {
  const cases: [string, readonly string[], readonly RoleType[], Flags][] = [
    ["admin, no role", SCOPES.admin, [], F(1, 1, 1, 1, 1)],
    ["admin_read_only, no role", SCOPES.adminReadOnly, [], F(1, 0, 1, 0, 0)],
    ["global_auditor, no role", SCOPES.globalAuditor, [], F(1, 0, 0, 0, 0)],
    ["global_auditor who is also space developer", SCOPES.globalAuditor, ["space_developer"], F(1, 1, 1, 0, 0)],
    ["user, no role", SCOPES.user, [], NOTHING],
    ["space_developer", SCOPES.user, ["space_developer"], F(1, 1, 1, 0, 0)],
    ["space_manager", SCOPES.user, ["space_manager"], F(1, 0, 0, 1, 0)],
    ["space_auditor", SCOPES.user, ["space_auditor"], F(1, 0, 0, 0, 0)],
    ["space_supporter", SCOPES.user, ["space_supporter"], F(1, 0, 0, 0, 0)],
    ["organization_manager", SCOPES.user, ["organization_manager"], F(1, 0, 0, 1, 1)],
    ["organization_user only", SCOPES.user, ["organization_user"], NOTHING],
    ["organization_auditor only", SCOPES.user, ["organization_auditor"], NOTHING],
    ["organization_billing_manager only", SCOPES.user, ["organization_billing_manager"], NOTHING],
    ["organization_user + space_auditor", SCOPES.user, ["organization_user", "space_auditor"], F(1, 0, 0, 0, 0)],
    ["organization_manager + space_developer", SCOPES.user, ["organization_manager", "space_developer"], F(1, 1, 1, 1, 1)],
  ];
  it.each(cases)("%s", (_name, scopes, roles, expected) => {
    const verdict = spaceAccessVerdict(identity(scopes), facts(roles));
    expect(flags(verdict)).toEqual(expected);
    expect(verdict.organizationGuid).toBe("org-1");
    expect(verdict.isAdmin).toBe(scopes.includes("cloud_controller.admin"));
  });

  it("a space that does not exist: nothing, for admins too", () => {
    for (const scopes of [SCOPES.admin, SCOPES.adminReadOnly, SCOPES.user]) {
      const verdict = spaceAccessVerdict(identity(scopes), undefined);
      expect(flags(verdict)).toEqual(NOTHING);
      expect(verdict.organizationGuid).toBeNull();
      expect(verdict.orgSuspended).toBe(false);
    }
  });

  it("suspension is a fact passed through (assertCanWrite decides)", () => {
    expect(spaceAccessVerdict(identity(SCOPES.user), facts(["space_developer"], true)).orgSuspended).toBe(true);
    expect(spaceAccessVerdict(identity(SCOPES.user), facts(["space_developer"], false)).orgSuspended).toBe(false);
  });
});

describe("spaceAccessReads in D1: one statement, by guid or by subquery", () => {
  it("reads the roles in the space and in its organization only, and only the caller's", async () => {
    const org = await makeOrg({ suspended: true });
    const space = await makeSpace({ orgGuid: org.guid });
    const otherSpace = await makeSpace({ orgGuid: org.guid });
    const who = identity(SCOPES.user);
    await grant(who.guid, "space_manager", { spaceGuid: otherSpace.guid }); // another space: not counted
    await grant(who.guid, "organization_user", { orgGuid: org.guid });
    await grant("someone-else", "space_developer", { spaceGuid: space.guid }); // another user: not counted
    expect(flags(await spaceAccess(db, who, space.guid))).toEqual(NOTHING);

    await grant(who.guid, "space_developer", { spaceGuid: space.guid });
    const access = await spaceAccess(db, who, space.guid);
    expect(flags(access)).toEqual(F(1, 1, 1, 0, 0));
    expect(access.orgSuspended).toBe(true);
    expect(access.organizationGuid).toBe(org.guid);
  });

  it("a subquery naming the space (the app's, in the same batch) gives the same verdict; NULL gives none", async () => {
    const space = await makeSpace();
    const app = await makeApp({ spaceGuid: space.guid });
    const who = identity(SCOPES.user);
    await grant(who.guid, "space_auditor", { spaceGuid: space.guid });
    const spaceOf = (guid: string) => sql`(SELECT ${apps.spaceGuid} FROM ${apps} WHERE ${apps.guid} = ${guid})`;
    const [byGuid, bySubquery, missing] = await runReads(
      db,
      spaceAccessReads(db, who, space.guid),
      spaceAccessReads(db, who, spaceOf(app.guid)),
      spaceAccessReads(db, who, spaceOf("no-such-app")),
    );
    expect(flags(byGuid)).toEqual(F(1, 0, 0, 0, 0));
    expect(bySubquery).toEqual(byGuid);
    expect(flags(missing)).toEqual(NOTHING);
    expect(missing.organizationGuid).toBeNull();
  });

  it("an admin's verdict needs no roles; a missing space is still nothing", async () => {
    const space = await makeSpace();
    expect(flags(await spaceAccess(db, identity(SCOPES.admin), space.guid))).toEqual(F(1, 1, 1, 1, 1));
    expect(flags(await spaceAccess(db, identity(SCOPES.admin), crypto.randomUUID()))).toEqual(NOTHING);
  });

  it.each([...roleTypes])("the show/list condition (readableSpaces) agrees with the verdict's canRead: %s", async (role) => {
    const org = await makeOrg();
    const space = await makeSpace({ orgGuid: org.guid });
    const who = identity(SCOPES.user);
    await grant(who.guid, role, role.startsWith("space_") ? { spaceGuid: space.guid } : { orgGuid: org.guid });
    const visible = await db.select({ guid: spaces.guid }).from(spaces)
      .where(and(eq(spaces.guid, space.guid), readableSpaces(who, spaces.guid, spaces.organizationGuid)));
    expect(visible.length === 1).toBe((await spaceAccess(db, who, space.guid)).canRead);
  });
});
