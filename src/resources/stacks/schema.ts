import { z } from "zod";
import type { ListSpec } from "../../http/query";

export const stackCreateSchema = z.strictObject({
  name: z.string({ error: "must be a string" }).min(1, "can't be blank").max(250, "is too long (maximum is 250 characters)"),
  description: z.string({ error: "must be a string" }).max(250, "is too long (maximum is 250 characters)").nullish(),
  build_rootfs_image: z.string({ error: "must be a string" }).max(250).nullish(),
  run_rootfs_image: z.string({ error: "must be a string" }).max(250).nullish(),
  metadata: z.unknown().optional(),
});
export type StackCreate = z.output<typeof stackCreateSchema>;

export const stackListSpec: ListSpec = {
  allowed: ["page", "per_page", "order_by", "created_ats", "updated_ats", "guids", "names", "default", "label_selector"],
  lists: ["guids", "names"],
  orderBy: ["created_at", "updated_at", "name"],
  validate: (key, value) =>
    key === "default" && value !== "true" && value !== "false" ? "Default must be a boolean" : undefined,
};
