import { z } from "zod";
import { isObject, optionalName, requiredName, relationshipsField } from "../../http/fields";
import type { ListSpec } from "../../http/query";
import { labelSelectorError, metadataField } from "../../metadata";

const LIFECYCLE_TYPES = ["buildpack", "docker"] as const;

/** A requested lifecycle: buildpack (buildpacks, stack) or docker (no data). */
export type LifecycleRequest =
  | { type: "buildpack"; buildpacks: string[] | null; stack: string | null }
  | { type: "docker" };

/**
 * `lifecycle` (the reference's LifecycleValidator with BuildpackLifecycleDataMessage and
 * EmptyLifecycleDataMessage); messages are prefixed "Lifecycle". Absent: undefined (the default,
 * buildpack lifecycle with the default stack).
 */
const lifecycleField = z.unknown().optional().transform((value, ctx): LifecycleRequest | undefined => {
  if (value === undefined) return undefined;
  const errors: string[] = [];
  const fail = () => {
    for (const m of errors) ctx.addIssue({ code: "custom", message: `^Lifecycle ${m}`, input: value });
    return z.NEVER;
  };
  if (!isObject(value)) {
    errors.push("must be an object");
    return fail();
  }
  const unknown = Object.keys(value).filter((k) => k !== "type" && k !== "data");
  if (unknown.length > 0) errors.push(`Unknown field(s): ${unknown.map((k) => `'${k}'`).join(", ")}`);
  const type = value.type ?? "buildpack";
  if (typeof type !== "string") errors.push("type must be a string");
  else if (!(LIFECYCLE_TYPES as readonly string[]).includes(type)) errors.push(`type is not included in the list: ${LIFECYCLE_TYPES.join(", ")}`);
  const data = value.data;
  if (!isObject(data)) errors.push("data must be an object");
  if (errors.length > 0) return fail();
  const d = data as Record<string, unknown>;

  if (type === "docker") {
    const extra = Object.keys(d);
    if (extra.length > 0) errors.push(`Unknown field(s): ${extra.map((k) => `'${k}'`).join(", ")}`);
    return errors.length > 0 ? fail() : { type: "docker" };
  }

  const extra = Object.keys(d).filter((k) => k !== "buildpacks" && k !== "stack");
  if (extra.length > 0) errors.push(`Unknown field(s): ${extra.map((k) => `'${k}'`).join(", ")}`);
  const stack = d.stack ?? null;
  if (stack !== null) {
    if (typeof stack !== "string") errors.push("Stack must be a string");
    else if (stack.length < 1 || stack.length > 4096) errors.push("Stack must be between 1 and 4096 characters");
  }
  const buildpacks = d.buildpacks ?? null;
  if (buildpacks !== null) {
    if (!Array.isArray(buildpacks)) errors.push("Buildpacks must be an array");
    else {
      if (buildpacks.some((b) => typeof b !== "string")) errors.push("Buildpacks can only contain strings");
      if (buildpacks.some((b) => typeof b === "string" && (b.trim() === "" || b.length > 4096))) {
        errors.push("Buildpacks entries must be between 1 and 4096 characters");
      }
    }
  }
  if (errors.length > 0) return fail();
  return { type: "buildpack", buildpacks: buildpacks as string[] | null, stack: stack as string | null };
});

/** POST /v3/apps (AppCreateMessage, without environment variables: this service keeps none). */
export const appCreateSchema = z.strictObject({
  metadata: metadataField.optional(),
  name: requiredName(),
  relationships: relationshipsField(["space"]),
  lifecycle: lifecycleField,
});
export type AppCreate = z.output<typeof appCreateSchema>;

/** PATCH /v3/apps/:guid: name and metadata. */
export const appUpdateSchema = z.strictObject({
  metadata: metadataField.optional(),
  name: optionalName(),
});
export type AppUpdate = z.output<typeof appUpdateSchema>;

export const appListSpec: ListSpec = {
  allowed: [
    "page", "per_page", "order_by", "created_ats", "updated_ats", "guids",
    "names", "organization_guids", "space_guids", "stacks", "lifecycle_type", "label_selector",
  ],
  lists: ["guids", "names", "organization_guids", "space_guids", "stacks"],
  orderBy: ["created_at", "updated_at", "name", "state"],
  validate: (key, value) => {
    if (key === "label_selector") return labelSelectorError(value);
    if (key === "lifecycle_type" && value !== "buildpack" && value !== "docker" && value !== "cnb") {
      return "Lifecycle type is not included in the list: buildpack, docker, cnb";
    }
    return undefined;
  },
};
