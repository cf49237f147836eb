// Requests as a client sends them, through the Worker's real fetch handler.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../../src/index";

export const ORIGIN = "http://api.test";

export interface RequestOptions {
  auth?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function call(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  return exports.default.fetch(requestFor(method, path, options));
}

/**
 * {@link call} with some bindings or vars replaced (configuration a test turns on for itself: R2
 * credentials, a low rate limit), through the Worker's fetch handler, its waitUntil work awaited.
 */
export async function callWith(
  overrides: Partial<Cloudflare.Env> & Record<string, unknown>, method: string, path: string, options: RequestOptions = {},
): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(requestFor(method, path, options), { ...env, ...overrides } as Cloudflare.Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

function requestFor(method: string, path: string, options: RequestOptions): Request {
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  if (options.auth) headers.Authorization = options.auth;
  let body: BodyInit | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === "string" || options.body instanceof Uint8Array || options.body instanceof ReadableStream || options.body instanceof FormData) {
      body = options.body as BodyInit;
    } else {
      body = JSON.stringify(options.body);
      headers["Content-Type"] ??= "application/json";
    }
  }
  return new Request(`${ORIGIN}${path}`, { method, headers, body });
}

export const get = (path: string, auth?: string, headers?: Record<string, string>) => call("GET", path, { auth, headers });

/** Reads a JSON body, failing the test on anything else. */
export async function jsonOf<T = Record<string, unknown>>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`expected JSON, got ${res.status}: ${text.slice(0, 200)}`);
  }
}

/** The v3 error a response carries. */
export async function v3Error(res: Response) {
  const body = await jsonOf<{ errors: { detail: string; title: string; code: number }[] }>(res);
  return body.errors[0]!;
}

/** Polls a job URL until it is no longer PROCESSING. */
export async function waitForJob(location: string, auth: string): Promise<Record<string, unknown>> {
  const path = new URL(location).pathname;
  for (let i = 0; i < 100; i++) {
    const job = await jsonOf(await get(path, auth));
    if (job.state !== "PROCESSING") return job;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`job ${location} still PROCESSING`);
}
