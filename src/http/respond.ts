// How JSON leaves the service: pretty-printed with two spaces (the seeds' Content-Length values
// are those of 2-space JSON), with the content type of the API it answers for.
import type { Context } from "hono";

export const isV2 = (path: string): boolean => path === "/v2" || path.startsWith("/v2/");

/** v2 writes no space before charset (the v2 seed); v3 does (the v3 seed). */
const jsonContentType = (path: string): string =>
  isV2(path) ? "application/json;charset=utf-8" : "application/json; charset=utf-8";

const encoder = new TextEncoder();

export function jsonText(c: Context, text: string, status: number, headers?: Record<string, string>): Response {
  const bytes = encoder.encode(text);
  return new Response(bytes, {
    status,
    headers: {
      ...headers,
      "Content-Type": jsonContentType(c.req.path),
      "Content-Length": String(bytes.byteLength),
    },
  });
}

export function json(c: Context, body: unknown, status = 200, headers?: Record<string, string>): Response {
  return jsonText(c, JSON.stringify(body, null, 2), status, headers);
}

/** 202 Accepted with the absolute job URL, as v3 deletes answer. */
export function accepted(c: Context, jobUrl: string): Response {
  return new Response(null, { status: 202, headers: { Location: jobUrl } });
}

export function noContent(): Response {
  return new Response(null, { status: 204 });
}
