import { z } from "zod";
import { optionalName, requiredName, relationshipsField } from "../../http/fields";
import type { ListSpec } from "../../http/query";
import { labelSelectorError, metadataField } from "../../metadata";

/** POST /v3/spaces (SpaceCreateMessage). Spaces are never suspended here: only organizations are. */
export const spaceCreateSchema = z.strictObject({
  metadata: metadataField.optional(),
  name: requiredName(),
  relationships: relationshipsField(["organization"]),
});
export type SpaceCreate = z.output<typeof spaceCreateSchema>;

/** PATCH /v3/spaces/:guid: name and metadata. */
export const spaceUpdateSchema = z.strictObject({
  metadata: metadataField.optional(),
  name: optionalName(),
});
export type SpaceUpdate = z.output<typeof spaceUpdateSchema>;

export const spaceListSpec: ListSpec = {
  allowed: ["page", "per_page", "order_by", "created_ats", "updated_ats", "guids", "names", "organization_guids", "label_selector"],
  lists: ["guids", "names", "organization_guids"],
  orderBy: ["created_at", "updated_at", "name"],
  validate: (key, value) => (key === "label_selector" ? labelSelectorError(value) : undefined),
};
