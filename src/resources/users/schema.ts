import type { ListSpec } from "../../http/query";
import { labelSelectorError } from "../../metadata";

export const userListSpec: ListSpec = {
  allowed: ["page", "per_page", "order_by", "created_ats", "updated_ats", "guids", "usernames", "partial_usernames", "origins", "label_selector"],
  lists: ["guids", "usernames", "partial_usernames", "origins"],
  orderBy: ["created_at", "updated_at"],
  validate: (key, value) => (key === "label_selector" ? labelSelectorError(value) : undefined),
};
