// Paginated list envelopes. v3: `pagination` with absolute first/last/next/previous links (the cf CLI
// follows `next.href` verbatim). v2: total_results, total_pages, prev_url, next_url (relative).
import type { Context } from "hono";
import type { AppEnv } from "../env";
import type { ListParams } from "./query";

/** The origin used in absolute links: EXTERNAL_URL when set, else the request's. */
export function externalOrigin(c: Context<AppEnv>): string {
  const configured = c.env.EXTERNAL_URL;
  if (configured) return configured.replace(/\/+$/, "");
  return new URL(c.req.url).origin;
}

/** An absolute URL for a path of ours. */
export const absoluteUrl = (c: Context<AppEnv>, path: string): string => `${externalOrigin(c)}${path}`;

/** Rails `to_query` escaping: CGI.escape (space as "+", everything but [A-Za-z0-9_.~-] escaped). */
function cgiEscape(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/** The offset and limit of a page. */
export const pageWindow = (params: ListParams) => ({
  limit: params.perPage,
  offset: (params.page - 1) * params.perPage,
});

export interface V3Page<T> {
  pagination: {
    total_results: number;
    total_pages: number;
    first: { href: string };
    last: { href: string };
    next: { href: string } | null;
    previous: { href: string } | null;
  };
  resources: T[];
}

/**
 * The v3 list envelope. Link query strings hold the client's filters, `order_by` (only when given,
 * with an explicit direction), `page` and `per_page`, keys sorted alphabetically, as the reference.
 */
export function v3Page<T>(c: Context<AppEnv>, basePath: string, params: ListParams, totalResults: number, resources: T[]): V3Page<T> {
  const totalPages = Math.max(1, Math.ceil(totalResults / params.perPage));
  const fixed: Record<string, string> = { per_page: String(params.perPage) };
  for (const [key, values] of Object.entries(params.lists)) fixed[key] = values.join(",");
  for (const [key, value] of Object.entries(params.values)) fixed[key] = value;
  for (const [key, filter] of Object.entries(params.timestamps)) {
    if (filter.op === "eq") fixed[key] = filter.values.join(",");
    else fixed[`${key}[${filter.op}]`] = filter.value;
  }
  if (params.orderBy) fixed.order_by = `${params.orderBy.direction === "desc" ? "-" : "+"}${params.orderBy.field}`;

  const base = absoluteUrl(c, basePath);
  const link = (page: number) => {
    const all: Record<string, string> = { ...fixed, page: String(page) };
    const query = Object.keys(all).sort().map((k) => `${cgiEscape(k)}=${cgiEscape(all[k]!)}`).join("&");
    return { href: `${base}?${query}` };
  };

  return {
    pagination: {
      total_results: totalResults,
      total_pages: totalPages,
      first: link(1),
      last: link(totalPages),
      next: params.page + 1 <= totalPages ? link(params.page + 1) : null,
      previous: params.page - 1 > 0 ? link(params.page - 1) : null,
    },
    resources,
  };
}

export interface V2Page<T> {
  total_results: number;
  total_pages: number;
  prev_url: string | null;
  next_url: string | null;
  resources: T[];
}

/**
 * The v2 list envelope. `linkParams` are the query parameters to repeat (already in their final
 * textual form); `page` is added and the keys are sorted alphabetically, as the reference.
 */
export function v2Page<T>(
  basePath: string,
  page: number,
  perPage: number,
  totalResults: number,
  linkParams: Record<string, string>,
  resources: T[],
): V2Page<T> {
  const totalPages = Math.max(1, Math.ceil(totalResults / perPage));
  const url = (p: number) => {
    const all: Record<string, string> = { ...linkParams, page: String(p) };
    return `${basePath}?${Object.keys(all).sort().map((k) => `${k}=${all[k]}`).join("&")}`;
  };
  return {
    total_results: totalResults,
    total_pages: totalPages,
    prev_url: page > 1 ? url(page - 1) : null,
    next_url: page < totalPages ? url(page + 1) : null,
    resources,
  };
}
