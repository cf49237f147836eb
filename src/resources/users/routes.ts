// /v3/users: the users the caller may see (themselves, and everyone with a role in an organization
// where the caller has one; global readers see all). Rows come from tokens and role grants.
import type { Context } from "hono";
import { identityOf, read } from "../../auth/context";
import { readableUsers } from "../../auth/permissions";
import { users } from "../../db/schema";
import type { AppEnv } from "../../env";
import { routeTable } from "../../http/routes";
import { notFound } from "../../http/errors";
import { parseListParams422 } from "../../http/fields";
import { v3Page } from "../../http/pagination";
import { json } from "../../http/respond";
import { runReads } from "../../db/reads";
import { rememberCallerReads } from "../roles/store";
import { presentUser } from "./present";
import { userListSpec } from "./schema";
import { listUsersReads, visibleUserReads } from "./store";


async function usersIndex(c: Context<AppEnv>) {
  const db = c.get("db");
  const who = identityOf(c);
  const params = parseListParams422(new URL(c.req.url), userListSpec);
  // One round trip: the caller is remembered first, so the page the same batch reads shows them.
  const [, { total, rows }] = await runReads(db, rememberCallerReads(db, who), listUsersReads(db, params, readableUsers(who, users.guid)));
  return json(c, v3Page(c, "/v3/users", params, total, rows.map(({ row, metadata }) => presentUser(row, metadata))));
}

async function usersShow(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const who = identityOf(c);
  const [, found] = await runReads(db, rememberCallerReads(db, who), visibleUserReads(db, c.req.param("guid"), readableUsers(who, users.guid)));
  if (!found) throw notFound("User");
  return json(c, presentUser(found.user, found.metadata));
}

export const userRoutes = routeTable([
  ["GET", "/", read, usersIndex],
  ["GET", "/:guid", read, usersShow],
]);
