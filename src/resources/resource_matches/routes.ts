// POST /v3/resource_matches (app/controllers/v3/resource_matches_controller.rb): the entries of the
// client's list that the resource pool holds and the caller may use, echoed as sent
// (app/presenters/v3/resource_match_presenter.rb). The pool and who may use what: src/pool/.
import type { Context } from "hono";
import { identityOf, write } from "../../auth/context";
import type { AppEnv } from "../../env";
import { readJsonObject } from "../../http/body";
import { ApiError } from "../../http/errors";
import { isObject } from "../../http/fields";
import { routeTable } from "../../http/routes";
import { json } from "../../http/respond";
import { matchResources, type ResourceDescriptor } from "../../pool/match";

/** The CLI sends at most 5000 resources per request (ccv3/constant/resource.go; actor/v7action/resource_match.go chunks them). */
const MAX_RESOURCES = 5000;
/** A SHA-1 in hex; only the length is checked (ResourcePool::VALID_SHA_LENGTH). */
const SHA1_LENGTH = 40;

const PREAMBLE = "Resources array contains at least one resource with";
/** The reference fails with a 500 on an element that is not an object; this says what is wrong. */
const NOT_RESOURCES = "Resources must be an array of resource objects";

/** Characters as Ruby counts them (code points); the UTF-16 length unless there are surrogate pairs. */
const characters = (s: string): number => (/[\uD800-\uDFFF]/.test(s) ? [...s].length : s.length);

/**
 * The reference's checks and messages (app/messages/resource_match_create_message.rb), each message
 * once, in the order the reference adds them: the list, then per entry its checksum, size and mode.
 */
export function validateResourceMatch(body: Record<string, unknown>): ResourceDescriptor[] {
  const messages: string[] = [];
  const add = (m: string) => {
    if (!messages.includes(m)) messages.push(m);
  };
  const unknown = Object.keys(body).filter((k) => k !== "resources");
  if (unknown.length > 0) add(`Unknown field(s): ${unknown.map((k) => `'${k}'`).join(", ")}`);
  const { resources } = body;
  if (!Array.isArray(resources)) add("Resources must be an array");
  // Rails' length check measures whatever it is given: a string's or an object's length, "" for nil.
  const length = Array.isArray(resources) || typeof resources === "string" ? resources.length
    : isObject(resources) ? Object.keys(resources).length
    : resources === undefined || resources === null ? 0 : String(resources).length;
  if (length < 1) add("Resources must have at least 1 resource");
  if (length > MAX_RESOURCES) add(`Resources array can have at most ${MAX_RESOURCES} resources`);
  if (!Array.isArray(resources)) throw new ApiError("UnprocessableEntity", messages);
  for (const r of resources) {
    if (!isObject(r)) {
      add(NOT_RESOURCES);
      continue;
    }
    const { checksum, size_in_bytes: size, mode } = r;
    if (!isObject(checksum)) add(`${PREAMBLE} a non-object checksum`);
    else if (typeof checksum.value !== "string") add(`${PREAMBLE} a non-string checksum value`);
    else if (characters(checksum.value) !== SHA1_LENGTH) add(`${PREAMBLE} a non-SHA1 checksum value`);
    if (typeof size !== "number" || !Number.isSafeInteger(size)) add(`${PREAMBLE} a non-integer size_in_bytes`);
    else if (size < 0) add(`${PREAMBLE} a negative size_in_bytes`);
    if (mode !== undefined && mode !== null) {
      if (typeof mode !== "string") add(`${PREAMBLE} a non-string mode`);
      else if (!/^[0-7]+$/.test(mode)) add(`${PREAMBLE} an incorrect mode`);
    }
  }
  if (messages.length > 0) throw new ApiError("UnprocessableEntity", messages);
  return resources.map((r) => {
    const { mode, ...rest } = r as Record<string, unknown>;
    return { ...rest, ...(typeof mode === "string" ? { mode } : {}) } as unknown as ResourceDescriptor;
  });
}

/** The presenter's shape: only these four keys, whatever else the entry had. */
const present = (r: ResourceDescriptor) => ({
  checksum: { value: r.checksum.value },
  size_in_bytes: r.size_in_bytes,
  path: r.path ?? null,
  mode: r.mode ?? null,
});

async function resourceMatchesCreate(c: Context<AppEnv>) {
  const resources = validateResourceMatch(await readJsonObject(c));
  const matched = await matchResources(c.get("db"), c.env, identityOf(c), resources);
  return json(c, { resources: matched.map(present) }, 201);
}

export const resourceMatchRoutes = routeTable([
  ["POST", "/", write, resourceMatchesCreate],
]);
