// Validation of a request body's `metadata` (the reference's MetadataValidator,
// app/messages/validators/metadata_validator.rb), with its exact messages, and the zod field that
// resource body schemas plug in.
import { z } from "zod";
import { isObject } from "../http/fields";
import { charLength, firstChars, isBlank, keyError, labelValueError, MAX_ANNOTATION_VALUE_LENGTH } from "./keys";

/** A validated `metadata` request value: a string sets a key, `null` deletes it (a no-op on create). */
export interface MetadataUpdate {
  readonly labels?: Readonly<Record<string, string | null>>;
  readonly annotations?: Readonly<Record<string, string | null>>;
}

export type MetadataParseResult =
  | { readonly ok: true; readonly metadata: MetadataUpdate }
  | { readonly ok: false; readonly errors: string[] };

/** Ruby truthiness: only nil and false are false. */
const truthy = (v: unknown): boolean => v !== null && v !== undefined && v !== false;

/**
 * The text the reference stores for a label value (`to_s`, then Sequel's string typecast), where this
 * side can reproduce it: strings, booleans and safe integers. Other numbers get `undefined`: Ruby's
 * text for them cannot be rebuilt from a parsed double (1e20 is "1.0e+20" there, 2^53 + 1 has lost a
 * digit here), so storing our text would store something the reference never would. Objects and
 * arrays get their JSON, which only ever appears in a message (it never passes the character rules).
 */
function labelText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return String(v);
  if (typeof v === "number") return Number.isSafeInteger(v) ? String(v) : undefined;
  return JSON.stringify(v);
}

/**
 * The text stored for an annotation value: strings, and safe integers (the reference stores an
 * Integer's `to_s`). Anything else is `undefined`: the reference fails with a 500 on floats, booleans,
 * objects and arrays (it asks them for `size`), and a large integer cannot be stored faithfully here.
 */
function annotationText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
  return undefined;
}

const LABEL_NOT_STRING = "Metadata label value error: value must be a string";
const ANNOTATION_NOT_STRING = "Metadata annotation value error: value must be a string";

/**
 * Checks a request's `metadata` value. `undefined` means the key is absent: nothing to check, an
 * empty update. Otherwise every problem is reported, as full messages in the reference's order and
 * wording ("Metadata label key error: prefix 'cloudfoundry.org' is reserved", ...).
 *
 * Values: strings as they are; `null` deletes. Where the reference stores a non-string's `to_s` and
 * that text can be reproduced, it is stored the same way: booleans and safe integers as label values,
 * safe integers as annotation values. An object or array as a label value fails as "contains invalid
 * characters" (as in the reference). Every other value (floats and integers beyond 2^53 anywhere;
 * booleans, objects and arrays as annotations, where the reference fails with a 500) is refused with
 * "Metadata label value error: value must be a string" / "Metadata annotation value error: value must
 * be a string", once per request.
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
        const kErr = keyError(key);
        if (kErr !== undefined) errors.push(`Metadata label key error: ${kErr}`);
        if (v === null) {
          labels.push([key, null]);
          continue;
        }
        const text = labelText(v);
        if (text === undefined) {
          if (!errors.includes(LABEL_NOT_STRING)) errors.push(LABEL_NOT_STRING);
          continue;
        }
        const vErr = labelValueError(text);
        if (vErr !== undefined) errors.push(`Metadata label value error: ${vErr}`);
        labels.push([key, text]);
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
        // Checked whatever the value. The reference (metadata_validator.rb#validate_annotations) skips
        // the check when the value is blank or null, and so stores a 900,000-character key, "a b c" or
        // "cloudfoundry.org/x" with an empty value; this service refuses them.
        const kErr = keyError(key);
        if (kErr !== undefined) errors.push(`Metadata annotation key error: ${kErr}`);
        if (v === null) {
          annotations.push([key, null]);
          continue;
        }
        const text = annotationText(v);
        if (text === undefined) {
          if (!errors.includes(ANNOTATION_NOT_STRING)) errors.push(ANNOTATION_NOT_STRING);
          continue;
        }
        if (charLength(text) > MAX_ANNOTATION_VALUE_LENGTH) {
          errors.push(
            `Metadata annotation value error: '${firstChars(text, 8)}...' is greater than ${MAX_ANNOTATION_VALUE_LENGTH} characters`,
          );
        }
        annotations.push([key, text]);
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
