// /v3/stacks: everyone with read scope reads; only admins write.
import { Hono } from "hono";
import { identityOf, read, write } from "../../auth/context";
import { canWriteGlobally } from "../../auth/permissions";
import type { AppEnv } from "../../env";
import { parseJson } from "../../http/body";
import { ApiError, notFound } from "../../http/errors";
import { v3Page } from "../../http/pagination";
import { parseListParams } from "../../http/query";
import { json, noContent } from "../../http/respond";
import { presentStack } from "./present";
import { stackCreateSchema, stackListSpec } from "./schema";
import { createStack, deleteStack, findStack, listStacks } from "./store";

export const stackRoutes = new Hono<AppEnv>()
  .get("/", read, async (c) => {
    const params = parseListParams(new URL(c.req.url), stackListSpec);
    const { total, rows } = await listStacks(c.get("db"), params);
    return json(c, v3Page(c, "/v3/stacks", params, total, rows.map(presentStack)));
  })
  .get("/:guid", read, async (c) => {
    const stack = await findStack(c.get("db"), c.req.param("guid"));
    if (!stack) throw notFound("Stack");
    return json(c, presentStack(stack));
  })
  .post("/", write, async (c) => {
    if (!canWriteGlobally(identityOf(c))) throw new ApiError("NotAuthorized");
    const input = await parseJson(c, stackCreateSchema);
    const stack = await createStack(c.get("db"), input);
    if (!stack) throw new ApiError("UnprocessableEntity", "Name must be unique");
    return json(c, presentStack(stack), 201);
  })
  .delete("/:guid", write, async (c) => {
    const db = c.get("db");
    const stack = await findStack(db, c.req.param("guid"));
    if (!stack) throw notFound("Stack");
    if (!canWriteGlobally(identityOf(c))) throw new ApiError("NotAuthorized");
    await deleteStack(db, stack.guid);
    return noContent();
  });
