import type { AuditEvent } from "../../db/schema";

function data(event: AuditEvent): unknown {
  try {
    return JSON.parse(event.data) as unknown;
  } catch {
    return {};
  }
}

/** The v3 audit event (EventPresenter): an event never changes, so updated_at is its created_at. */
export function presentAuditEvent(event: AuditEvent) {
  return {
    guid: event.guid,
    created_at: event.createdAt,
    updated_at: event.createdAt,
    type: event.type,
    actor: { guid: event.actorGuid, type: event.actorType, name: event.actorName },
    target: { guid: event.acteeGuid, type: event.acteeType, name: event.acteeName },
    data: data(event),
    space: event.spaceGuid ? { guid: event.spaceGuid } : null,
    organization: event.organizationGuid ? { guid: event.organizationGuid } : null,
    links: { self: { href: `/v3/audit_events/${event.guid}` } },
  };
}
