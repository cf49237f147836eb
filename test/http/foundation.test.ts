// What every endpoint shares: headers, the error envelopes, unknown routes, discovery, jobs.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database, timestamp } from "../../src/db/client";
import { jobs } from "../../src/db/schema";
import { failLostJobs, runJob } from "../../src/jobs/jobs";
import { ApiError } from "../../src/http/errors";
import { call, get, jsonOf, ORIGIN } from "../helpers/api";
import { adminAuth, userAuth } from "../helpers/tokens";

describe("headers on every response", () => {
  it("a success carries the request id, security headers and X-Runtime", async () => {
    const res = await get("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("X-VCAP-Request-ID")).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("X-Frame-Options")).toBe("SAMEORIGIN");
    expect(res.headers.get("X-XSS-Protection")).toBe("1; mode=block");
    expect(res.headers.get("X-Runtime")).toMatch(/^\d+\.\d{6}$/);
    expect(res.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
  });

  it("errors carry them too", async () => {
    const res = await get("/v3/nothing-here");
    expect(res.status).toBe(404);
    expect(res.headers.get("X-VCAP-Request-ID")).toBeTruthy();
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("X-Runtime")).toBeTruthy();
  });

  it("the client's X-VCAP-Request-ID is cleaned and kept before our own id", async () => {
    const res = await get("/", undefined, { "X-VCAP-Request-ID": "abc<script>def-1_2" });
    expect(res.headers.get("X-VCAP-Request-ID")).toMatch(/^abcscriptdef-1_2::[0-9a-f-]{36}$/);
  });

  it("X-Request-ID is used when X-VCAP-Request-ID is absent, truncated to 255 characters", async () => {
    const res = await get("/", undefined, { "X-Request-ID": "x".repeat(300) });
    expect(res.headers.get("X-VCAP-Request-ID")).toMatch(new RegExp(`^x{255}::[0-9a-f-]{36}$`));
  });

  it("B3 trace headers are echoed when both are sent", async () => {
    const res = await get("/", undefined, { "X-B3-TraceId": "a".repeat(32), "X-B3-SpanId": "b".repeat(16) });
    expect(res.headers.get("X-B3-TraceId")).toBe("a".repeat(32));
    expect(res.headers.get("X-B3-SpanId")).toBe("b".repeat(16));
  });
});

describe("unknown routes", () => {
  it("answer 404 CF-NotFound 'Unknown request' in the v3 envelope, without authentication", async () => {
    for (const [method, path] of [["GET", "/v3/unknown"], ["PUT", "/v3/stacks/x"], ["GET", "/nope"], ["PATCH", "/v3/jobs/x"]] as const) {
      const res = await call(method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await jsonOf(res)).toEqual({ errors: [{ detail: "Unknown request", title: "CF-NotFound", code: 10000 }] });
    }
  });

  it("answer in the v2 envelope under /v2, with the v2 content type", async () => {
    const res = await call("PATCH", "/v2/buildpacks/x");
    expect(res.status).toBe(404);
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=utf-8");
    expect(await res.text()).toBe('{"description":"Unknown request","error_code":"CF-NotFound","code":10000}\n');
  });

  it("odd paths and query strings do not break routing", async () => {
    for (const path of ["/v3/%E0%A4%A", "/v3/stacks?%", "/v3//stacks", "/v3/stacks/%00"]) {
      const res = await get(path, await adminAuth());
      expect(res.status, path).toBeLessThan(500);
    }
  });
});

describe("errors a client can cause", () => {
  it("malformed JSON is 400 CF-MessageParseError", async () => {
    const res = await call("POST", "/v3/stacks", { auth: await adminAuth(), body: '{"name":', headers: { "Content-Type": "application/json" } });
    expect(res.status).toBe(400);
    expect(await jsonOf(res)).toEqual({
      errors: [{ detail: "Request invalid due to parse error: invalid request body", title: "CF-MessageParseError", code: 1001 }],
    });
  });

  it("a body that is not an object is 400 CF-MessageParseError", async () => {
    for (const body of ["[]", "null", "42", '"x"']) {
      const res = await call("POST", "/v3/stacks", { auth: await adminAuth(), body, headers: { "Content-Type": "application/json" } });
      expect(res.status, body).toBe(400);
    }
  });

  it("bytes that are not UTF-8, and lone surrogates, are 400 CF-MessageParseError and create nothing (v3 and v2)", async () => {
    const auth = await adminAuth();
    const invalidUtf8 = new Uint8Array([...new TextEncoder().encode('{"name":"x'), 0xff, 0xfe, 0xc3, 0x28, ...new TextEncoder().encode('"}')]);
    const truncatedSequence = new Uint8Array([...new TextEncoder().encode('{"name":"x'), 0xe2, 0x82, ...new TextEncoder().encode('"}')]);
    for (const body of [invalidUtf8, truncatedSequence, '{"name":"\\ud800"}', '{"name":"a\\udc00b"}', '{"\\ud800":"x"}']) {
      for (const path of ["/v3/organizations", "/v3/stacks"]) {
        const res = await call("POST", path, { auth, body, headers: { "Content-Type": "application/json" } });
        expect(res.status, `${path} ${String(body)}`).toBe(400);
        expect(await jsonOf(res)).toEqual({
          errors: [{ detail: "Request invalid due to parse error: invalid request body", title: "CF-MessageParseError", code: 1001 }],
        });
      }
    }
    const v2 = await call("POST", "/v2/buildpacks", { auth, body: invalidUtf8, headers: { "Content-Type": "application/json" } });
    expect(v2.status).toBe(400);
    expect(await jsonOf(v2)).toMatchObject({ error_code: "CF-MessageParseError", code: 1001 });
    const orgs = await jsonOf<{ resources: { name: string }[] }>(await get("/v3/organizations", auth));
    expect(orgs.resources.filter((o) => o.name.startsWith("x") || o.name.includes("\ufffd"))).toEqual([]);
    // Well-formed text outside ASCII is fine, surrogate pairs included.
    expect((await call("POST", "/v3/stacks", { auth, body: { name: "stack-é-\u{1F600}" } })).status).toBe(201);
  });

  it("a huge JSON body is refused without being read whole", async () => {
    const res = await call("POST", "/v3/stacks", {
      auth: await adminAuth(),
      body: JSON.stringify({ name: "x".repeat(2 * 1024 * 1024) }),
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect((await jsonOf<{ errors: { title: string }[] }>(res)).errors[0]!.title).toBe("CF-BadRequest");
  });

  it("unknown fields and wrong types are one 422 with every message", async () => {
    const res = await call("POST", "/v3/stacks", { auth: await adminAuth(), body: { name: 5, color: "red" } });
    expect(res.status).toBe(422);
    const { errors } = await jsonOf<{ errors: { detail: string; title: string }[] }>(res);
    expect(errors[0]!.title).toBe("CF-UnprocessableEntity");
    expect(errors[0]!.detail).toContain("Unknown field(s): 'color'");
    expect(errors[0]!.detail).toContain("Name must be a string");
  });

  it("bad list parameters are 400 CF-BadQueryParameter with every message", async () => {
    const res = await get("/v3/stacks?page=0&per_page=5001&bad=1&order_by=color&created_ats[foo]=x", await userAuth());
    expect(res.status).toBe(400);
    const { errors } = await jsonOf<{ errors: { detail: string; code: number }[] }>(res);
    expect(errors[0]!.code).toBe(10005);
    for (const part of [
      "Unknown query parameter(s): 'bad'",
      "Page must be a positive integer",
      "Per page must be between 1 and 5000",
      "Order by can only be: 'created_at', 'updated_at', 'name'",
      "Created ats Invalid relational operator: 'foo'",
    ]) expect(errors[0]!.detail).toContain(part);
  });
});

describe("list filters", () => {
  it("a guids filter longer than D1's 100 bound parameters works", async () => {
    const stack = (await jsonOf<{ resources: { guid: string }[] }>(await get("/v3/stacks", await userAuth()))).resources[0]!;
    const guids = [...Array.from({ length: 300 }, () => crypto.randomUUID()), stack.guid];
    const res = await get(`/v3/stacks?guids=${guids.join(",")}`, await userAuth());
    expect(res.status).toBe(200);
    const body = await jsonOf<{ resources: { guid: string }[]; pagination: { first: { href: string } } }>(res);
    expect(body.resources.map((r) => r.guid)).toEqual([stack.guid]);
    expect(body.pagination.first.href).toContain(`guids=${guids.slice(0, 2).join("%2C")}`);
  });
});

describe("discovery", () => {
  it("GET / has what cf api reads, with absolute links", async () => {
    const res = await get("/");
    const body = await jsonOf<{ links: Record<string, { href: string; meta?: { version: string } } | null> }>(res);
    expect(body.links.self).toEqual({ href: ORIGIN });
    expect(body.links.cloud_controller_v3?.href).toBe(`${ORIGIN}/v3`);
    const [major, minor] = body.links.cloud_controller_v3!.meta!.version.split(".").map(Number);
    expect(major).toBe(3);
    expect(minor).toBeGreaterThanOrEqual(194);
    expect(body.links.cloud_controller_v2?.href).toBe(`${ORIGIN}/v2`);
    expect(body.links.login?.href).toBe(env.UAA_URL);
    expect(body.links.uaa?.href).toBe(env.UAA_URL);
    expect(body).not.toHaveProperty("cf_on_k8s");
  });

  it("GET /v3 lists the v3 resources a v7 client routes through", async () => {
    const body = await jsonOf<{ links: Record<string, { href: string }> }>(await get("/v3"));
    for (const name of ["apps", "buildpacks", "packages", "spaces", "organizations", "resource_matches", "builds", "droplets", "processes", "roles", "stacks"]) {
      expect(body.links[name]?.href, name).toBe(`${ORIGIN}/v3/${name}`);
    }
  });

  it("GET /v2/info has the v2 facts", async () => {
    const res = await get("/v2/info");
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=utf-8");
    const body = await jsonOf(res);
    expect(body.authorization_endpoint).toBe(env.UAA_URL);
    expect(body.token_endpoint).toBe(env.UAA_URL);
    expect(body.api_version).toMatch(/^2\.\d+\.\d+$/);
  });
});

describe("jobs", () => {
  const db = () => database(env.DB);

  async function insertJob(createdAt = timestamp()) {
    const [job] = await db().insert(jobs).values({
      guid: crypto.randomUUID(), operation: "thing.delete", state: "PROCESSING", resourceType: "thing", resourceGuid: "g-1", createdAt,
    }).returning();
    return job!;
  }

  it("an unknown job is 404 'Job not found'", async () => {
    const res = await get(`/v3/jobs/${crypto.randomUUID()}`, await userAuth());
    expect(res.status).toBe(404);
    expect(await jsonOf(res)).toEqual({ errors: [{ detail: "Job not found", title: "CF-ResourceNotFound", code: 10010 }] });
  });

  it("a job's work ends it COMPLETE, and the job shows the reference shape", async () => {
    const job = await insertJob();
    const processing = await jsonOf(await get(`/v3/jobs/${job.guid}`, await userAuth()));
    expect(processing).toMatchObject({ guid: job.guid, operation: "thing.delete", state: "PROCESSING", errors: [], warnings: [] });
    expect(processing.links).toEqual({ self: { href: `/v3/jobs/${job.guid}` }, thing: { href: "/v3/things/g-1" } });
    await runJob(db(), job.guid, async () => {});
    const done = await jsonOf(await get(`/v3/jobs/${job.guid}`, await userAuth()));
    expect(done.state).toBe("COMPLETE");
    expect(done.links).toEqual({ self: { href: `/v3/jobs/${job.guid}` } });
  });

  it("work that throws an ApiError ends the job FAILED with that error", async () => {
    const job = await insertJob();
    await runJob(db(), job.guid, async () => {
      throw new ApiError("BuildpackZipError", "bad zip");
    });
    const failed = await jsonOf(await get(`/v3/jobs/${job.guid}`, await userAuth()));
    expect(failed.state).toBe("FAILED");
    expect(failed.errors).toEqual([{ detail: "Buildpack zip error: bad zip", title: "CF-BuildpackZipError", code: 390013 }]);
  });

  it("work that crashes ends the job FAILED without leaking the message", async () => {
    const job = await insertJob();
    await runJob(db(), job.guid, async () => {
      throw new Error("SELECT secret FROM somewhere");
    });
    const failed = await jsonOf(await get(`/v3/jobs/${job.guid}`, await userAuth()));
    expect(failed.state).toBe("FAILED");
    expect(JSON.stringify(failed.errors)).not.toContain("secret");
    expect(failed.errors).toEqual([{ detail: "An unknown error occurred.", title: "UnknownError", code: 10001 }]);
  });

  it("the sweep fails jobs left PROCESSING by a dead isolate, and only those", async () => {
    const old = await insertJob(timestamp(new Date(Date.now() - 60 * 60 * 1000)));
    const fresh = await insertJob();
    expect(await failLostJobs(db())).toBeGreaterThanOrEqual(1);
    expect((await jsonOf(await get(`/v3/jobs/${old.guid}`, await userAuth()))).state).toBe("FAILED");
    expect((await jsonOf(await get(`/v3/jobs/${fresh.guid}`, await userAuth()))).state).toBe("PROCESSING");
  });

  it("v2 jobs show the v2 shape", async () => {
    const job = await insertJob();
    const body = await jsonOf(await get(`/v2/jobs/${job.guid}`, await adminAuth()));
    expect(body).toEqual({
      metadata: { guid: job.guid, created_at: job.createdAt, url: `/v2/jobs/${job.guid}` },
      entity: { guid: job.guid, status: "running" },
    });
  });
});
