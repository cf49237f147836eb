// /v3/organization_quotas, read-only: the default quota every organization names. Everyone sees the
// quotas; each names only the organizations the caller can see (OrganizationQuotasController).
import type { Context } from "hono";
import { identityOf, read } from "../../auth/context";
import { readableOrganizations } from "../../auth/permissions";
import { organizations } from "../../db/schema";
import { runReads } from "../../db/reads";
import type { AppEnv } from "../../env";
import { notFound } from "../../http/errors";
import { v3Page } from "../../http/pagination";
import { parseListParams } from "../../http/query";
import { json } from "../../http/respond";
import { routeTable } from "../../http/routes";
import { presentOrganizationQuota } from "./present";
import { organizationQuotaListSpec } from "./schema";
import { organizationQuotaList, organizationQuotaLookup } from "./store";

async function organizationQuotasIndex(c: Context<AppEnv>) {
  const db = c.get("db");
  const params = parseListParams(new URL(c.req.url), organizationQuotaListSpec);
  const visible = readableOrganizations(identityOf(c), organizations.guid);
  const [{ total, rows }] = await runReads(db, organizationQuotaList(db, params, visible));
  return json(c, v3Page(c, "/v3/organization_quotas", params, total, rows.map((r) => presentOrganizationQuota(r.quota, r.organizationGuids))));
}

async function organizationQuotasShow(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const visible = readableOrganizations(identityOf(c), organizations.guid);
  const [found] = await runReads(db, organizationQuotaLookup(db, c.req.param("guid"), visible));
  if (!found) throw notFound("Organization quota");
  return json(c, presentOrganizationQuota(found.quota, found.organizationGuids));
}

export const organizationQuotaRoutes = routeTable([
  ["GET", "/", read, organizationQuotasIndex],
  ["GET", "/:guid", read, organizationQuotasShow],
]);
