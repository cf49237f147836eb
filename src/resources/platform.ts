// Platform-wide resources (buildpacks v2 and v3, stacks): everyone with read scope reads them, only
// admins write them, and a write names its record by the route's :guid.
import type { Context } from "hono";
import { identityOf } from "../auth/context";
import { canWriteGlobally } from "../auth/permissions";
import type { Db } from "../db/client";
import type { AppEnv } from "../env";
import { ApiError } from "../http/errors";

/** Only admins write platform resources: anyone else with write scope is 403 CF-NotAuthorized (10003). */
export function requireAdminWrite(c: Context<AppEnv>): void {
  if (!canWriteGlobally(identityOf(c))) throw new ApiError("NotAuthorized");
}

/** The record `find` returns for the route's :guid; `missing()` is thrown when there is none. */
export async function findOr404<T>(
  c: Context<AppEnv>,
  find: (db: Db, guid: string) => Promise<T | null | undefined>,
  missing: () => Error,
): Promise<T> {
  const record = await find(c.get("db"), c.req.param("guid") ?? "");
  if (!record) throw missing();
  return record;
}
