// What package requests may say (the reference's package_create_message.rb, packages_list_message.rb and
// package_update_message.rb in app/messages/), with the reference's messages in the reference's order.
// The create body's rules cross fields (data depends on type), so its checks are written out in the order
// the reference's validators run and handed to zod as verbatim ("^") messages.
import { z } from "zod";
import { isObject } from "../../http/fields";
import type { ListSpec } from "../../http/query";
import { labelSelectorError } from "../../metadata/selector";
import { parseMetadata, type MetadataUpdate } from "../../metadata/validate";

const PACKAGE_TYPES = ["bits", "docker"] as const;
export type PackageType = (typeof PACKAGE_TYPES)[number];

/** The reference's model limit on a stored docker password. */
const MAX_DOCKER_PASSWORD = 5000;
/** The reference's relationship guid limit. */
const MAX_GUID_LENGTH = 200;

const quoted = (keys: readonly string[]) => keys.map((k) => `'${k}'`).join(", ");
const unknownKeys = (value: Record<string, unknown>, allowed: readonly string[]) => Object.keys(value).filter((k) => !allowed.includes(k));

export interface DockerCredentials {
  image: string;
  username: string | null;
  password: string | null;
}

export interface PackageCreate {
  type: PackageType;
  appGuid: string | null;
  docker: DockerCredentials | null;
  metadata: MetadataUpdate | undefined;
  /** The request as the audit event records it: only the keys sent, the password redacted. */
  auditRequest: Record<string, unknown>;
}

/** `relationships.app.data.guid`: the nested RelationshipValidator's full messages. */
function relationshipMessages(relationships: unknown): string[] {
  if (!isObject(relationships)) return ["Relationships 'relationships' is not an object"];
  if (Object.keys(relationships).length === 0) return ["Relationships 'relationships' must include one or more valid relationships"];
  const messages: string[] = [];
  const extra = unknownKeys(relationships, ["app"]);
  if (extra.length > 0) messages.push(`Relationships Unknown field(s): ${quoted(extra)}`);
  const app = relationships["app"];
  const structured = 'Relationships App must be structured like this: "app: {"data": {"guid": "valid-guid"}}"';
  if (app === undefined || app === null) {
    messages.push("Relationships App can't be blank", structured);
    return messages;
  }
  if (!isObject(app) || unknownKeys(app, ["data"]).length > 0 || !("data" in app)) return [...messages, structured];
  const data = app["data"];
  if (data === null) return messages;
  if (!isObject(data) || unknownKeys(data, ["guid"]).length > 0) return [...messages, structured];
  const guid = data["guid"];
  if (typeof guid !== "string") messages.push("Relationships App guid must be a string");
  else if (guid.length < 1 || guid.length > MAX_GUID_LENGTH) messages.push(`Relationships App guid must be between 1 and ${MAX_GUID_LENGTH} characters`);
  return messages;
}

/** DockerDataValidator, plus type checks on the credentials (the reference stores whatever comes). */
function dockerDataMessages(data: unknown): string[] {
  if (data === undefined || data === null) return ["Data Image required"];
  if (!isObject(data)) return ["Data must be an object"];
  const messages: string[] = [];
  const image = data["image"];
  if (image === undefined || image === null || (typeof image === "string" && image.trim() === "")) messages.push("Data Image required");
  else if (typeof image !== "string") messages.push("Data Image must be a string");
  for (const key of ["username", "password"] as const) {
    const value = data[key];
    if (value !== undefined && value !== null && typeof value !== "string") messages.push(`Data ${key === "username" ? "Username" : "Password"} must be a string`);
  }
  if (typeof data["password"] === "string" && data["password"].length > MAX_DOCKER_PASSWORD) messages.push("docker_password can be up to 5,000 characters");
  const extra = unknownKeys(data, ["image", "username", "password"]);
  if (extra.length > 0) messages.push(`Data Unknown field(s): ${quoted(extra)}`);
  return messages;
}

/** The checks of PackageCreateMessage, in the order its validators run. */
function createMessages(body: Record<string, unknown>): string[] {
  const messages: string[] = [];
  const metadata = parseMetadata(body["metadata"]);
  if (!metadata.ok) messages.push(...metadata.errors);
  const extra = unknownKeys(body, ["relationships", "type", "data", "metadata"]);
  if (extra.length > 0) messages.push(`Unknown field(s): ${quoted(extra)}`);
  const type = body["type"];
  if (type === "docker") messages.push(...dockerDataMessages(body["data"]));
  if (type === "bits") {
    const data = body["data"];
    if (data !== undefined && data !== null && !(isObject(data) && Object.keys(data).length === 0)) {
      messages.push("Data Data must be empty if provided for bits packages");
    }
  }
  messages.push(...relationshipMessages(body["relationships"]));
  if (!PACKAGE_TYPES.includes(type as PackageType)) messages.push(`Type must be one of '${PACKAGE_TYPES.join(", ")}'`);
  return messages;
}

function auditRequest(body: Record<string, unknown>): Record<string, unknown> {
  const request: Record<string, unknown> = {};
  for (const key of ["type", "data", "relationships", "metadata"]) if (key in body) request[key] = body[key];
  if (isObject(body["data"]) && "password" in body["data"]) request["data"] = { ...body["data"], password: "***" };
  return request;
}

const asString = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** POST /v3/packages (without source_guid). */
export const packageCreateSchema = z.record(z.string(), z.unknown()).transform((body, ctx): PackageCreate => {
  const messages = createMessages(body);
  for (const message of messages) ctx.addIssue({ code: "custom", message: `^${message}`, input: body });
  if (messages.length > 0) return z.NEVER;
  const type = body["type"] as PackageType;
  const relationships = body["relationships"] as { app: { data: { guid: string } | null } };
  const data = body["data"] as Record<string, unknown> | undefined;
  const metadata = parseMetadata(body["metadata"]);
  return {
    type,
    appGuid: relationships.app.data?.guid ?? null,
    docker: type === "docker" && data
      ? { image: data["image"] as string, username: asString(data["username"]), password: asString(data["password"]) }
      : null,
    metadata: metadata.ok && body["metadata"] !== undefined ? metadata.metadata : undefined,
    auditRequest: auditRequest(body),
  };
});

/**
 * POST /v3/packages?source_guid=: the reference reads only `relationships.app.data.guid` and
 * validates nothing else (PackagesController#create with source_guid); anything else in the body is ignored.
 */
export function copyDestination(body: Record<string, unknown>): string | null {
  const relationships = body["relationships"];
  if (!isObject(relationships)) return null;
  const app = relationships["app"];
  if (!isObject(app)) return null;
  const data = app["data"];
  if (!isObject(data)) return null;
  return asString(data["guid"]);
}

const credential = (name: string) =>
  z.string({ error: `^${name} must be a string` }).max(MAX_DOCKER_PASSWORD, `^${name} can be up to 5,000 characters`).nullish();

/** PATCH /v3/packages/:guid: metadata, and docker credentials. */
export const packageUpdateSchema = z.strictObject({
  metadata: z.unknown().optional(),
  username: credential("Username"),
  password: credential("Password"),
}).transform((body, ctx) => {
  const metadata = parseMetadata(body.metadata);
  if (!metadata.ok) {
    for (const message of metadata.errors) ctx.addIssue({ code: "custom", message: `^${message}`, input: body });
    return z.NEVER;
  }
  return {
    metadata: body.metadata === undefined ? undefined : metadata.metadata,
    username: body.username ?? null,
    password: body.password ?? null,
  };
});

const LIST_COMMON = ["page", "per_page", "order_by", "created_ats", "updated_ats", "guids", "states", "types"] as const;

/** GET /v3/packages (PackagesListMessage; the allowed keys in the reference's order). */
export const packageListSpec: ListSpec = {
  allowed: [...LIST_COMMON, "app_guids", "app_guid", "space_guids", "organization_guids", "label_selector"],
  lists: ["guids", "states", "types", "app_guids", "space_guids", "organization_guids"],
  orderBy: ["created_at", "updated_at"],
  validate: (key, value) => (key === "label_selector" ? labelSelectorError(value) : undefined),
};

/**
 * GET /v3/apps/:guid/packages (PackagesListMessage#app_nested_request): the app, space and
 * organization filters are refused, named in the reference's order.
 */
export const appPackageListSpec: ListSpec = {
  allowed: packageListSpec.allowed,
  refused: ["app_guids", "organization_guids", "space_guids"],
  lists: ["guids", "states", "types"],
  orderBy: ["created_at", "updated_at"],
  validate: packageListSpec.validate,
};

/** MAX_PACKAGE_SIZE (bytes, uncompressed), default 1 GiB; anything unparsable is the default. */
export function maxPackageSize(configured: string | undefined): number {
  const n = Number(configured);
  return Number.isSafeInteger(n) && n > 0 ? n : 1073741824;
}
