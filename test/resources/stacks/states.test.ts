// Stack states (the reference's StackStates and StackStateValidator): ACTIVE by default; what create
// and update accept; DISABLED and RESTRICTED stacks take no new apps; a stack apps use is not deleted.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { ApiError } from "../../../src/http/errors";
import { createApp, resolveLifecycle } from "../../../src/resources/apps/store";
import { call, get, jsonOf, v3Error } from "../../helpers/api";
import { makeApp, makeSpace } from "../../helpers/fixtures";
import { adminAuth } from "../../helpers/tokens";

type Stack = { guid: string; name: string; state: string; state_reason: string | null; updated_at: string | null };
const unique = (p: string) => `${p}-${crypto.randomUUID().slice(0, 8)}`;
const STATE_ERROR = "State must be one of ACTIVE, RESTRICTED, DEPRECATED, DISABLED";

async function createStack(auth: string, body: Record<string, unknown>) {
  const res = await call("POST", "/v3/stacks", { auth, body });
  expect(res.status, await res.clone().text()).toBe(201);
  return jsonOf<Stack>(res);
}

describe("stack state on create and update", () => {
  it("is ACTIVE with no reason by default, also for the migrated default stack", async () => {
    const auth = await adminAuth();
    expect(await createStack(auth, { name: unique("s") })).toMatchObject({ state: "ACTIVE", state_reason: null });
    const page = await jsonOf<{ resources: Stack[] }>(await get("/v3/stacks?names=cflinuxfs4", auth));
    expect(page.resources[0]).toMatchObject({ state: "ACTIVE", state_reason: null });
  });

  it("create takes each state and a reason", async () => {
    const auth = await adminAuth();
    for (const state of ["ACTIVE", "RESTRICTED", "DEPRECATED", "DISABLED"]) {
      const stack = await createStack(auth, { name: unique("s"), state, state_reason: `why ${state}` });
      expect(stack).toMatchObject({ state, state_reason: `why ${state}` });
      expect(await jsonOf(await get(`/v3/stacks/${stack.guid}`, auth))).toMatchObject({ state, state_reason: `why ${state}` });
    }
  });

  it.each([
    ["state active", { state: "active" }, STATE_ERROR],
    ["state GONE", { state: "GONE" }, STATE_ERROR],
    ["state null", { state: null }, STATE_ERROR],
    ["state 1", { state: 1 }, STATE_ERROR],
    ["a reason of 1001 characters", { state_reason: "x".repeat(1001) }, "State reason is too long (maximum is 1000 characters)"],
    ["a reason 5", { state_reason: 5 }, "State reason must be a string"],
  ])("create refuses %s with 422 and creates nothing", async (_name, extra, detail) => {
    const auth = await adminAuth();
    const name = unique("s");
    const res = await call("POST", "/v3/stacks", { auth, body: { name, ...extra } });
    expect(res.status).toBe(422);
    expect(await v3Error(res)).toMatchObject({ title: "CF-UnprocessableEntity", detail });
    expect((await jsonOf<{ resources: unknown[] }>(await get(`/v3/stacks?names=${name}`, auth))).resources).toEqual([]);
  });

  it("update sets the state and the reason; a bad state is 422 and changes nothing", async () => {
    const auth = await adminAuth();
    const stack = await createStack(auth, { name: unique("s") });
    const res = await call("PATCH", `/v3/stacks/${stack.guid}`, { auth, body: { state: "DEPRECATED", state_reason: "use cflinuxfs5" } });
    expect(res.status).toBe(200);
    expect(await jsonOf(res)).toMatchObject({ state: "DEPRECATED", state_reason: "use cflinuxfs5" });
    // A reason alone leaves the state; a state alone leaves the reason.
    expect(await jsonOf(await call("PATCH", `/v3/stacks/${stack.guid}`, { auth, body: { state_reason: "soon" } }))).toMatchObject({ state: "DEPRECATED", state_reason: "soon" });
    expect(await jsonOf(await call("PATCH", `/v3/stacks/${stack.guid}`, { auth, body: { state: "DISABLED" } }))).toMatchObject({ state: "DISABLED", state_reason: "soon" });
    const bad = await call("PATCH", `/v3/stacks/${stack.guid}`, { auth, body: { state: "BROKEN", state_reason: "no" } });
    expect(bad.status).toBe(422);
    expect((await v3Error(bad)).detail).toBe(STATE_ERROR);
    expect(await jsonOf(await get(`/v3/stacks/${stack.guid}`, auth))).toMatchObject({ state: "DISABLED", state_reason: "soon" });
  });
});

describe("what a stack's state allows", () => {
  const newApp = async (auth: string, stack: string) => {
    const space = await makeSpace();
    const name = unique("app");
    const res = await call("POST", "/v3/apps", {
      auth, body: { name, relationships: { space: { data: { guid: space.guid } } }, lifecycle: { type: "buildpack", data: { stack } } },
    });
    return { res, name };
  };

  it("ACTIVE and DEPRECATED stacks take new apps", async () => {
    const auth = await adminAuth();
    for (const state of ["ACTIVE", "DEPRECATED"]) {
      const stack = await createStack(auth, { name: unique("s"), state });
      expect((await newApp(auth, stack.name)).res.status, state).toBe(201);
    }
  });

  it("DISABLED and RESTRICTED stacks take no new apps: 422 with the state and its reason, and no app", async () => {
    const auth = await adminAuth();
    for (const state of ["DISABLED", "RESTRICTED"]) {
      const stack = await createStack(auth, { name: unique("s"), state, state_reason: "Moved to cflinuxfs5." });
      const { res, name } = await newApp(auth, stack.name);
      expect(res.status, state).toBe(422);
      expect(await v3Error(res)).toMatchObject({
        title: "CF-UnprocessableEntity",
        detail: `The stack '${stack.name}' is '${state}' and cannot be used for new apps. Moved to cflinuxfs5.`,
      });
      expect((await jsonOf<{ resources: unknown[] }>(await get(`/v3/apps?names=${name}`, auth))).resources).toEqual([]);
    }
  });

  it("a stack disabled after the app's lifecycle was resolved still refuses the app: the create batch checks it", async () => {
    const auth = await adminAuth();
    const db = database(env.DB);
    const stack = await createStack(auth, { name: unique("s") });
    const lifecycle = await resolveLifecycle(db, { type: "buildpack", buildpacks: null, stack: stack.name });
    expect((await call("PATCH", `/v3/stacks/${stack.guid}`, { auth, body: { state: "DISABLED" } })).status).toBe(200);
    const space = await makeSpace();
    const name = unique("app");
    const who = { guid: "admin-user", isClient: false, scopes: new Set<string>(), email: null, userName: null };
    const refused = await createApp(db, who, { name, relationships: { space: space.guid } } as Parameters<typeof createApp>[2], lifecycle, space.organizationGuid)
      .then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).detail).toBe(`The stack '${stack.name}' is 'DISABLED' and cannot be used for new apps.`);
    expect((await jsonOf<{ resources: unknown[] }>(await get(`/v3/apps?names=${name}`, auth))).resources).toEqual([]);
  });

  it("buildpacks are not restricted by the state of their stack", async () => {
    const auth = await adminAuth();
    const stack = await createStack(auth, { name: unique("s"), state: "DISABLED" });
    const res = await call("POST", "/v3/buildpacks", { auth, body: { name: unique("bp"), stack: stack.name } });
    expect(res.status).toBe(201);
  });
});

describe("deleting a stack", () => {
  it("a stack apps use is 422 and stays, with its metadata; once unused it is deleted", async () => {
    const auth = await adminAuth();
    const stack = await createStack(auth, { name: unique("s"), metadata: { labels: { keep: "yes" } } });
    const space = await makeSpace();
    const created = await call("POST", "/v3/apps", {
      auth, body: { name: unique("app"), relationships: { space: { data: { guid: space.guid } } }, lifecycle: { type: "buildpack", data: { stack: stack.name } } },
    });
    expect(created.status).toBe(201);
    const app = await jsonOf<{ guid: string }>(created);
    const refused = await call("DELETE", `/v3/stacks/${stack.guid}`, { auth });
    expect(refused.status).toBe(422);
    expect(await v3Error(refused)).toEqual({
      title: "CF-UnprocessableEntity", code: 10008, detail: `Cannot delete stack '${stack.name}' because apps are currently using the stack.`,
    });
    expect(await jsonOf(await get(`/v3/stacks/${stack.guid}`, auth))).toMatchObject({ name: stack.name, metadata: { labels: { keep: "yes" } } });
    // Docker apps and apps on other stacks do not hold it.
    await makeApp({ lifecycle: "docker" });
    expect((await call("DELETE", `/v3/apps/${app.guid}`, { auth })).status).toBe(202);
    for (let i = 0; i < 50 && (await get(`/v3/apps/${app.guid}`, auth)).status !== 404; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await call("DELETE", `/v3/stacks/${stack.guid}`, { auth })).status).toBe(204);
    expect((await get(`/v3/stacks/${stack.guid}`, auth)).status).toBe(404);
  });
});
