// The reference's fixture world of its conformance cases, the one world of these tests: org O with
// spaces S and S2, org O3 with space S3; with a user per role (world), each with a token as the
// reference's request specs make them (local roles carry read+write; global roles their global scope +
// write), or with the apps of the package cases (makeWorld). Every call makes a fresh world.
import { env } from "cloudflare:workers";
import { database, timestamp } from "../../src/db/client";
import { users, type RoleType } from "../../src/db/schema";
import { grant, makeApp, makeOrg, makeSpace } from "./fixtures";
import { bearer, GLOBAL_ROLE_SCOPES, SCOPES } from "./tokens";

export const ROLES = ["admin", "aro", "ga", "dev", "mgr", "aud", "sup", "om", "oa", "obm", "nr"] as const;
export type RoleName = (typeof ROLES)[number];

const localGrants: Partial<Record<RoleName, [RoleType, "S" | "O"][]>> = {
  dev: [["organization_user", "O"], ["space_developer", "S"]],
  mgr: [["organization_user", "O"], ["space_manager", "S"]],
  aud: [["organization_user", "O"], ["space_auditor", "S"]],
  sup: [["organization_user", "O"], ["space_supporter", "S"]],
  om: [["organization_manager", "O"]],
  oa: [["organization_auditor", "O"]],
  obm: [["organization_billing_manager", "O"]],
  nr: [["organization_user", "O"]],
};

const scopesOf: Record<RoleName, readonly string[]> = {
  admin: SCOPES.admin,
  aro: GLOBAL_ROLE_SCOPES.adminReadOnly,
  ga: GLOBAL_ROLE_SCOPES.globalAuditor,
  dev: SCOPES.user, mgr: SCOPES.user, aud: SCOPES.user, sup: SCOPES.user,
  om: SCOPES.user, oa: SCOPES.user, obm: SCOPES.user, nr: SCOPES.user,
};

/** The places of the fixture: org O with spaces S and S2, org O3 with space S3. */
async function places(options: { suspended?: boolean } = {}) {
  const O = await makeOrg({ suspended: options.suspended ?? false });
  const S = await makeSpace({ orgGuid: O.guid });
  const S2 = await makeSpace({ orgGuid: O.guid });
  const O3 = await makeOrg();
  const S3 = await makeSpace({ orgGuid: O3.guid });
  return { O, S, S2, O3, S3 };
}

/** The places and a user per role with a token. */
export async function world(options: { suspended?: boolean } = {}) {
  const id = crypto.randomUUID().slice(0, 8);
  const { O: org, S: space, S2: space2, O3: org3, S3: space3 } = await places(options);
  const user = Object.fromEntries(ROLES.map((r) => [r, `${r}-${id}`])) as Record<RoleName | "outsider", string>;
  user.outsider = `outsider-${id}`;
  for (const [role, grants] of Object.entries(localGrants) as [RoleName, [RoleType, "S" | "O"][]][]) {
    for (const [type, where] of grants) {
      await grant(user[role], type, where === "S" ? { spaceGuid: space.guid } : { orgGuid: org.guid });
    }
  }
  // Somebody with roles only in O3/S3: sees and changes nothing in O.
  await grant(user.outsider, "organization_user", { orgGuid: org3.guid });
  await grant(user.outsider, "space_developer", { spaceGuid: space3.guid });
  // Every role holder has a user row, as role grants through the API make them.
  await database(env.DB).insert(users).values(Object.values(user).map((guid) => ({ guid, createdAt: timestamp() })));
  const auth = {} as Record<RoleName | "outsider", string>;
  for (const r of ROLES) auth[r] = await bearer({ user: user[r], scopes: scopesOf[r] });
  auth.outsider = await bearer({ user: user.outsider, scopes: SCOPES.user });
  return { org, space, space2, org3, space3, user, auth };
}
export type World = Awaited<ReturnType<typeof world>>;

/** Org O (space S, S2), org O3 (space S3); apps A, A2, D (docker) in S, B in S2, C in S3. */
export async function makeWorld() {
  const { O, S, S2, O3, S3 } = await places();
  return {
    O, S, S2, O3, S3,
    A: await makeApp({ spaceGuid: S.guid }),
    A2: await makeApp({ spaceGuid: S.guid }),
    D: await makeApp({ spaceGuid: S.guid, lifecycle: "docker" }),
    B: await makeApp({ spaceGuid: S2.guid }),
    C: await makeApp({ spaceGuid: S3.guid }),
  };
}

export const NOT_AUTHORIZED = { detail: "You are not authorized to perform the requested action", title: "CF-NotAuthorized", code: 10003 };
export const ORG_SUSPENDED = { detail: "The organization is suspended", title: "CF-OrgSuspended", code: 10017 };
export const notFound = (what: string) => ({ detail: `${what} not found`, title: "CF-ResourceNotFound", code: 10010 });
export const unprocessable = (detail: string) => ({ detail, title: "CF-UnprocessableEntity", code: 10008 });
