import type { Job } from "../db/schema";

/**
 * v3 job (the reference's app/presenters/v3/job_presenter.rb); links are relative, as every resource link
 * here.
 */
export function presentJob(job: Job) {
  const links: Record<string, { href: string }> = { self: { href: `/v3/jobs/${job.guid}` } };
  // The resource link is shown while the resource exists: until a delete job has completed.
  const resourceGone = job.operation.endsWith(".delete") && job.state === "COMPLETE";
  if (job.resourceType && job.resourceGuid && !resourceGone) {
    links[job.resourceType] = { href: `/v3/${job.resourceType}s/${job.resourceGuid}` };
  }
  return {
    guid: job.guid,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    operation: job.operation,
    state: job.state,
    errors: JSON.parse(job.errors) as unknown[],
    warnings: JSON.parse(job.warnings) as unknown[],
    links,
  };
}

const v2Status = { PROCESSING: "running", POLLING: "running", COMPLETE: "finished", FAILED: "failed" } as const;

/** v2 job (the reference's app/presenters/api/job_presenter.rb). */
export function presentV2Job(job: Job) {
  const entity: Record<string, unknown> = { guid: job.guid, status: v2Status[job.state] };
  if (job.state === "FAILED") {
    const [first] = JSON.parse(job.errors) as { detail?: string; title?: string; code?: number }[];
    if (first) entity.error_details = { error_code: first.title, description: first.detail, code: first.code };
  }
  return {
    metadata: { guid: job.guid, created_at: job.createdAt, url: `/v2/jobs/${job.guid}` },
    entity,
  };
}
