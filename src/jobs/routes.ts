import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { read } from "../auth/context";
import type { AppEnv } from "../env";
import { jobs } from "../db/schema";
import { ApiError, notFound } from "../http/errors";
import { json } from "../http/respond";
import { presentJob, presentV2Job } from "./present";

export const v3JobRoutes = new Hono<AppEnv>().get("/:guid", read, async (c) => {
  const job = await c.get("db").query.jobs.findFirst({ where: eq(jobs.guid, c.req.param("guid")) });
  if (!job) throw notFound("Job");
  return json(c, presentJob(job));
});

export const v2JobRoutes = new Hono<AppEnv>().get("/:guid", read, async (c) => {
  const job = await c.get("db").query.jobs.findFirst({ where: eq(jobs.guid, c.req.param("guid")) });
  if (!job) throw new ApiError("NotFound");
  return json(c, presentV2Job(job));
});
