// The one error type of the service and the two envelopes clients read.
// Handlers throw ApiError; the app's error handler renders it (see renderError).
import type { Context } from "hono";
import { catalogue, type ErrorName } from "./catalogue";
import { isV2, jsonText } from "./respond";

type MessageArg = string | number | null | undefined | readonly (string | number)[];

/** Statuses the reference sends that differ from the catalogue. */
const statusOverrides: Partial<Record<ErrorName, number>> = {
  // The reference middleware answers 502 although errors/v2.yml says 503.
  UaaUnavailable: 502,
};

export class ApiError extends Error {
  readonly code: number;
  readonly status: number;
  readonly detail: string;

  constructor(readonly errorName: ErrorName, ...args: MessageArg[]) {
    const [code, status, template] = catalogue[errorName];
    const detail = format(template, args);
    super(detail);
    this.code = code;
    this.status = statusOverrides[errorName] ?? status;
    this.detail = detail;
  }

  /** Records the error behind this one (a stream's failure, say) as `cause`, as hono's HTTPException does. */
  withCause(cause: unknown): this {
    if (cause !== undefined) this.cause = cause;
    return this;
  }

  /** The v3 `title`: "CF-" and the catalogue name. */
  get title(): string {
    return `CF-${this.errorName}`;
  }
}

/** "Package not found", "App not found", ... as CF-ResourceNotFound. */
export const notFound = (resource: string) => new ApiError("ResourceNotFound", `${resource} not found`);
/** A CF-UnprocessableEntity with the given detail. */
export const unprocessable = (detail: string) => new ApiError("UnprocessableEntity", detail);

/** Ruby's sprintf as the catalogue uses it: %s and %d in order; arrays joined with ", "; nil as "". */
function format(template: string, args: readonly MessageArg[]): string {
  let i = 0;
  return template.replace(/%[sd]/g, () => {
    const arg = args[i++];
    if (arg == null) return "";
    return Array.isArray(arg) ? arg.join(", ") : String(arg);
  });
}

export function v3ErrorBody(err: ApiError) {
  return { errors: [{ detail: err.detail, title: err.title, code: err.code }] };
}

const unknownV3 = { errors: [{ title: "UnknownError", detail: "An unknown error occurred.", code: 10001 }] };
const unknownV2 = { error_code: "UnknownError", description: "An unknown error occurred.", code: 10001 };

/** Renders an error in the envelope of the API the request was for. Unknown errors leak nothing. */
export function renderError(c: Context, err: unknown): Response {
  const v2 = isV2(c.req.path);
  if (err instanceof ApiError) {
    const body = v2
      ? { description: err.detail, error_code: err.title, code: err.code }
      : v3ErrorBody(err);
    return errorResponse(c, body, err.status, v2);
  }
  console.error("unhandled error", c.req.method, c.req.path, err instanceof Error ? err.stack : String(err));
  return errorResponse(c, v2 ? unknownV2 : unknownV3, 500, v2);
}

function errorResponse(c: Context, body: object, status: number, v2: boolean): Response {
  // v2 error bodies end with a newline, as the reference's do.
  return jsonText(c, JSON.stringify(body) + (v2 ? "\n" : ""), status);
}
