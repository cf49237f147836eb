// /v3/audit_events: global readers see every event; others the events of spaces where they are
// space auditor, developer or supporter, and of organizations where they are organization auditor
// (EventsController, Permissions#readable_event_dataset).
import type { Context } from "hono";
import { identityOf, read } from "../../auth/context";
import { readableAuditEvents } from "../../auth/permissions";
import { auditEvents } from "../../db/schema";
import type { AppEnv } from "../../env";
import { routeTable } from "../../http/routes";
import { notFound } from "../../http/errors";
import { v3Page } from "../../http/pagination";
import { parseListParams } from "../../http/query";
import { json } from "../../http/respond";
import { presentAuditEvent } from "./present";
import { auditEventListSpec } from "./schema";
import { findAuditEvent, listAuditEvents } from "./store";

async function auditEventsIndex(c: Context<AppEnv>) {
  const params = parseListParams(new URL(c.req.url), auditEventListSpec);
  const visible = readableAuditEvents(identityOf(c), auditEvents.spaceGuid, auditEvents.organizationGuid);
  const { total, rows } = await listAuditEvents(c.get("db"), params, visible);
  return json(c, v3Page(c, "/v3/audit_events", params, total, rows.map(presentAuditEvent)));
}

async function auditEventsShow(c: Context<AppEnv, "/:guid">) {
  const visible = readableAuditEvents(identityOf(c), auditEvents.spaceGuid, auditEvents.organizationGuid);
  const event = await findAuditEvent(c.get("db"), c.req.param("guid"), visible);
  if (!event) throw notFound("Event");
  return json(c, presentAuditEvent(event));
}

export const auditEventRoutes = routeTable([
  ["GET", "/", read, auditEventsIndex],
  ["GET", "/:guid", read, auditEventsShow],
]);
