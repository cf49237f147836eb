// Request field rules shared by several resources: what a JSON object is, `name` and to-one
// `relationships` with the reference's messages (RelationshipValidator, ToOneRelationshipValidator,
// GuidValidator; NoAdditionalKeysValidator), and the list query that reports as 422.
import { z } from "zod";
import { isBlank } from "../metadata/keys";
import { ApiError } from "./errors";
import { humanize, parseListParams, type ListParams, type ListSpec } from "./query";

/** A JSON object: not null, not an array. */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

// The reference's names must match /\A[[:alnum:][:punct:][:print:]]+\Z/: no control characters.
const CONTROL = /[\u0000-\u001f\u007f]/;

const nameString = (empty: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined || issue.input === null ? "can't be blank" : "must be a string") })
    .min(1, empty)
    // ActiveModel's presence (and the model's validates_presence) treat whitespace-only as blank; "" has
    // its own message above.
    .refine((v) => v === "" || !isBlank(v), "can't be blank")
    .max(255, "is too long (maximum is 255 characters)")
    .refine((v) => !CONTROL.test(v), "must not contain escaped characters");

/** A new resource's name: a string of 1..255 printable characters; missing or blank is "can't be blank". */
export const requiredName = () => nameString("can't be blank");
/** A name in a PATCH: absent or null leaves the name as it is; "" is too short, whitespace is blank. */
export const optionalName = () => nameString("is too short (minimum is 1 character)").nullish();

/** The guid of a to-one relationship `{"data": {"guid": "..."}}`, or the reference's messages for it. */
export function toOneGuid(name: string, value: unknown): { guid: string } | { errors: string[] } {
  const label = humanize(name);
  const structure = `${label} must be structured like this: "${name}: {"data": {"guid": "valid-guid"}}"`;
  if (value === undefined || value === null) return { errors: [`${label} can't be blank`, structure] };
  if (!isObject(value) || !("data" in value) || Object.keys(value).length !== 1) return { errors: [structure] };
  const data = value.data;
  if (!isObject(data) || !("guid" in data) || Object.keys(data).length !== 1) return { errors: [structure] };
  const guid = data.guid;
  if (typeof guid !== "string") return { errors: [`${label} guid must be a string`] };
  if (guid.length < 1 || guid.length > 200) return { errors: [`${label} guid must be between 1 and 200 characters`] };
  return { guid };
}

/**
 * The `relationships` field of a body whose relationships are the to-one `names` (all required):
 * the output maps each name to its guid. Messages are the reference's, prefixed "Relationships".
 */
export const relationshipsField = <N extends string>(names: readonly N[]) =>
  z.unknown().optional().transform((value, ctx): Record<N, string> => {
    const fail = (messages: string[]) => {
      for (const m of messages) ctx.addIssue({ code: "custom", message: `^Relationships ${m}`, input: value });
      return z.NEVER;
    };
    if (!isObject(value)) return fail(["'relationships' is not an object"]);
    if (Object.keys(value).length === 0) return fail(["'relationships' must include one or more valid relationships"]);
    const errors: string[] = [];
    const unknown = Object.keys(value).filter((k) => !(names as readonly string[]).includes(k));
    if (unknown.length > 0) errors.push(`Unknown field(s): ${unknown.map((k) => `'${k}'`).join(", ")}`);
    const out: Partial<Record<N, string>> = {};
    for (const name of names) {
      const result = toOneGuid(name, value[name]);
      if ("errors" in result) errors.push(...result.errors);
      else out[name] = result.guid;
    }
    if (errors.length > 0) return fail(errors);
    return out as Record<N, string>;
  });

const QUERY_PREFIX = "The query parameter is invalid: ";

/** The role and user lists report bad query parameters as 422, not 400 (the reference's `unprocessable!` there). */
export function parseListParams422(url: URL, spec: ListSpec): ListParams {
  try {
    return parseListParams(url, spec);
  } catch (err) {
    if (err instanceof ApiError && err.errorName === "BadQueryParameter") {
      throw new ApiError("UnprocessableEntity", err.detail.startsWith(QUERY_PREFIX) ? err.detail.slice(QUERY_PREFIX.length) : err.detail);
    }
    throw err;
  }
}
