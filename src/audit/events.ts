// Audit events (the reference's app/repositories/*_event_repository.rb): who did what to which resource,
// written in the same D1 batch as the change itself, so an event exists exactly when the change does.
import type { Identity } from "../auth/token";
import { timestamp, type Db } from "../db/client";
import { auditEvents } from "../db/schema";

export interface AuditEventInput {
  /** e.g. "audit.app.package.create", "audit.buildpack.update" */
  type: string;
  actor: Identity;
  actee: { guid: string; type: string; name: string | null };
  spaceGuid?: string | null;
  organizationGuid?: string | null;
  /** The event's metadata: request fields (secrets redacted), guids. */
  data?: Record<string, unknown>;
}

/** The insert for one audit event, to run alone or inside the caller's `db.batch([...])`. */
export function auditEventInsert(db: Db, event: AuditEventInput) {
  return db.insert(auditEvents).values({
    guid: crypto.randomUUID(),
    type: event.type,
    actorGuid: event.actor.guid,
    actorType: event.actor.isClient ? "client" : "user",
    actorName: event.actor.email,
    actorUsername: event.actor.userName,
    acteeGuid: event.actee.guid,
    acteeType: event.actee.type,
    acteeName: event.actee.name,
    spaceGuid: event.spaceGuid ?? null,
    organizationGuid: event.organizationGuid ?? null,
    data: JSON.stringify(event.data ?? {}),
    createdAt: timestamp(),
  });
}
