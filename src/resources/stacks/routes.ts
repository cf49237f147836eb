// /v3/stacks: everyone with read scope reads; only admins write.
import type { Context } from "hono";
import { read, write } from "../../auth/context";
import type { AppEnv } from "../../env";
import { routeTable } from "../../http/routes";
import type { Stack } from "../../db/schema";
import { parseJson } from "../../http/body";
import { notFound, unprocessable } from "../../http/errors";
import { v3Page } from "../../http/pagination";
import { parseListParams } from "../../http/query";
import { json, noContent } from "../../http/respond";
import {
  loadOneMetadata, metadataCreateStatements, metadataDeleteStatements, prepareMetadataPatch, presentMetadata,
} from "../../metadata";
import { metadataReads } from "../../metadata/store";
import { findOr404 as findRecordOr404, requireAdminWrite } from "../platform";
import { runReads } from "../../db/reads";
import { presentStack } from "./present";
import { stackCreateSchema, stackListSpec, stackUpdateSchema } from "./schema";
import { createStack, deleteStack, findStack, stackList, stackLookup, touchStack } from "./store";

const findOr404 = (c: Context<AppEnv>): Promise<Stack> => findRecordOr404(c, findStack, () => notFound("Stack"));

async function present(c: Context<AppEnv>, stack: Stack) {
  return presentStack(stack, await loadOneMetadata(c.get("db"), "stack", stack.guid));
}

async function stacksIndex(c: Context<AppEnv>) {
  const db = c.get("db");
  const params = parseListParams(new URL(c.req.url), stackListSpec);
  // One round trip: the count, and the page with its metadata.
  const [{ total, rows }] = await runReads(db, stackList(db, params));
  return json(c, v3Page(c, "/v3/stacks", params, total, rows.map(({ row, metadata }) => presentStack(row, metadata))));
}

async function stacksShow(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const guid = c.req.param("guid");
  // One round trip: the stack and its metadata.
  const [stack, metadata] = await runReads(db, stackLookup(db, guid), metadataReads(db, "stack", [guid]));
  if (!stack) throw notFound("Stack");
  return json(c, presentStack(stack, presentMetadata(metadata, guid)));
}

async function stacksCreate(c: Context<AppEnv>) {
  requireAdminWrite(c);
  const input = await parseJson(c, stackCreateSchema);
  const db = c.get("db");
  const stack = await createStack(db, input, (guid) => metadataCreateStatements(db, "stack", guid, input.metadata));
  if (!stack) throw unprocessable("Name must be unique");
  return json(c, await present(c, stack), 201);
}

async function stacksUpdate(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const current = await findOr404(c);
  requireAdminWrite(c);
  const input = await parseJson(c, stackUpdateSchema);
  const patch = await prepareMetadataPatch(db, "stack", current.guid, input.metadata);
  const stack = await touchStack(db, current.guid, input, patch.statements).catch(patch.rethrow);
  if (!stack) throw notFound("Stack");
  return json(c, await present(c, stack));
}

async function stacksDestroy(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const stack = await findOr404(c);
  requireAdminWrite(c);
  await deleteStack(db, stack, metadataDeleteStatements(db, "stack", stack.guid));
  return noContent();
}

export const stackRoutes = routeTable([
  ["GET", "/", read, stacksIndex],
  ["GET", "/:guid", read, stacksShow],
  ["POST", "/", write, stacksCreate],
  ["PATCH", "/:guid", write, stacksUpdate],
  ["DELETE", "/:guid", write, stacksDestroy],
]);
