// Shared by the role matrix and audit tests: the reference's role names, outcomes with their exact error
// bodies, and a snapshot of everything a refused request must leave alone (every package, app, space,
// organization, role and audit event as an admin sees them, and every R2 object).
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { get, jsonOf, v3Error } from "./api";
import { listKeys } from "./r2";
import { adminAuth } from "./tokens";
import { NOT_AUTHORIZED, notFound, ORG_SUSPENDED, unprocessable, type RoleName } from "./world";

export { NOT_AUTHORIZED, notFound, ORG_SUSPENDED, unprocessable };

/**
 * The matrix's column names (the reference's role names) for the world's users; `outsider` has roles only
 * in O3/S3.
 */
export const REFERENCE_NAME: Record<RoleName | "outsider", string> = {
  admin: "admin", aro: "admin_read_only", ga: "global_auditor", dev: "space_developer", mgr: "space_manager",
  aud: "space_auditor", sup: "space_supporter", om: "org_manager", oa: "org_auditor", obm: "org_billing_manager",
  nr: "no_role", outsider: "developer_of_another_org",
};

export type ErrorBody = { detail: string; title: string; code: number };
export type Outcome = number | [number, ErrorBody];

export const statusOf = (o: Outcome) => (typeof o === "number" ? o : o[0]);
export const describeOutcome = (o: Outcome) => (typeof o === "number" ? String(o) : `${o[0]} ${o[1].title}`);

/** The status and, for errors, the exact envelope. */
export async function expectOutcome(res: Response, outcome: Outcome): Promise<void> {
  const [status, error] = typeof outcome === "number" ? [outcome, undefined] : outcome;
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${await res.clone().text()}`);
  if (error) expect(await v3Error(res)).toEqual(error);
}

export const APP_INVALID: Outcome = [422, unprocessable("App is invalid. Ensure it exists and you have access to it.")];
export const SOURCE_INVALID: Outcome = [422, unprocessable("Source package is invalid. Ensure it exists and you have access to it.")];
export const FORBIDDEN: Outcome = [403, NOT_AUTHORIZED];
export const SUSPENDED: Outcome = [403, ORG_SUSPENDED];

/** What an admin sees of every package, audit event, app, space, organization and role, and every R2 key. */
export async function snapshot() {
  const admin = await adminAuth();
  const seen: Record<string, unknown> = { keys: await listKeys(env.BITS) };
  for (const resource of ["packages", "audit_events", "apps", "spaces", "organizations", "roles"]) {
    const res = await get(`/v3/${resource}?per_page=5000`, admin);
    expect(res.status, resource).toBe(200);
    seen[resource] = (await jsonOf<{ resources: unknown[] }>(res)).resources;
  }
  return seen;
}

/** Runs a request that must be refused and checks that nothing changed. */
export async function refusedWithoutChange(run: () => Promise<Response>, outcome: Outcome): Promise<void> {
  const before = await snapshot();
  await expectOutcome(await run(), outcome);
  expect(await snapshot()).toEqual(before);
}
