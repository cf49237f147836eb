// v3 list parameters, parsed as the reference's list messages do (ListMessage and its subclasses in
// app/messages/): comma lists, timestamps with relational operators, order_by, page and per_page.
// Every problem is collected and reported at once as 400 CF-BadQueryParameter, messages joined by ", ".
// The SQL these parameters become is db/lists.ts.
import type { ListFilters, TimestampFilter } from "../db/lists";
import { ApiError } from "./errors";

const TIMESTAMP_PARAMS = ["created_ats", "updated_ats"] as const;
type TimestampParam = (typeof TIMESTAMP_PARAMS)[number];
const RELATIONAL_OPERATORS = ["lt", "lte", "gt", "gte"] as const;
type RelationalOperator = (typeof RELATIONAL_OPERATORS)[number];

export interface ListSpec {
  /** Allowed keys, in the order the reference names them in "Valid parameters are: ...". */
  allowed: readonly string[];
  /** The comma-list keys among them (guids, names, states, ...). */
  lists?: readonly string[];
  /** Values `order_by` accepts, without the +/- prefix. */
  orderBy?: readonly string[];
  /** Maximum per_page (default 5000). */
  maxPerPage?: number;
  /**
   * Keys among `allowed` that this route refuses, as the reference's nested lists do (an app's
   * packages: `app_nested_request` in packages_list_message.rb): named in this order, with no list of
   * valid parameters.
   */
  refused?: readonly string[];
  /** Extra checks on single values: return a message to reject. */
  validate?: (key: string, value: string) => string | undefined;
}

export interface ListParams extends ListFilters {
  page: number;
  perPage: number;
  /** Other single values (label_selector, lifecycle, ...). */
  values: Record<string, string>;
}

const DEFAULT_PER_PAGE = 50;
/**
 * The highest page asked for that is answered (an empty page past the end). Beyond it the offset
 * (page − 1) × per_page would leave the integers D1 can bind; the reference has no bound and fails
 * in its database there. v2 lists use it too.
 */
export const MAX_PAGE = 2_147_483_647;
const TIMESTAMP_FORMAT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** 'YYYY-MM-DDThh:mm:ssZ' naming a real instant: 2020-02-30 or 25:00:00 are no timestamps (they would not compare as one). */
function isTimestamp(value: string): boolean {
  if (!TIMESTAMP_FORMAT.test(value)) return false;
  const date = new Date(value);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 19) === value.slice(0, 19);
}

/** Ruby's `to_i` as the reference applies it: leading digits count ("10abc" is 10), none is an error. */
function rubyInteger(value: string): number | undefined {
  const m = /^\s*([+-]?\d+)/.exec(value);
  return m?.[1] === undefined ? undefined : Number.parseInt(m[1], 10);
}

/** "created_ats" → "Created ats", as ActiveModel humanizes attribute names. */
export const humanize = (key: string): string => {
  const s = key.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
};

/** Splits a query string into [key, value] pairs, keeping the raw bracket keys (`created_ats[lt]`). */
function pairs(url: URL): [string, string][] {
  return [...url.searchParams.entries()];
}

export function parseListParams(url: URL, spec: ListSpec): ListParams {
  const errors: string[] = [];
  const lists = new Set(spec.lists ?? []);
  const maxPerPage = spec.maxPerPage ?? 5000;
  const params: ListParams = { page: 1, perPage: DEFAULT_PER_PAGE, orderBy: null, lists: {}, values: {}, timestamps: {} };

  const unknown: string[] = [];
  const seen = new Map<string, { op?: string; value: string }[]>();
  for (const [rawKey, value] of pairs(url)) {
    const m = /^([^[\]]+)(?:\[([^\]]*)\])?$/.exec(rawKey);
    const key = m?.[1] ?? rawKey;
    if (!spec.allowed.includes(key)) {
      if (!unknown.includes(key)) unknown.push(key);
      continue;
    }
    const entry = m?.[2] === undefined ? { value } : { op: m[2], value };
    seen.set(key, [...(seen.get(key) ?? []), entry]);
  }
  if (unknown.length > 0) {
    const valid = spec.allowed.map((k) => `'${k}'`).join(", ");
    errors.push(`Unknown query parameter(s): ${unknown.map((k) => `'${k}'`).join(", ")}. Valid parameters are: ${valid}`);
  }
  const refused = (spec.refused ?? []).filter((k) => seen.has(k));
  for (const k of refused) seen.delete(k);
  if (refused.length > 0) errors.push(`Unknown query parameter(s): '${refused.join("', '")}'`);

  for (const [key, entries] of seen) {
    // A repeated key keeps its last value, as Rack does.
    const last = entries[entries.length - 1]!;
    if (key === "page") {
      const n = last.op === undefined ? rubyInteger(last.value) : undefined;
      if (n === undefined || n < 1) errors.push("Page must be a positive integer");
      else if (n > MAX_PAGE) errors.push(`Page must be between 1 and ${MAX_PAGE}`);
      else params.page = n;
    } else if (key === "per_page") {
      const n = last.op === undefined ? rubyInteger(last.value) : undefined;
      if (n === undefined || n < 1) errors.push("Per page must be a positive integer");
      else if (n > maxPerPage) errors.push(`Per page must be between 1 and ${maxPerPage}`);
      else params.perPage = n;
    } else if (key === "order_by") {
      const m = /^([+-]?)(.*)$/.exec(last.value)!;
      const field = m[2]!;
      if (last.op !== undefined || !(spec.orderBy ?? []).includes(field)) {
        errors.push(`Order by can only be: ${(spec.orderBy ?? []).map((f) => `'${f}'`).join(", ")}`);
      } else {
        params.orderBy = { field, direction: m[1] === "-" ? "desc" : "asc" };
      }
    } else if ((TIMESTAMP_PARAMS as readonly string[]).includes(key)) {
      const filter = parseTimestamps(key, entries, errors);
      if (filter) params.timestamps[key as TimestampParam] = filter;
    } else if (lists.has(key)) {
      if (last.op !== undefined) errors.push(`${humanize(key)} must be an array`);
      else params.lists[key] = splitList(last.value);
    } else {
      if (last.op !== undefined) {
        errors.push(`${humanize(key)} must be a string`);
        continue;
      }
      const problem = spec.validate?.(key, last.value);
      if (problem) errors.push(problem);
      else params.values[key] = last.value;
    }
  }

  if (errors.length > 0) throw new ApiError("BadQueryParameter", errors);
  return params;
}

/** Splits a comma list (commas and the spaces after them); each element is unescaped once more, as the CLI double-encodes commas inside names. */
function splitList(value: string): string[] {
  return value.split(/,\s*/).map((v) => {
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  });
}

function parseTimestamps(key: string, entries: { op?: string; value: string }[], errors: string[]): TimestampFilter | undefined {
  const name = humanize(key);
  const invalidFormat = `${name} has an invalid timestamp format. Timestamps should be formatted as 'YYYY-MM-DDThh:mm:ssZ'`;
  const last = entries[entries.length - 1]!;
  if (last.op === undefined) {
    const values = splitList(last.value);
    if (!values.every(isTimestamp)) {
      errors.push(invalidFormat);
      return undefined;
    }
    return { op: "eq", values };
  }
  if (!(RELATIONAL_OPERATORS as readonly string[]).includes(last.op)) {
    errors.push(`${name} Invalid relational operator: '${last.op}'`);
    return undefined;
  }
  if (last.value.includes(",")) {
    errors.push(`${name} only accepts one value when using a relational operator`);
    return undefined;
  }
  if (!isTimestamp(last.value)) {
    errors.push(invalidFormat);
    return undefined;
  }
  return { op: last.op as RelationalOperator, value: last.value };
}
