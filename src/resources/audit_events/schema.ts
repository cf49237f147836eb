import type { ListSpec } from "../../http/query";

export const auditEventListSpec: ListSpec = {
  allowed: ["page", "per_page", "order_by", "created_ats", "updated_ats", "guids", "types", "target_guids", "space_guids", "organization_guids"],
  lists: ["guids", "types", "target_guids", "space_guids", "organization_guids"],
  orderBy: ["created_at", "updated_at"],
};
