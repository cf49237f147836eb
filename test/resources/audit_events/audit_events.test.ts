// GET /v3/audit_events: the reference's event shape, its filters, and who sees which events
// (global readers all; space auditors/developers/supporters their spaces'; org auditors their org's).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { auditEvents } from "../../../src/db/schema";
import { call, get, jsonOf, ORIGIN, v3Error } from "../../helpers/api";
import { notFound, world, type RoleName } from "../../helpers/world";

type Event = { guid: string; type: string; target: { guid: string }; space: { guid: string } | null; organization: { guid: string } | null };

async function setup() {
  const w = await world();
  const inS = await jsonOf<{ guid: string }>(await call("POST", "/v3/apps", { auth: w.auth.dev, body: { name: "in-s", relationships: { space: { data: { guid: w.space.guid } } } } }));
  const inS3 = await jsonOf<{ guid: string }>(await call("POST", "/v3/apps", { auth: w.auth.outsider, body: { name: "in-s3", relationships: { space: { data: { guid: w.space3.guid } } } } }));
  await call("POST", "/v3/roles", { auth: w.auth.om, body: { type: "organization_auditor", relationships: { user: { data: { guid: "someone" } }, organization: { data: { guid: w.org.guid } } } } });
  return { w, inS, inS3 };
}

describe("GET /v3/audit_events", () => {
  it("shows an event in the reference's shape", async () => {
    const { w, inS } = await setup();
    const body = await jsonOf<{ resources: Record<string, unknown>[] }>(await get(`/v3/audit_events?target_guids=${inS.guid}`, w.auth.admin));
    const event = body.resources[0]!;
    expect(Object.keys(event)).toEqual(["guid", "created_at", "updated_at", "type", "actor", "target", "data", "space", "organization", "links"]);
    expect(event).toMatchObject({
      type: "audit.app.create",
      actor: { guid: w.user.dev, type: "user", name: `${w.user.dev}@example.com` },
      target: { guid: inS.guid, type: "app", name: "in-s" },
      data: { request: { name: "in-s", relationships: { space: { data: { guid: w.space.guid } } } } },
      space: { guid: w.space.guid },
      organization: { guid: w.org.guid },
      links: { self: { href: `/v3/audit_events/${event.guid as string}` } },
    });
    expect(event.updated_at).toBe(event.created_at);
    const one = await jsonOf(await get(`/v3/audit_events/${event.guid as string}`, w.auth.aud));
    expect(one).toEqual(event);
  });

  it("filters by types, target_guids, space_guids, organization_guids and created_ats; paginates", async () => {
    const { w, inS, inS3 } = await setup();
    const list = async (query: string) =>
      (await jsonOf<{ resources: Event[] }>(await get(`/v3/audit_events?${query}`, w.auth.admin))).resources;
    expect((await list(`types=audit.app.create&space_guids=${w.space.guid},${w.space3.guid}`)).map((e) => e.target.guid)).toEqual([inS.guid, inS3.guid]);
    expect((await list(`organization_guids=${w.org3.guid}`)).map((e) => e.target.guid)).toEqual([inS3.guid]);
    expect((await list(`types=audit.user.organization_auditor_add&organization_guids=${w.org.guid}`)).map((e) => e.target.guid)).toEqual(["someone"]);
    expect(await list(`target_guids=${inS.guid}&created_ats[lt]=2000-01-01T00:00:00Z`)).toEqual([]);
    expect(await list(`target_guids=${inS.guid}&created_ats[gt]=2000-01-01T00:00:00Z`)).toHaveLength(1);
    const page = await jsonOf<{ pagination: { total_results: number; next: { href: string } | null } }>(
      await get(`/v3/audit_events?organization_guids=${w.org.guid}&per_page=1`, w.auth.admin));
    expect(page.pagination.total_results).toBe(2);
    expect(page.pagination.next?.href).toBe(`${ORIGIN}/v3/audit_events?organization_guids=${w.org.guid}&page=2&per_page=1`);
    expect((await get("/v3/audit_events?created_ats=yesterday", w.auth.admin)).status).toBe(400);
    expect((await v3Error(await get("/v3/audit_events?actor_guids=x", w.auth.admin))).title).toBe("CF-BadQueryParameter");
  });

  it("who sees which event", async () => {
    const { w, inS, inS3 } = await setup();
    const sees = async (who: RoleName | "outsider") => {
      const events = (await jsonOf<{ resources: Event[] }>(await get("/v3/audit_events?per_page=5000", w.auth[who]))).resources;
      return new Set(events.map((e) => e.target.guid).filter((g) => [inS.guid, inS3.guid, "someone"].includes(g)));
    };
    const all = new Set([inS.guid, inS3.guid, "someone"]);
    for (const who of ["admin", "aro", "ga"] as const) expect(await sees(who), who).toEqual(all);
    for (const who of ["dev", "aud", "sup"] as const) expect(await sees(who), who).toEqual(new Set([inS.guid]));
    // The reference: space managers and org managers do not see a space's events; org auditors see the org's (and its spaces').
    for (const who of ["mgr", "om", "obm", "nr"] as const) expect(await sees(who), who).toEqual(new Set());
    expect(await sees("oa")).toEqual(new Set([inS.guid, "someone"]));
    expect(await sees("outsider")).toEqual(new Set([inS3.guid]));
    const [hidden] = await database(env.DB).select().from(auditEvents).limit(1);
    expect(await v3Error(await get(`/v3/audit_events/${hidden!.guid}`, w.auth.obm))).toEqual(notFound("Event"));
  });
});
