// Records made straight in D1 for tests that need an organization, space, app or role around the
// resource under test. The API creates them the same way; these skip the HTTP round trip.
import { env } from "cloudflare:workers";
import { database, timestamp } from "../../src/db/client";
import { apps, organizations, roles, spaces, type RoleType } from "../../src/db/schema";

const db = () => database(env.DB);
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

export async function makeOrg(options: { name?: string; suspended?: boolean } = {}) {
  const [org] = await db().insert(organizations).values({
    guid: crypto.randomUUID(), name: options.name ?? unique("org"), suspended: options.suspended ?? false, createdAt: timestamp(),
  }).returning();
  return org!;
}

export async function makeSpace(options: { name?: string; orgGuid?: string } = {}) {
  const orgGuid = options.orgGuid ?? (await makeOrg()).guid;
  const [space] = await db().insert(spaces).values({
    guid: crypto.randomUUID(), name: options.name ?? unique("space"), organizationGuid: orgGuid, createdAt: timestamp(),
  }).returning();
  return space!;
}

export async function makeApp(options: { name?: string; spaceGuid?: string; lifecycle?: "buildpack" | "docker" } = {}) {
  const spaceGuid = options.spaceGuid ?? (await makeSpace()).guid;
  const lifecycle = options.lifecycle ?? "buildpack";
  const [app] = await db().insert(apps).values({
    guid: crypto.randomUUID(),
    name: options.name ?? unique("app"),
    spaceGuid,
    lifecycleType: lifecycle,
    lifecycleData: lifecycle === "buildpack" ? JSON.stringify({ buildpacks: [], stack: "cflinuxfs4" }) : "{}",
    createdAt: timestamp(),
  }).returning();
  return app!;
}

/** Gives `userGuid` a role: organization roles take `orgGuid`, space roles take `spaceGuid`. */
export async function grant(userGuid: string, type: RoleType, target: { orgGuid?: string; spaceGuid?: string }) {
  const isSpaceRole = type.startsWith("space_");
  await db().insert(roles).values({
    guid: crypto.randomUUID(),
    type,
    userGuid,
    organizationGuid: isSpaceRole ? null : (target.orgGuid ?? null),
    spaceGuid: isSpaceRole ? (target.spaceGuid ?? null) : null,
    createdAt: timestamp(),
  });
}
