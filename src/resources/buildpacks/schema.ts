// What clients may send about buildpacks: the v3 bodies (zod, the reference's messages), the v3 list
// parameters, and the v2 bodies and list query, which follow the older v2 rules
// (RestController::ModelController: nulls are absent, unknown keys are ignored, type errors are 400
// CF-MessageParseError).
import { z } from "zod";
import { ApiError } from "../../http/errors";
import { MAX_PAGE, type ListSpec } from "../../http/query";
import { isBlank, labelSelectorError, metadataField } from "../../metadata";

const LIFECYCLES = ["buildpack", "cnb"] as const;
export type Lifecycle = (typeof LIFECYCLES)[number];
export const DEFAULT_LIFECYCLE: Lifecycle = "buildpack";

/** Ruby's `\A(\w|-)+\z` with ASCII `\w`. */
const NAME_FORMAT = /^[-\w]+$/;
const MAX_NAME_LENGTH = 250;
const LIFECYCLE_MESSAGE = 'must be either "buildpack" or "cnb"';

// ---------------------------------------------------------------------------------------------
// v3 bodies (BuildpackCreateMessage, BuildpackUpdateMessage)

/**
 * Create validates presence (whitespace-only is blank, and then also invalid: "Name can't be blank,
 * Name is invalid"); update does not, so there "" and " " are only "Name is invalid".
 */
const nameField = (presence: boolean) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? "can't be blank" : "must be a string") })
    .refine((v) => !presence || !isBlank(v), "can't be blank")
    .max(MAX_NAME_LENGTH, `is too long (maximum is ${MAX_NAME_LENGTH} characters)`)
    .regex(NAME_FORMAT, "is invalid");

const stackField = z
  .string({ error: "must be a string" })
  .max(MAX_NAME_LENGTH, `is too long (maximum is ${MAX_NAME_LENGTH} characters)`)
  .nullable();

/**
 * An integer >= 1; `null` only where the reference's message allows it (create). A number that is not
 * a safe integer (1e308, 2^53 + 2, or 1e400, which parses to Infinity) cannot be told apart from a float
 * once parsed, so it is "must be an integer", as the reference answers for the Float that 1e308 is there.
 */
const positionField = (nullable: boolean) =>
  z.unknown().transform((value, ctx): number | null | undefined => {
    if (value === undefined) return undefined;
    if (value === null && nullable) return null;
    if (typeof value !== "number") {
      ctx.addIssue({ code: "custom", message: "is not a number", input: value });
      return z.NEVER;
    }
    if (!Number.isSafeInteger(value)) {
      ctx.addIssue({ code: "custom", message: "must be an integer", input: value });
      return z.NEVER;
    }
    if (value < 1) {
      ctx.addIssue({ code: "custom", message: "must be greater than or equal to 1", input: value });
      return z.NEVER;
    }
    return value;
  });

const booleanField = (nullable: boolean) =>
  z.unknown().transform((value, ctx): boolean | null | undefined => {
    if (value === undefined) return undefined;
    if (typeof value === "boolean") return value;
    if (value === null && nullable) return null;
    ctx.addIssue({ code: "custom", message: "must be a boolean", input: value });
    return z.NEVER;
  });

export const v3CreateSchema = z.strictObject({
  metadata: metadataField,
  name: nameField(true),
  stack: stackField.optional(),
  position: positionField(true).optional(),
  enabled: booleanField(true).optional(),
  locked: booleanField(true).optional(),
  lifecycle: z.enum(LIFECYCLES, { error: LIFECYCLE_MESSAGE }).nullish(),
});

/** PATCH: `lifecycle` cannot change (an unknown field); present keys must hold real values. */
export const v3UpdateSchema = z.strictObject({
  metadata: metadataField,
  name: nameField(false).optional(),
  stack: stackField.optional(),
  position: positionField(false).optional(),
  enabled: booleanField(false).optional(),
  locked: booleanField(false).optional(),
});

export const v3ListSpec: ListSpec = {
  // As the reference lists them in its message, page and per_page twice included.
  allowed: ["page", "per_page", "order_by", "created_ats", "updated_ats", "guids", "stacks", "names", "lifecycle", "page", "per_page", "label_selector"],
  lists: ["guids", "stacks", "names"],
  orderBy: ["created_at", "updated_at", "position", "lifecycle"],
  validate: (key, value) => {
    if (key === "lifecycle" && !(LIFECYCLES as readonly string[]).includes(value)) return `Lifecycle ${LIFECYCLE_MESSAGE}`;
    if (key === "label_selector") return labelSelectorError(value);
    return undefined;
  },
};

// ---------------------------------------------------------------------------------------------
// v2 bodies (BuildpacksController's define_attributes)

/** The attributes a v2 create or update carries; absent (or null) keys are undefined. */
export interface V2Attributes {
  name?: string;
  stack?: string;
  lifecycle?: string;
  position?: number;
  enabled?: boolean;
  locked?: boolean;
}

const parseError = (detail: string) => new ApiError("MessageParseError", detail);

/**
 * Ruby's class name of a JSON value, as the membrane messages name it. Only safe integers are
 * "Integer": beyond 2^53 a parsed number has lost the digits that made it one (1e308 is a Float in
 * Ruby too), and it is refused as a position, so calling it an Integer would contradict the refusal.
 */
function rubyClass(value: unknown): string {
  if (typeof value === "string") return "String";
  if (typeof value === "number") return Number.isSafeInteger(value) ? "Integer" : "Float";
  if (typeof value === "boolean") return value ? "TrueClass" : "FalseClass";
  if (Array.isArray(value)) return "Array";
  return "Hash";
}

/** Ruby's `to_s` of a JSON value, for "given <value>" (1e400 parses to Infinity, which JSON would show as null). */
const rubyText = (value: unknown): string =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : JSON.stringify(value);

/**
 * Decodes a v2 body: JSON whatever the Content-Type; `null` values are absent; unknown keys ignored;
 * type errors are one 400 CF-MessageParseError listing every field in the reference's order.
 * `lifecycle` is read on create only (an update ignores it, as the reference does).
 */
export function parseV2Body(text: string, mode: "create" | "update"): V2Attributes {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw parseError(text.trim() === "" ? "Decoded JSON cannot be nil" : "invalid JSON");
  }
  if (value === null) throw parseError("Decoded JSON cannot be nil");
  if (typeof value !== "object" || Array.isArray(value)) throw parseError("Decoded JSON must be an object");
  const body = value as Record<string, unknown>;
  const out: V2Attributes = {};
  const problems: string[] = [];
  const present = (key: string) => Object.hasOwn(body, key) && body[key] !== null;

  const strings = mode === "create" ? (["name", "stack", "lifecycle"] as const) : (["name", "stack"] as const);
  for (const key of strings) {
    if (!present(key)) {
      if (key === "name" && mode === "create") problems.push("Field: name, Error: Missing field name");
      continue;
    }
    const v = body[key];
    if (typeof v === "string") out[key] = v;
    else problems.push(`Field: ${key}, Error: Expected instance of String, given an instance of ${rubyClass(v)}`);
  }
  if (present("position")) {
    const v = body.position;
    if (typeof v === "number" && Number.isSafeInteger(v)) out.position = v;
    else problems.push(`Field: position, Error: Expected instance of Integer, given an instance of ${rubyClass(v)}`);
  }
  for (const key of ["enabled", "locked"] as const) {
    if (!present(key)) continue;
    const v = body[key];
    if (typeof v === "boolean") out[key] = v;
    else problems.push(`Field: ${key}, Error: Expected instance of true or false, given ${rubyText(v)}`);
  }
  if (problems.length > 0) throw parseError(problems.join(", "));
  return out;
}

/**
 * The model validations v2 reports as 400 CF-BuildpackInvalid (several joined with ", "). Unlike the
 * reference, the lifecycle is checked (it stores any string) and over-long names are refused (it
 * answers 500): sensible answers to bad input.
 */
export function v2AttributeProblems(attrs: V2Attributes): string[] {
  const problems: string[] = [];
  if (attrs.name !== undefined) {
    if (!NAME_FORMAT.test(attrs.name)) problems.push("name can only contain alphanumeric characters");
    else if (attrs.name.length > MAX_NAME_LENGTH) problems.push(`name is too long (maximum is ${MAX_NAME_LENGTH} characters)`);
  }
  if (attrs.lifecycle !== undefined && !(LIFECYCLES as readonly string[]).includes(attrs.lifecycle)) {
    problems.push("lifecycle must be either buildpack or cnb");
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// v2 list query (BuildpacksController's query_parameters, ModelController#enumerate)

type V2Operator = ":" | ">=" | "<=" | "<" | ">" | " IN ";
export interface V2Filter {
  key: "name" | "stack" | "lifecycle";
  op: V2Operator;
  values: string[];
}

export interface V2ListQuery {
  page: number;
  perPage: number;
  direction: "asc" | "desc";
  filters: V2Filter[];
  /** The parameters repeated in prev_url/next_url (besides page), in their textual form. */
  linkParams: Record<string, string>;
}

const V2_FILTER_KEYS = ["name", "stack", "lifecycle"] as const;
const V2_MAX_PER_PAGE = 100;
const V2_MAX_INLINE_DEPTH = 3;
const badQuery = (detail: string) => new ApiError("BadQueryParameter", detail);

function positiveInteger(name: string, raw: string): number {
  if (!/^\s*\+?\d+\s*$/.test(raw) || Number.parseInt(raw, 10) < 1) throw badQuery(`${name} must be a positive integer`);
  return Number.parseInt(raw, 10);
}

/** Splits one `q` value at `;` (where `;;` is a literal `;`). */
function splitConditions(q: string): string[] {
  const out: string[] = [];
  let current = "";
  for (let i = 0; i < q.length; i++) {
    if (q[i] === ";") {
      if (q[i + 1] === ";") {
        current += ";";
        i++;
        continue;
      }
      out.push(current);
      current = "";
      continue;
    }
    current += q[i];
  }
  out.push(current);
  return out.filter((c) => c !== "");
}

function parseCondition(condition: string): V2Filter {
  // The key ends at the first operator.
  const m = /^(.*?)( IN |>=|<=|<|>|:)(.*)$/s.exec(condition);
  if (!m) throw badQuery(condition);
  const key = m[1]!;
  if (!(V2_FILTER_KEYS as readonly string[]).includes(key)) throw badQuery(key);
  const op = m[2] as V2Operator;
  const value = m[3]!;
  return { key: key as V2Filter["key"], op, values: op === " IN " ? value.split(",") : [value] };
}

/**
 * page, results-per-page (max 100), order-direction, q, inline-relations-depth. Where the
 * reference answers 500 (non-integer page sizes, any order-by) this answers 400 CF-BadQueryParameter.
 */
export function parseV2ListQuery(url: URL): V2ListQuery {
  const p = url.searchParams;
  const query: V2ListQuery = { page: 1, perPage: 50, direction: "asc", filters: [], linkParams: {} };
  const page = p.get("page");
  if (page !== null) {
    query.page = positiveInteger("page", page);
    if (query.page > MAX_PAGE) throw badQuery(`page must be <= ${MAX_PAGE}`);
  }
  const perPage = p.get("results-per-page");
  if (perPage !== null) {
    query.perPage = positiveInteger("results_per_page", perPage);
    if (query.perPage > V2_MAX_PER_PAGE) throw badQuery(`results_per_page must be <= ${V2_MAX_PER_PAGE}`);
  }
  const direction = p.get("order-direction");
  if (direction !== null) {
    if (direction !== "asc" && direction !== "desc") throw badQuery(`order_direction must be 'asc' or 'desc' but was '${direction}'`);
    query.direction = direction;
  }
  const orderBy = p.get("order-by");
  if (orderBy !== null) throw badQuery(`Cannot order by: ${orderBy}`);
  const depth = p.get("inline-relations-depth");
  if (depth !== null) {
    const n = /^\s*\d+\s*$/.test(depth) ? Number.parseInt(depth, 10) : Number.NaN;
    if (Number.isNaN(n)) throw badQuery("inline_relations_depth must be an integer");
    if (n > V2_MAX_INLINE_DEPTH) throw badQuery(`inline_relations_depth must be <= ${V2_MAX_INLINE_DEPTH}`);
    query.linkParams["inline-relations-depth"] = String(n);
  }
  const conditions = p.getAll("q").flatMap(splitConditions);
  query.filters = conditions.map(parseCondition);
  query.linkParams["order-direction"] = query.direction;
  query.linkParams["results-per-page"] = String(query.perPage);
  if (conditions.length > 0) {
    query.linkParams.q = conditions.map((c) => c.replace(/;/g, ";;")).join(";").replace(/ /g, "%20").replace(/&/g, "%26").replace(/#/g, "%23");
  }
  return query;
}
