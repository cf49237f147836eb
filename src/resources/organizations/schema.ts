import { z } from "zod";
import { optionalName, requiredName } from "../../http/fields";
import type { ListSpec } from "../../http/query";
import { labelSelectorError, metadataField } from "../../metadata";

const suspendedField = z.boolean({ error: "must be a boolean" }).nullish();

/** POST /v3/organizations (OrganizationCreateMessage). */
export const orgCreateSchema = z.strictObject({
  metadata: metadataField.optional(),
  name: requiredName(),
  suspended: suspendedField,
});
export type OrgCreate = z.output<typeof orgCreateSchema>;

/** PATCH /v3/organizations/:guid (OrganizationUpdateMessage). */
export const orgUpdateSchema = z.strictObject({
  metadata: metadataField.optional(),
  name: optionalName(),
  suspended: suspendedField,
});
export type OrgUpdate = z.output<typeof orgUpdateSchema>;

export const orgListSpec: ListSpec = {
  allowed: ["page", "per_page", "order_by", "created_ats", "updated_ats", "guids", "names", "label_selector"],
  lists: ["guids", "names"],
  orderBy: ["created_at", "updated_at", "name"],
  validate: (key, value) => (key === "label_selector" ? labelSelectorError(value) : undefined),
};
