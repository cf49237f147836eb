// /v3/users: the users the caller may see (themselves, and everyone with a role in an organization
// where the caller has one; global readers see all). Rows come from tokens and role grants.
import { Hono } from "hono";
import { identityOf, read } from "../../auth/context";
import { readableUsers } from "../../auth/permissions";
import { users } from "../../db/schema";
import type { AppEnv } from "../../env";
import { notFound } from "../../http/errors";
import { v3Page } from "../../http/pagination";
import { json } from "../../http/respond";
import { loadMetadata, loadOneMetadata } from "../../metadata";
import { parseListParams422 } from "../roles/schema";
import { rememberCaller } from "../roles/store";
import { presentUser } from "./present";
import { userListSpec } from "./schema";
import { findVisibleUser, listUsers } from "./store";

export const userRoutes = new Hono<AppEnv>()
  .get("/", read, async (c) => {
    const db = c.get("db");
    const who = identityOf(c);
    const params = parseListParams422(new URL(c.req.url), userListSpec);
    await rememberCaller(db, who);
    const { total, rows } = await listUsers(db, params, readableUsers(who, users.guid));
    const metadata = await loadMetadata(db, "user", rows.map((u) => u.guid));
    return json(c, v3Page(c, "/v3/users", params, total, rows.map((u) => presentUser(u, metadata.get(u.guid)!))));
  })
  .get("/:guid", read, async (c) => {
    const db = c.get("db");
    const who = identityOf(c);
    await rememberCaller(db, who);
    const user = await findVisibleUser(db, c.req.param("guid"), readableUsers(who, users.guid));
    if (!user) throw notFound("User");
    return json(c, presentUser(user, await loadOneMetadata(db, "user", user.guid)));
  });
