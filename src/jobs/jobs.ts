// Pollable jobs: a row per job, work run after the response, and a job always ends COMPLETE or
// FAILED (the scheduled sweep fails any left PROCESSING by a dead isolate).
import { and, eq, lt } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { timestamp, type Db } from "../db/client";
import { jobs, type Job } from "../db/schema";
import { ApiError, v3ErrorBody } from "../http/errors";
import { absoluteUrl } from "../http/pagination";
import { accepted } from "../http/respond";

interface JobSpec {
  /** e.g. "package.delete", "buildpack.upload" */
  operation: string;
  resourceType: string;
  resourceGuid: string;
}

/** A job left PROCESSING longer than this was lost with its isolate. */
const JOB_TIMEOUT_MS = 15 * 60 * 1000;

/** Where a client polls a job: its absolute /v3/jobs URL. */
export const jobUrl = (c: Context<AppEnv>, job: Pick<Job, "guid">): string => absoluteUrl(c, `/v3/jobs/${job.guid}`);

/** 202 Accepted with the job's URL as Location, as v3 deletes answer. */
export const acceptedJob = (c: Context<AppEnv>, job: Pick<Job, "guid">): Response => accepted(c, jobUrl(c, job));

/** Records a job and runs `work` after the response. Resolves to the job as it was created. */
export async function startJob(c: Context<AppEnv>, spec: JobSpec, work: () => Promise<void>): Promise<Job> {
  const db = c.get("db");
  const [job] = await db.insert(jobs).values({
    guid: crypto.randomUUID(),
    operation: spec.operation,
    state: "PROCESSING",
    resourceType: spec.resourceType,
    resourceGuid: spec.resourceGuid,
    createdAt: timestamp(),
  }).returning();
  c.executionCtx.waitUntil(runJob(db, job!.guid, work));
  return job!;
}

/** Runs the work of a job and records how it ended. Never throws. */
export async function runJob(db: Db, jobGuid: string, work: () => Promise<void>): Promise<void> {
  let state: "COMPLETE" | "FAILED" = "COMPLETE";
  let errors: object[] = [];
  try {
    await work();
  } catch (err) {
    state = "FAILED";
    if (err instanceof ApiError) {
      errors = v3ErrorBody(err).errors;
    } else {
      console.error("job failed", jobGuid, err instanceof Error ? err.stack : String(err));
      errors = [{ detail: "An unknown error occurred.", title: "UnknownError", code: 10001 }];
    }
  }
  try {
    await db.update(jobs)
      .set({ state, errors: JSON.stringify(errors), updatedAt: timestamp() })
      .where(and(eq(jobs.guid, jobGuid), eq(jobs.state, "PROCESSING")));
  } catch (err) {
    // The sweep fails the job later; nothing else can be done here.
    console.error("could not record the end of job", jobGuid, err instanceof Error ? err.message : String(err));
  }
}

/** Fails jobs that have been PROCESSING for longer than JOB_TIMEOUT_MS. Returns how many. */
export async function failLostJobs(db: Db, now = Date.now()): Promise<number> {
  const cutoff = timestamp(new Date(now - JOB_TIMEOUT_MS));
  const errors = v3ErrorBody(new ApiError("JobTimeout")).errors;
  const result = await db.update(jobs)
    .set({ state: "FAILED", errors: JSON.stringify(errors), updatedAt: timestamp(new Date(now)) })
    .where(and(eq(jobs.state, "PROCESSING"), lt(jobs.createdAt, cutoff)))
    .returning({ guid: jobs.guid });
  return result.length;
}
