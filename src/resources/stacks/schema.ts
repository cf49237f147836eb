import { z } from "zod";
import type { ListSpec } from "../../http/query";
import { isBlank, labelSelectorError, metadataField } from "../../metadata";

const text = (max = 250) => z.string({ error: "must be a string" }).max(max, `is too long (maximum is ${max} characters)`);

export const stackCreateSchema = z.strictObject({
  metadata: metadataField,
  // Presence, as ActiveModel sees it: missing, null, "" and whitespace-only are all blank.
  name: z.string({ error: (issue) => (issue.input === undefined || issue.input === null ? "can't be blank" : "must be a string") })
    .refine((v) => !isBlank(v), "can't be blank").max(250, "is too long (maximum is 250 characters)"),
  description: text().nullish(),
  build_rootfs_image: text().nullish(),
  run_rootfs_image: text().nullish(),
});
export type StackCreate = z.output<typeof stackCreateSchema>;

/** PATCH /v3/stacks/:guid changes metadata only, as the reference. */
export const stackUpdateSchema = z.strictObject({
  metadata: metadataField,
});
export type StackUpdate = z.output<typeof stackUpdateSchema>;

export const stackListSpec: ListSpec = {
  allowed: ["page", "per_page", "order_by", "created_ats", "updated_ats", "guids", "names", "default", "label_selector"],
  lists: ["guids", "names"],
  orderBy: ["created_at", "updated_at", "name"],
  validate: (key, value) => {
    if (key === "default" && value !== "true" && value !== "false") return "Default must be 'true' or 'false'";
    if (key === "label_selector") return labelSelectorError(value);
    return undefined;
  },
};
