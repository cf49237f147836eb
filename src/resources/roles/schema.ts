import { z } from "zod";
import { roleTypes, type RoleType } from "../../db/schema";
import { ApiError } from "../../http/errors";
import { isObject, toOneGuid } from "../../http/fields";
import type { ListSpec } from "../../http/query";

const ORGANIZATION_ROLE_TYPES = ["organization_auditor", "organization_manager", "organization_billing_manager", "organization_user"] as const;
const SPACE_ROLE_TYPES = ["space_auditor", "space_manager", "space_developer", "space_supporter"] as const;
/** In the reference's order (RoleTypes::ALL_ROLES), as its message lists them. */
const ALL_ROLE_TYPES: readonly RoleType[] = [...ORGANIZATION_ROLE_TYPES, ...SPACE_ROLE_TYPES];
export const isSpaceRole = (type: RoleType): boolean => (SPACE_ROLE_TYPES as readonly string[]).includes(type);

/** Who gets the role: a user guid (UAA user_id or client_id), or a username (and origin) known here. */
type RoleUser = { guid: string } | { username: string; origin: string | null };

export interface RoleCreate {
  type: RoleType;
  user: RoleUser;
  target: { kind: "space"; guid: string } | { kind: "organization"; guid: string };
}

/**
 * POST /v3/roles (RoleCreateMessage and its Relationships message), with the reference's messages:
 * "Type must be one of the allowed types [...]", "Relationships ..." for everything under relationships.
 */
export const roleCreateSchema = z.unknown().transform((body, ctx): RoleCreate => {
  const errors: string[] = [];
  const fail = () => {
    for (const m of errors) ctx.addIssue({ code: "custom", message: `^${m}`, input: body });
    return z.NEVER;
  };
  const b = isObject(body) ? body : {};
  const unknown = Object.keys(b).filter((k) => k !== "type" && k !== "relationships");
  if (unknown.length > 0) errors.push(`Unknown field(s): ${unknown.map((k) => `'${k}'`).join(", ")}`);

  const type = b.type;
  const typeOk = typeof type === "string" && (roleTypes as readonly string[]).includes(type);
  const rel = b.relationships;
  if (!isObject(rel)) errors.push("Relationships 'relationships' is not an object");
  else if (Object.keys(rel).length === 0) errors.push("Relationships 'relationships' must include one or more valid relationships");
  else errors.push(...relationshipErrors(rel, typeOk ? (type as RoleType) : undefined).map((m) => `Relationships ${m}`));
  if (!typeOk) errors.push(`Type must be one of the allowed types [${ALL_ROLE_TYPES.map((t) => `"${t}"`).join(", ")}]`);
  if (errors.length > 0) return fail();

  const r = rel as Record<string, unknown>;
  const userData = (r.user as { data: Record<string, unknown> }).data;
  const user: RoleUser = typeof userData.guid === "string"
    ? { guid: userData.guid }
    : { username: userData.username as string, origin: (userData.origin as string | null | undefined) ?? null };
  const space = r.space as { data: { guid: string } } | undefined;
  const org = r.organization as { data: { guid: string } } | undefined;
  const target = space?.data ? { kind: "space" as const, guid: space.data.guid } : { kind: "organization" as const, guid: org!.data.guid };
  return { type: type as RoleType, user, target };
});

/** The Relationships message's checks, without the "Relationships " prefix. */
function relationshipErrors(rel: Record<string, unknown>, type: RoleType | undefined): string[] {
  const errors: string[] = [];
  const unknown = Object.keys(rel).filter((k) => k !== "space" && k !== "user" && k !== "organization");
  if (unknown.length > 0) errors.push(`Unknown field(s): ${unknown.map((k) => `'${k}'`).join(", ")}`);

  // user: by guid, or by username (+ origin)
  const user = rel.user;
  const data = isObject(user) && isObject(user.data) ? user.data : undefined;
  const hasGuid = data !== undefined && "guid" in data;
  const hasUsername = data !== undefined && "username" in data;
  const hasOrigin = data !== undefined && "origin" in data;
  const userErrors: string[] = [];
  if (user === undefined || user === null) userErrors.push("User can't be blank");
  if (hasGuid && hasUsername) userErrors.push("Username cannot be specified when identifying user by guid");
  if (hasGuid && hasOrigin) userErrors.push("User origin cannot be specified when identifying user by guid");
  if (!hasUsername && hasOrigin) userErrors.push("User origin cannot be specified without specifying the username");
  if (!hasUsername && !hasGuid) userErrors.push("User must have a username or guid specified");
  if (userErrors.length === 0) {
    if (hasGuid) {
      const r = toOneGuid("user", user);
      if ("errors" in r) userErrors.push(...r.errors);
    } else {
      if (typeof data!.username !== "string") userErrors.push("Username must be a string");
      if (hasOrigin && data!.origin !== null && typeof data!.origin !== "string") userErrors.push("User origin must be a string");
    }
  }
  errors.push(...userErrors);

  // space or organization, matching the type
  const spaceData = isObject(rel.space) ? rel.space.data : undefined;
  const orgData = isObject(rel.organization) ? rel.organization.data : undefined;
  const targetErrors: string[] = [];
  if (spaceData == null && orgData == null) targetErrors.push("must specify either a space or an organization.");
  if (spaceData != null && type && (ORGANIZATION_ROLE_TYPES as readonly string[]).includes(type)) {
    targetErrors.push(`Space cannot be provided with the organization role type: '${type}'.`);
  }
  if (orgData != null && type && isSpaceRole(type)) {
    targetErrors.push(`Organization cannot be provided with the space role type: '${type}'.`);
  }
  if (spaceData != null && orgData != null) targetErrors.push("cannot specify both an organization and a space.");
  if (targetErrors.length === 0) {
    const name = spaceData != null ? "space" : "organization";
    const r = toOneGuid(name, rel[name]);
    if ("errors" in r) targetErrors.push(...r.errors);
  }
  errors.push(...targetErrors);
  return errors;
}

export const roleListSpec: ListSpec = {
  allowed: ["page", "per_page", "order_by", "created_ats", "updated_ats", "guids", "organization_guids", "space_guids", "user_guids", "types", "include"],
  lists: ["guids", "organization_guids", "space_guids", "user_guids", "types", "include"],
  orderBy: ["created_at", "updated_at"],
};

const ROLE_INCLUDES = ["user", "organization", "space"] as const;
export type RoleInclude = (typeof ROLE_INCLUDES)[number];

/** `include` of the role list and show: user, organization, space. */
export function roleIncludes(values: readonly string[] | undefined): RoleInclude[] {
  if (!values) return [];
  const bad = values.filter((v) => !(ROLE_INCLUDES as readonly string[]).includes(v));
  if (bad.length > 0) {
    throw new ApiError("UnprocessableEntity", `Invalid included resource: '${bad.join(", ")}'. Valid included resources are: ${ROLE_INCLUDES.map((i) => `'${i}'`).join(", ")}`);
  }
  return [...new Set(values)] as RoleInclude[];
}
