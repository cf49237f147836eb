// Answers the reference gives word for word (issue 12, conformance items).
import { describe, expect, it } from "vitest";
import { get, jsonOf, ORIGIN, v3Error } from "../helpers/api";
import { makeApp } from "../helpers/fixtures";
import { adminAuth } from "../helpers/tokens";

describe("GET /v3/stacks?default=", () => {
  it("a value other than true or false is 400 \"Default must be 'true' or 'false'\"", async () => {
    const res = await get("/v3/stacks?default=maybe", await adminAuth());
    expect(res.status).toBe(400);
    expect(await v3Error(res)).toEqual({
      title: "CF-BadQueryParameter", code: 10005, detail: "The query parameter is invalid: Default must be 'true' or 'false'",
    });
  });
});

describe("GET /v3/apps/:guid/packages with app, organization or space filters", () => {
  it.each([
    ["space_guids=S", "'space_guids'"],
    ["space_guids=S&app_guids=A&organization_guids=O", "'app_guids', 'organization_guids', 'space_guids'"],
    ["organization_guids=O&space_guids=S", "'organization_guids', 'space_guids'"],
  ])("%s: the reference's message, in its order, without a list of valid parameters", async (query, named) => {
    const app = await makeApp();
    const res = await get(`/v3/apps/${app.guid}/packages?${query}`, await adminAuth());
    expect(res.status).toBe(400);
    expect((await v3Error(res)).detail).toBe(`The query parameter is invalid: Unknown query parameter(s): ${named}`);
  });

  it("a parameter no package list knows still gets the list of valid parameters, before the nested message", async () => {
    const app = await makeApp();
    const res = await get(`/v3/apps/${app.guid}/packages?space_guids=S&bogus=1`, await adminAuth());
    expect(res.status).toBe(400);
    expect((await v3Error(res)).detail).toBe(
      "The query parameter is invalid: Unknown query parameter(s): 'bogus'. Valid parameters are: 'page', 'per_page', 'order_by', " +
      "'created_ats', 'updated_ats', 'guids', 'states', 'types', 'app_guids', 'app_guid', 'space_guids', 'organization_guids', " +
      "'label_selector', Unknown query parameter(s): 'space_guids'",
    );
  });
});

describe("GET /", () => {
  it("links.network_policy_v0 and network_policy_v1 are objects, as the reference's root controller", async () => {
    const body = await jsonOf<{ links: Record<string, unknown> }>(await get("/"));
    expect(body.links.network_policy_v0).toEqual({ href: `${ORIGIN}/networking/v0/external` });
    expect(body.links.network_policy_v1).toEqual({ href: `${ORIGIN}/networking/v1/external` });
  });
});
