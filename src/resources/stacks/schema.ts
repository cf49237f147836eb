import { z } from "zod";
import type { ListSpec } from "../../http/query";
import { isBlank, labelSelectorError, metadataField } from "../../metadata";

const text = (max = 250) => z.string({ error: "must be a string" }).max(max, `is too long (maximum is ${max} characters)`);

/** The reference's StackStates::VALID_STATES, in its order. */
const STACK_STATES = ["ACTIVE", "RESTRICTED", "DEPRECATED", "DISABLED"] as const;
type StackState = (typeof STACK_STATES)[number];

// StackCreateMessage / StackUpdateMessage: a state, when given, must be one of them (null too is refused).
const state = z.custom<StackState>((v) => (STACK_STATES as readonly unknown[]).includes(v), {
  error: `^State must be one of ${STACK_STATES.join(", ")}`,
});
const stateReason = z.string({ error: "must be a string" }).max(1000, "is too long (maximum is 1000 characters)").nullish();

export const stackCreateSchema = z.strictObject({
  metadata: metadataField,
  // Presence, as ActiveModel sees it: missing, null, "" and whitespace-only are all blank.
  name: z.string({ error: (issue) => (issue.input === undefined || issue.input === null ? "can't be blank" : "must be a string") })
    .refine((v) => !isBlank(v), "can't be blank").max(250, "is too long (maximum is 250 characters)"),
  description: text().nullish(),
  build_rootfs_image: text().nullish(),
  run_rootfs_image: text().nullish(),
  state: state.optional(),
  state_reason: stateReason,
});
export type StackCreate = z.output<typeof stackCreateSchema>;

/** PATCH /v3/stacks/:guid changes metadata, the state and its reason, as the reference. */
export const stackUpdateSchema = z.strictObject({
  metadata: metadataField,
  state: state.optional(),
  state_reason: stateReason,
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
