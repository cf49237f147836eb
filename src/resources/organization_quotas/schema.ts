import type { ListSpec } from "../../http/query";

/** GET /v3/organization_quotas (OrganizationQuotasListMessage). */
export const organizationQuotaListSpec: ListSpec = {
  allowed: ["page", "per_page", "order_by", "created_ats", "updated_ats", "guids", "names", "organization_guids"],
  lists: ["guids", "names", "organization_guids"],
  orderBy: ["created_at", "updated_at", "name"],
};
