import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { read } from "../auth/context";
import type { AppEnv } from "../env";
import { routeTable } from "../http/routes";
import { jobs } from "../db/schema";
import { ApiError, notFound } from "../http/errors";
import { json } from "../http/respond";
import { presentJob, presentV2Job } from "./present";

async function jobsShow(c: Context<AppEnv, "/:guid">) {
  const job = await c.get("db").query.jobs.findFirst({ where: eq(jobs.guid, c.req.param("guid")) });
  if (!job) throw notFound("Job");
  return json(c, presentJob(job));
}

export const v3JobRoutes = routeTable([
  ["GET", "/:guid", read, jobsShow],
]);

async function jobsV2Show(c: Context<AppEnv, "/:guid">) {
  const job = await c.get("db").query.jobs.findFirst({ where: eq(jobs.guid, c.req.param("guid")) });
  if (!job) throw new ApiError("NotFound");
  return json(c, presentV2Job(job));
}

export const v2JobRoutes = routeTable([
  ["GET", "/:guid", read, jobsV2Show],
]);
