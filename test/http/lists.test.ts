// What every list does with page numbers and timestamps no database could use: a page past the end
// is an empty 200, a page too large to become an offset is 400, an impossible date is 400 (never a 500).
import { describe, expect, it } from "vitest";
import { get, jsonOf, v3Error } from "../helpers/api";
import { makeApp } from "../helpers/fixtures";
import { adminAuth } from "../helpers/tokens";

/** Roles and users report bad query parameters as 422 without the "query parameter is invalid" prefix, as the reference does. */
const UNPROCESSABLE = new Set(["/v3/roles", "/v3/users"]);
const expectRefused = async (list: string, res: Response, detail: string | RegExp) => {
  const error = await v3Error(res);
  if (UNPROCESSABLE.has(list)) {
    expect(res.status, list).toBe(422);
    expect(error.title).toBe("CF-UnprocessableEntity");
  } else {
    expect(res.status, list).toBe(400);
    expect(error.title).toBe("CF-BadQueryParameter");
  }
  if (typeof detail === "string") expect(error.detail, list).toBe(UNPROCESSABLE.has(list) ? detail : `The query parameter is invalid: ${detail}`);
  else expect(error.detail, list).toMatch(detail);
};

const V3_LISTS = [
  "/v3/buildpacks", "/v3/organizations", "/v3/spaces", "/v3/apps", "/v3/packages", "/v3/stacks",
  "/v3/roles", "/v3/users", "/v3/audit_events",
];

describe("list parameters at their limits, on every list", () => {
  it("page=2147483647 is an empty page; larger pages are 400 CF-BadQueryParameter, not a 500", async () => {
    const auth = await adminAuth();
    const app = await makeApp();
    for (const list of [...V3_LISTS, `/v3/apps/${app.guid}/packages`]) {
      const last = await get(`${list}?page=2147483647&per_page=5000`, auth);
      expect(last.status, list).toBe(200);
      const body = await jsonOf<{ resources: unknown[]; pagination: { previous: { href: string } | null } }>(last);
      expect(body.resources, list).toEqual([]);
      expect(body.pagination.previous?.href, list).toContain("page=2147483646");
      for (const page of ["2147483648", "9223372036854775807", "99999999999999999999"]) {
        await expectRefused(list, await get(`${list}?page=${page}`, auth), "Page must be between 1 and 2147483647");
      }
    }
    const v2 = await get("/v2/buildpacks?page=2147483647&results-per-page=100", auth);
    expect(v2.status).toBe(200);
    expect((await jsonOf<{ resources: unknown[] }>(v2)).resources).toEqual([]);
    for (const page of ["2147483648", "184467440737095516"]) {
      const res = await get(`/v2/buildpacks?page=${page}`, auth);
      expect(res.status).toBe(400);
      expect(await jsonOf(res)).toMatchObject({ error_code: "CF-BadQueryParameter", code: 10005, description: "The query parameter is invalid: page must be <= 2147483647" });
    }
  });

  it("timestamps in the right format that name no instant (month 13, February 30, hour 99) are 400 on every list that filters by them", async () => {
    const auth = await adminAuth();
    for (const list of V3_LISTS) {
      for (const query of ["created_ats=2020-13-45T99:99:99Z", "created_ats=2020-02-30T00:00:00Z", "updated_ats[gt]=2021-01-01T24:00:00Z", "created_ats=2020-01-01T00:00:00Z,2020-04-31T00:00:00Z"]) {
        await expectRefused(list, await get(`${list}?${query}`, auth), /ats has an invalid timestamp format\. Timestamps should be formatted as 'YYYY-MM-DDThh:mm:ssZ'/);
      }
      expect((await get(`${list}?created_ats=2020-02-29T23:59:59Z&updated_ats[lte]=2024-12-31T00:00:00Z`, auth)).status, list).toBe(200);
    }
  });
});
