// JSON request bodies: read with a size cap, parsed, and validated with zod into the reference's
// messages ("Unknown field(s): 'x'", "Name must be a string", ...), joined into one 422.
import type { Context } from "hono";
import type { z } from "zod";
import { ApiError } from "./errors";
import { humanize } from "./query";

/** No JSON body of this API comes near this; anything larger is refused before parsing. */
const MAX_JSON_BODY_BYTES = 1024 * 1024;

/** Reads the body as text, refusing more than `limit` bytes without holding more than that. */
export async function readBodyText(request: Request, limit = MAX_JSON_BODY_BYTES): Promise<string> {
  const declared = Number(request.headers.get("Content-Length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  if (!request.body) return "";
  const reader = request.body.getReader();
  // Bytes that are not UTF-8 are a malformed body (the reference's JSON parser refuses them), not
  // text to store with replacement characters.
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  let text = "";
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel();
        throw tooLarge(limit);
      }
      text += decoder.decode(value, { stream: true });
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError("MessageParseError", "invalid request body");
  }
  return text + decoder.decode();
}

const tooLarge = (limit: number) => new ApiError("BadRequest", `request body is larger than ${limit} bytes`);

/**
 * The v3 body: a JSON object. Malformed JSON (or anything but an object) is 400 CF-MessageParseError
 * "invalid request body"; an empty body is `{}`, as the reference treats it.
 */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await readBodyText(c.req.raw);
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text, refuseLoneSurrogates);
  } catch {
    throw new ApiError("MessageParseError", "invalid request body");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ApiError("MessageParseError", "invalid request body");
  }
  return value as Record<string, unknown>;
}

/** A JSON.parse reviver that fails on strings (keys included) holding a lone surrogate ("\ud800"): no UTF-8 text can say them. */
function refuseLoneSurrogates(key: string, value: unknown): unknown {
  if (!key.isWellFormed() || (typeof value === "string" && !value.isWellFormed())) throw new SyntaxError("lone surrogate");
  return value;
}

/** Validates a parsed body with a zod schema; failures become one 422 with every message. */
export function validate<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw new ApiError("UnprocessableEntity", issueMessages(result.error.issues));
}

/** Reads and validates a v3 JSON body in one step. */
export async function parseJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  return validate(schema, await readJsonObject(c));
}

/**
 * Rails-style full messages: "<Humanized path> <message>"; a message on the root has no prefix.
 * Unknown keys become "Unknown field(s): 'a', 'b'" under their parent's name. A message that starts
 * with "^" is used as it stands (a reference message that is not prefixed).
 */
export function issueMessages(issues: readonly z.core.$ZodIssue[]): string[] {
  const messages: string[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string => typeof p === "string");
    let text: string;
    if (issue.code === "unrecognized_keys") {
      text = `Unknown field(s): ${issue.keys.map((k) => `'${k}'`).join(", ")}`;
    } else {
      text = issue.message;
    }
    if (text.startsWith("^")) {
      messages.push(text.slice(1));
      continue;
    }
    const prefix = path.length > 0 ? humanize(path.join(" ")) : "";
    const full = prefix ? `${prefix} ${text}` : text;
    if (!messages.includes(full)) messages.push(full);
  }
  return messages;
}
