// Validation of a request body's `metadata` (packages.md §6.3; the reference's MetadataValidator), with
// its exact messages, and the zod field that resource body schemas plug in.
import { z } from "zod";
import { charLength, firstChars, isBlank, keyError, labelValueError, MAX_ANNOTATION_VALUE_LENGTH } from "./keys";

/** A validated `metadata` request value: a string sets a key, `null` deletes it (a no-op on create). */
export interface MetadataUpdate {
  readonly labels?: Readonly<Record<string, string | null>>;
  readonly annotations?: Readonly<Record<string, string | null>>;
}

export type MetadataParseResult =
  | { readonly ok: true; readonly metadata: MetadataUpdate }
  | { readonly ok: false; readonly errors: string[] };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Ruby truthiness: only nil and false are false. */
const truthy = (v: unknown): boolean => v !== null && v !== undefined && v !== false;

/** ActiveSupport's `present?` on a JSON value. */
function present(v: unknown): boolean {
  if (v === null || v === undefined || v === false) return false;
  if (typeof v === "string") return !isBlank(v);
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

/**
 * A scalar as the reference stores it (`to_s`): numbers and booleans become strings. Objects and
 * arrays only matter for messages (they never pass validation).
 */
function scalarText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

/**
 * Checks a request's `metadata` value. `undefined` means the key is absent: nothing to check, an
 * empty update. Otherwise every problem is reported, as full messages in the reference's order and
 * wording ("Metadata label key error: prefix 'cloudfoundry.org' is reserved", ...).
 *
 * Values: strings as they are; numbers and booleans as their text (the reference stores `to_s`);
 * `null` deletes. An object or array as a label value fails as "contains invalid characters" (as in the
 * reference); as an annotation value it is refused with "Metadata annotation value error: value must
 * be a string" (the reference fails with a 500 there).
 */
export function parseMetadata(value: unknown): MetadataParseResult {
  if (value === undefined) return { ok: true, metadata: {} };
  if (!isObject(value)) return { ok: false, errors: ["Metadata must be an object"] };

  const errors: string[] = [];
  const unexpected = Object.keys(value).filter((k) => k !== "labels" && k !== "annotations");
  if (unexpected.length > 0) {
    errors.push(`Metadata has unexpected field(s): ${unexpected.map((k) => `'${k}'`).join(" ")}`);
  }

  const labels: [string, string | null][] = [];
  const rawLabels = value["labels"];
  if (truthy(rawLabels)) {
    if (!isObject(rawLabels)) {
      errors.push("Metadata 'labels' is not an object");
    } else {
      for (const [key, v] of Object.entries(rawLabels)) {
        const text = scalarText(v);
        const kErr = keyError(key);
        if (kErr !== undefined) errors.push(`Metadata label key error: ${kErr}`);
        const vErr = labelValueError(text);
        if (vErr !== undefined) errors.push(`Metadata label value error: ${vErr}`);
        labels.push([key, v === null ? null : text]);
      }
    }
  }

  const annotations: [string, string | null][] = [];
  const rawAnnotations = value["annotations"];
  if (truthy(rawAnnotations)) {
    if (!isObject(rawAnnotations)) {
      errors.push("Metadata 'annotations' is not an object");
    } else {
      for (const [key, v] of Object.entries(rawAnnotations)) {
        // The reference checks an annotation's key only when its value is present (not null or blank).
        const kErr = present(v) ? keyError(key) : undefined;
        if (kErr !== undefined) errors.push(`Metadata annotation key error: ${kErr}`);
        if (typeof v === "object" && v !== null) {
          errors.push("Metadata annotation value error: value must be a string");
          continue;
        }
        const text = scalarText(v);
        if (charLength(text) > MAX_ANNOTATION_VALUE_LENGTH) {
          errors.push(
            `Metadata annotation value error: '${firstChars(text, 8)}...' is greater than ${MAX_ANNOTATION_VALUE_LENGTH} characters`,
          );
        }
        annotations.push([key, v === null ? null : text]);
      }
    }
  }

  if (errors.length > 0) return { ok: false, errors };
  // fromEntries makes own properties, so even a key like "__proto__" stays a plain entry.
  return { ok: true, metadata: { labels: Object.fromEntries(labels), annotations: Object.fromEntries(annotations) } };
}

/** The full messages for a request's `metadata` value; `[]` when it is valid or absent (`undefined`). */
export function validateMetadata(value: unknown): string[] {
  const result = parseMetadata(value);
  return result.ok ? [] : result.errors;
}

/**
 * The `metadata` field of a v3 body schema: `z.object({ metadata: metadataField, ... })`.
 * Absent → `undefined`; else the validated {@link MetadataUpdate}. Each problem is one issue whose
 * message is the reference's full message prefixed with "^" (http/body.ts `issueMessages` then uses it
 * as it stands). Put `metadata` first in the shape: the reference reports metadata messages first.
 */
export const metadataField = z
  .unknown()
  .transform((value, ctx): MetadataUpdate => {
    const result = parseMetadata(value);
    if (result.ok) return result.metadata;
    for (const message of result.errors) ctx.addIssue({ code: "custom", message: `^${message}`, input: value });
    return z.NEVER;
  })
  .optional();
