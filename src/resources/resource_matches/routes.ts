// POST /v3/resource_matches: this service keeps no resource cache, so nothing ever matches and the
// client uploads every file in the package zip (the contract; the CLI's actor/v7action/resource_match.go
// handles it). The request is still checked, so a malformed one gets a clear error rather than a silent
// empty answer.
import type { Context } from "hono";
import { z } from "zod";
import { write } from "../../auth/context";
import type { AppEnv } from "../../env";
import { routeTable } from "../../http/routes";
import { parseJson } from "../../http/body";
import { json } from "../../http/respond";

/** The CLI sends at most 5000 resources per request (its actor/v7action/resource_match.go chunks them). */
const MAX_RESOURCES = 5000;

const NOT_RESOURCES = "must be an array of resource objects";

// The element schema carries the message too: zod's own ("Invalid input: expected record, received
// number") would otherwise reach the client for `[1]`, `[null]`, `[[]]` (the reference fails with a 500).
const resourceMatchesSchema = z.strictObject({
  resources: z.array(z.record(z.string(), z.unknown(), { error: NOT_RESOURCES }), { error: NOT_RESOURCES })
    .max(MAX_RESOURCES, `must have at most ${MAX_RESOURCES} resources`),
});

async function resourceMatchesCreate(c: Context<AppEnv>) {
  await parseJson(c, resourceMatchesSchema);
  return json(c, { resources: [] }, 201);
}

export const resourceMatchRoutes = routeTable([
  ["POST", "/", write, resourceMatchesCreate],
]);
