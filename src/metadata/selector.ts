// Label selectors (the reference's ListMessage.parse_label_selector in app/messages/list_message.rb,
// LabelSelectorRequirementValidator and LabelSelectorQueryGenerator).
//
//   k in (a,b)   k notin (a,b)   k=v   k==v   k!=v   k   !k        keys may be "example.com/name"
//
// Requirements are comma-separated (commas inside parentheses don't split; empty pieces are skipped),
// at most 50. `notin`, `!=` and `!k` also match resources that do not have the label.
import { and, sql, type SQL, type SQLWrapper } from "drizzle-orm";
import { labels } from "../db/schema";
import { ApiError } from "../http/errors";
import { extractPrefix, keyError, labelValueError } from "./keys";
import type { MetadataResourceType } from "./types";

export const MAX_LABEL_SELECTOR_REQUIREMENTS = 50;

export type LabelSelectorOperator = "in" | "notin" | "equal" | "not_equal" | "exists" | "not_exists";

export interface LabelSelectorRequirement {
  /** The key as written: "name" or "prefix/name". */
  key: string;
  /** "" when the key has none, as stored. */
  prefix: string;
  name: string;
  operator: LabelSelectorOperator;
  /** The values to compare with; [] for exists / not_exists. */
  values: string[];
}

export type LabelSelectorParseResult =
  | { readonly ok: true; readonly requirements: LabelSelectorRequirement[] }
  | { readonly ok: false; readonly errors: string[] };

// The reference's patterns, with Ruby's `.` (anything but "\n") spelled out. Its splitter,
// /(?:\([^\n]*?\)|[^,])+/, and its `in`/`notin` patterns, /^(.*?) in \((.*)\)$/, take quadratic
// time as regular expressions (each "(" searches the rest of the line; each " in (" the rest of the
// text), so they are scanned by hand below with the same results; the others are linear as they are.
const KEY = String.raw`[\w\-._\/]+`;
type Matcher = (text: string) => { key: string; values: string } | undefined;
const byPattern = (pattern: RegExp): Matcher => (text) => {
  const groups = pattern.exec(text)?.groups;
  return groups ? { key: groups["key"] ?? "", values: groups["values"] ?? "" } : undefined;
};
/** /^(?<key>[^\n]*?) <word> \((?<values>[^\n]*)\)$/: the first " <word> (" of a one-line text ending in ")". */
const setOf = (word: string): Matcher => (text) => {
  if (text.includes("\n") || !text.endsWith(")")) return undefined;
  const marker = ` ${word} (`;
  const at = text.indexOf(marker);
  if (at < 0 || at + marker.length > text.length - 1) return undefined;
  return { key: text.slice(0, at), values: text.slice(at + marker.length, -1) };
};
const PATTERNS: readonly { match: Matcher; operator: LabelSelectorOperator }[] = [
  { match: setOf("in"), operator: "in" },
  { match: setOf("notin"), operator: "notin" },
  { match: byPattern(new RegExp(String.raw`^(?<key>${KEY})(?:==?)(?<values>[^\n]*)$`)), operator: "equal" },
  { match: byPattern(new RegExp(String.raw`^(?<key>${KEY})!=(?<values>[^\n]*)$`)), operator: "not_equal" },
  { match: byPattern(new RegExp(String.raw`^(?<key>${KEY})$`)), operator: "exists" },
  { match: byPattern(new RegExp(String.raw`^!(?<key>${KEY})$`)), operator: "not_exists" },
];

/**
 * The requirements of a selector as /(?:\([^\n]*?\)|[^,])+/g finds them, in one pass: a "(" with a
 * ")" later on its line takes everything up to that ")" (commas included); any other character but ","
 * is itself; "," ends a piece; empty pieces are skipped.
 */
export function splitRequirements(selector: string): string[] {
  const n = selector.length;
  // closes[i] = 1 when a ")" comes at or after i before the next "\n": filled once, from the right.
  const closes = new Uint8Array(n + 1);
  for (let i = n - 1; i >= 0; i--) {
    const ch = selector[i];
    closes[i] = ch === ")" ? 1 : ch === "\n" ? 0 : closes[i + 1]!;
  }
  const pieces: string[] = [];
  let start = -1;
  let i = 0;
  while (i < n) {
    const ch = selector[i];
    if (ch === ",") {
      if (start >= 0) pieces.push(selector.slice(start, i));
      start = -1;
      i++;
      continue;
    }
    if (start < 0) start = i;
    // Jumping past the ")" keeps the scan linear: the characters in between are never looked at again.
    i = ch === "(" && closes[i + 1] === 1 ? selector.indexOf(")", i + 1) + 1 : i + 1;
  }
  if (start >= 0) pieces.push(selector.slice(start));
  return pieces;
}

const MISSING_LABEL_SELECTOR = "Missing label_selector value";
const INVALID_LABEL_SELECTOR = "Invalid label_selector value";
const TOO_MANY_REQUIREMENTS = `Too many label_selector requirements (maximum is ${MAX_LABEL_SELECTOR_REQUIREMENTS})`;

/** Ruby's `split(",")`: trailing empty pieces dropped, so "" is [] and "a," is ["a"]. */
function splitValues(values: string): string[] {
  const pieces = values.split(",");
  while (pieces.length > 0 && pieces[pieces.length - 1] === "") pieces.pop();
  return pieces;
}

export function parseRequirement(text: string): LabelSelectorRequirement | undefined {
  for (const { match, operator } of PATTERNS) {
    const found = match(text);
    if (!found) continue;
    const [prefix, name] = extractPrefix(found.key);
    return { key: found.key, prefix: prefix ?? "", name, operator, values: splitValues(found.values) };
  }
  return undefined;
}

/**
 * Parses a `label_selector` value (the decoded query parameter, present even if empty). On failure the
 * messages are the reference's, one per bad requirement: "Missing label_selector value",
 * "Too many label_selector requirements (maximum is 50)", "Invalid label_selector value", or a key or
 * value error such as "prefix 'cloudfoundry.org' is reserved" or "'a b' contains invalid characters".
 */
export function parseLabelSelector(selector: string): LabelSelectorParseResult {
  const pieces = splitRequirements(selector);
  if (pieces.length === 0) return { ok: false, errors: [MISSING_LABEL_SELECTOR] };
  if (pieces.length > MAX_LABEL_SELECTOR_REQUIREMENTS) return { ok: false, errors: [TOO_MANY_REQUIREMENTS] };

  const requirements: LabelSelectorRequirement[] = [];
  const errors: string[] = [];
  for (const piece of pieces) {
    const requirement = parseRequirement(piece);
    if (!requirement) {
      errors.push(INVALID_LABEL_SELECTOR);
      continue;
    }
    const problem = keyError(requirement.key) ?? firstDefined(requirement.values.map(labelValueError));
    if (problem !== undefined) errors.push(problem);
    else requirements.push(requirement);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, requirements };
}

const firstDefined = (xs: readonly (string | undefined)[]): string | undefined => xs.find((x) => x !== undefined);

/**
 * For a list's query validation (http/query.ts `ListSpec.validate`): the problems with a selector,
 * joined with ", " as one message, or undefined when it is valid.
 */
export function labelSelectorError(selector: string): string | undefined {
  const result = parseLabelSelector(selector);
  return result.ok ? undefined : result.errors.join(", ");
}

/**
 * The SQL condition for parsed requirements: true for the rows of the caller's table whose guid
 * (`guidColumn`, e.g. `packages.guid`) has labels of `resourceType` satisfying every requirement.
 *
 * Each requirement becomes `guid [NOT] IN (SELECT resource_guid FROM labels WHERE ...)`, which lets
 * SQLite use labels_lookup_idx. It binds exactly ONE parameter: the JSON text
 * `[resource_type, key_prefix, key_name, [values...]]`, unpacked in SQL with json_extract/json_each,
 * so even 50 requirements stay within D1's 100 bound parameters (callers' own filters add theirs).
 */
export function labelSelectorSql(
  resourceType: MetadataResourceType,
  guidColumn: SQLWrapper,
  requirements: readonly LabelSelectorRequirement[],
): SQL {
  const conditions = requirements.map((r) => {
    const spec = JSON.stringify([resourceType, r.prefix, r.name, r.values]);
    const withValues = r.operator !== "exists" && r.operator !== "not_exists";
    const valueTest = withValues ? sql` AND ${labels.value} IN (SELECT value FROM json_each(q.r, '$[3]'))` : sql``;
    const matching = sql`SELECT ${labels.resourceGuid} FROM ${labels}, (SELECT ${spec} AS r) AS q WHERE ${labels.resourceType} = json_extract(q.r, '$[0]') AND ${labels.keyPrefix} = json_extract(q.r, '$[1]') AND ${labels.keyName} = json_extract(q.r, '$[2]')${valueTest}`;
    const negated = r.operator === "notin" || r.operator === "not_equal" || r.operator === "not_exists";
    return negated ? sql`${guidColumn} NOT IN (${matching})` : sql`${guidColumn} IN (${matching})`;
  });
  return and(...conditions) ?? sql`1 = 1`;
}

/**
 * Parses `selector` and returns its SQL condition (see {@link labelSelectorSql}); an invalid selector
 * throws 400 CF-BadQueryParameter "The query parameter is invalid: <messages joined with ', '>".
 *
 *   db.select().from(packages).where(and(...filters, labelSelectorCondition("package", packages.guid, selector)))
 */
export function labelSelectorCondition(resourceType: MetadataResourceType, guidColumn: SQLWrapper, selector: string): SQL {
  const result = parseLabelSelector(selector);
  if (!result.ok) throw new ApiError("BadQueryParameter", result.errors);
  return labelSelectorSql(resourceType, guidColumn, result.requirements);
}
