// The calls the cf CLI makes (command/v7/*_buildpack_command.go for v7/v8,
// api/cloudcontroller/ccv2/buildpack.go for v6), replayed byte for byte as it sends them: lowercase
// bearer, Accept and Content-Type application/json on every call, multipart with a 60-hex boundary and an
// exact Content-Length, job and page URLs followed verbatim.
import { exports } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ORIGIN } from "../../helpers/api";
import { hsToken, SCOPES } from "../../helpers/tokens";
import { plainZip, resetBuildpacks } from "./helpers";

let TOKEN: string;
beforeAll(async () => {
  TOKEN = await hsToken({ user: "admin", scopes: SCOPES.admin });
});
beforeEach(resetBuildpacks);

const USER_AGENT = "cf/8.18.4+abc1234.2026-06-29 (go1.24.4; amd64 linux)";

/** One CLI request to an absolute URL (or a path under the API). */
async function cli(method: string, url: string, options: { json?: unknown; body?: Uint8Array; contentType?: string } = {}) {
  const headers: Record<string, string> = {
    Authorization: `bearer ${TOKEN}`,
    Accept: "application/json",
    "User-Agent": USER_AGENT,
    "X-B3-Traceid": "0123456789abcdef0123456789abcdef",
    "X-B3-Spanid": "0123456789abcdef",
    "Content-Type": options.contentType ?? "application/json",
  };
  let body: Uint8Array | undefined;
  if (options.json !== undefined) body = new TextEncoder().encode(JSON.stringify(options.json));
  if (options.body !== undefined) body = options.body;
  if (body !== undefined) headers["Content-Length"] = String(body.length);
  const absolute = url.startsWith("http") ? url : `${ORIGIN}${url}`;
  return exports.default.fetch(new Request(absolute, { method, headers, body }));
}

async function decoded<T>(res: Response): Promise<T> {
  const text = await res.text();
  expect(text, `${res.status} with an empty body where the CLI decodes JSON`).not.toBe("");
  return JSON.parse(text) as T;
}

/** The CLI's multipart body: field `bits`, the file's basename, application/octet-stream. */
function cliMultipart(field: string, filename: string, bytes: Uint8Array) {
  const boundary = Array.from(crypto.getRandomValues(new Uint8Array(30)), (b) => b.toString(16).padStart(2, "0")).join("");
  const enc = new TextEncoder();
  const head = enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = enc.encode(`\r\n--${boundary}--\r\n`);
  const body = new Uint8Array(head.length + bytes.length + tail.length);
  body.set(head);
  body.set(bytes, head.length);
  body.set(tail, head.length + bytes.length);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

type Job = { guid: string; state: string; operation: string; errors: unknown[] };
type Buildpack = { guid: string; name: string; stack: string | null; state: string; filename: string | null; position: unknown; enabled: unknown; locked: unknown; lifecycle: string };
type Page = { pagination: { next: { href: string } | null }; resources: Buildpack[] | null };

/** PollJob: GET the Location verbatim until COMPLETE or FAILED. */
async function pollJob(location: string): Promise<Job> {
  expect(location).toMatch(/^https?:\/\//);
  for (let i = 0; i < 200; i++) {
    const res = await cli("GET", location);
    expect(res.status).toBe(200);
    const job = await decoded<Job>(res);
    expect(["PROCESSING", "POLLING", "COMPLETE", "FAILED"]).toContain(job.state);
    if (job.state === "COMPLETE" || job.state === "FAILED") return job;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("job never finished");
}

/** `cf buildpacks`: GET /v3/buildpacks, then every pagination.next.href verbatim. */
async function cfBuildpacks(query = ""): Promise<Buildpack[]> {
  const all: Buildpack[] = [];
  let url: string | null = `${ORIGIN}/v3/buildpacks${query}`;
  let pages = 0;
  while (url) {
    const res = await cli("GET", url);
    expect(res.status).toBe(200);
    const page: Page = await decoded<Page>(res);
    expect(Object.hasOwn(page, "resources")).toBe(true);
    all.push(...(page.resources ?? []));
    url = page.pagination.next?.href ?? null;
    pages++;
  }
  return Object.assign(all, { pages });
}

/** `cf create-buildpack NAME PATH POSITION` */
async function cfCreateBuildpack(name: string, filename: string, bits: Uint8Array, position: number) {
  const created = await cli("POST", "/v3/buildpacks", { json: { name, position, enabled: true } });
  expect(created.status).toBe(201);
  const { guid } = await decoded<Buildpack>(created);
  const form = cliMultipart("bits", filename, bits);
  const uploaded = await cli("POST", `/v3/buildpacks/${guid}/upload`, form);
  expect(uploaded.status).toBeGreaterThanOrEqual(200);
  expect(uploaded.status).toBeLessThan(300);
  const location = uploaded.headers.get("Location");
  if (location) {
    const job = await pollJob(location);
    expect(job).toMatchObject({ operation: "buildpack.upload", state: "COMPLETE" });
  }
  return guid;
}

/** The lookup update-buildpack and delete-buildpack start with. */
async function findByName(name: string): Promise<Buildpack[]> {
  const res = await cli("GET", `/v3/buildpacks?names=${encodeURIComponent(name)}`);
  expect(res.status).toBe(200);
  return (await decoded<Page>(res)).resources ?? [];
}

describe("cf v8 buildpack commands (command/v7/*_buildpack_command.go)", () => {
  it("cf create-buildpack: create, upload with exact multipart, poll the job to COMPLETE", async () => {
    const guid = await cfCreateBuildpack("my_bp", "my_bp.zip", await plainZip(), 3);
    const [bp] = await findByName("my_bp");
    expect(bp).toMatchObject({ guid, state: "READY", filename: "my_bp.zip", position: 1, enabled: true, locked: false, stack: null });
    expect(Number.isInteger(bp!.position)).toBe(true);
  });

  it("cf create-buildpack --lifecycle cnb with a .cnb (tar) file", async () => {
    const created = await cli("POST", "/v3/buildpacks", { json: { name: "my_cnb", position: 1, enabled: true, lifecycle: "cnb" } });
    expect(created.status).toBe(201);
    const { guid } = await decoded<Buildpack>(created);
    const tar = new Uint8Array(1024);
    tar.set(new TextEncoder().encode("ustar\u000000"), 257);
    const uploaded = await cli("POST", `/v3/buildpacks/${guid}/upload`, cliMultipart("bits", "my.cnb", tar));
    expect(uploaded.status).toBe(202);
    expect((await pollJob(uploaded.headers.get("Location")!)).state).toBe("COMPLETE");
  });

  it("cf buildpacks: more than one page, followed through pagination.next.href", async () => {
    const creates = Array.from({ length: 57 }, (_, i) => cli("POST", "/v3/buildpacks", { json: { name: `bp_${String(i).padStart(2, "0")}`, position: i + 1, enabled: true } }));
    expect((await Promise.all(creates)).map((r) => r.status)).toEqual(Array(57).fill(201));
    const listed = await cfBuildpacks();
    expect((listed as Buildpack[] & { pages: number }).pages).toBe(2);
    expect(listed).toHaveLength(57);
    expect(listed.map((b) => b.position)).toEqual(Array.from({ length: 57 }, (_, i) => i + 1));
    for (const b of listed) {
      expect(typeof b.guid).toBe("string");
      expect(typeof b.name).toBe("string");
      expect(typeof b.enabled).toBe("boolean");
      expect(typeof b.locked).toBe("boolean");
      expect(b.state).toBe("AWAITING_UPLOAD");
      expect(b.lifecycle).toBe("buildpack");
    }
    // --lifecycle and --labels filters keep working across pages.
    expect(await cfBuildpacks("?lifecycle=cnb")).toHaveLength(0);
  });

  it("cf update-buildpack: lookup by name, PATCH only the given flags, and -p uploads", async () => {
    await cfCreateBuildpack("upd", "upd.zip", await plainZip("v1"), 1);
    await cli("POST", "/v3/buildpacks", { json: { name: "other", position: 1, enabled: true } });
    const [found] = await findByName("upd");
    for (const body of [{ position: 1 }, { enabled: false }, { locked: true }, { locked: false }, { stack: "cflinuxfs4" }, {}]) {
      const res = await cli("PATCH", `/v3/buildpacks/${found!.guid}`, { json: body });
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect((await decoded<Buildpack>(res)).guid).toBe(found!.guid);
    }
    // --rename (what rename-buildpack became)
    const renamed = await cli("PATCH", `/v3/buildpacks/${found!.guid}`, { json: { name: "upd_renamed" } });
    expect(renamed.status).toBe(200);
    // -p PATH: upload and poll
    const uploaded = await cli("POST", `/v3/buildpacks/${found!.guid}/upload`, cliMultipart("bits", "upd-v2.zip", await plainZip("v2")));
    expect(uploaded.status).toBe(202);
    expect((await pollJob(uploaded.headers.get("Location")!)).state).toBe("COMPLETE");
    const [after] = await findByName("upd_renamed");
    expect(after).toMatchObject({ position: 1, enabled: false, locked: false, stack: "cflinuxfs4", filename: "upd-v2.zip", state: "READY" });
  });

  it("cf delete-buildpack: lookup by name, DELETE with a JSON content type and no body, poll to COMPLETE", async () => {
    await cfCreateBuildpack("gone", "gone.zip", await plainZip(), 1);
    const [found] = await findByName("gone");
    const res = await cli("DELETE", `/v3/buildpacks/${found!.guid}`);
    expect(res.status).toBe(202);
    const job = await pollJob(res.headers.get("Location")!);
    expect(job).toMatchObject({ operation: "buildpack.delete", state: "COMPLETE" });
    expect(await findByName("gone")).toEqual([]);
    // A name that is not there: the lookup finds nothing (the CLI warns and exits 0).
    expect(await findByName("never-there")).toEqual([]);
  });
});

describe("cf v6 buildpack commands over /v2 (api/cloudcontroller/ccv2/buildpack.go)", () => {
  type V2 = { metadata: { guid: string; url: string }; entity: Record<string, unknown> };
  type V2Page = { next_url: string | null; resources: V2[] };

  it("create-buildpack, buildpacks (following next_url), update, rename and delete ?async=true", async () => {
    const created = await cli("POST", "/v2/buildpacks", { json: { name: "v6_bp", position: 1, enabled: true } });
    expect(created.status).toBe(201);
    const guid = (await decoded<V2>(created)).metadata.guid;
    const bits = await cli("PUT", `/v2/buildpacks/${guid}/bits`, cliMultipart("buildpack", "v6_bp.zip", await plainZip()));
    expect(bits.status).toBe(201);

    for (let i = 0; i < 3; i++) await cli("POST", "/v2/buildpacks", { json: { name: `extra${i}`, position: 9, enabled: true } });
    const names: unknown[] = [];
    let url: string | null = "/v2/buildpacks?results-per-page=2";
    while (url) {
      const page: V2Page = await decoded<V2Page>(await cli("GET", url));
      names.push(...page.resources.map((r) => r.entity.name));
      url = page.next_url;
    }
    expect(names).toEqual(["v6_bp", "extra0", "extra1", "extra2"]);

    const lookup = await decoded<V2Page>(await cli("GET", "/v2/buildpacks?q=name:v6_bp"));
    expect(lookup.resources).toHaveLength(1);
    const updated = await cli("PUT", `/v2/buildpacks/${guid}`, { json: { locked: true, enabled: false, name: "v6_bp", position: 2 } });
    expect(updated.status).toBe(201);
    const renamed = await cli("PUT", `/v2/buildpacks/${guid}`, { json: { name: "v6_renamed", position: 2, enabled: false, locked: true } });
    expect((await decoded<V2>(renamed)).entity).toMatchObject({ name: "v6_renamed", position: 2, locked: true, filename: "v6_bp.zip" });

    const deleted = await cli("DELETE", `/v2/buildpacks/${guid}?async=true`);
    expect(deleted.status).toBe(202);
    const job = await decoded<V2>(deleted);
    expect(job.metadata.url).toContain("/jobs/");
    let status = "";
    for (let i = 0; i < 100 && status !== "finished" && status !== "failed"; i++) {
      status = String((await decoded<V2>(await cli("GET", job.metadata.url))).entity.status);
    }
    expect(status).toBe("finished");
    expect((await cli("GET", `/v2/buildpacks/${guid}`)).status).toBe(404);
  });
});
