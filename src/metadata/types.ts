// Names shared by the metadata module.

/**
 * The `resource_type` stored with each label and annotation, in the reference's singular form (as in a
 * job's `resource_type`). Every resource uses exactly one of these for all its metadata calls.
 */
export const METADATA_RESOURCE_TYPES = [
  "app", "build", "buildpack", "deployment", "domain", "droplet", "isolation_segment", "organization",
  "package", "process", "revision", "role", "route", "route_binding", "service_binding", "service_broker",
  "service_instance", "service_key", "service_offering", "service_plan", "space", "stack", "task", "user",
] as const;
export type MetadataResourceType = (typeof METADATA_RESOURCE_TYPES)[number];

/**
 * How a resource's metadata is shown (the reference's MetadataPresentationHelpers): both objects always
 * present, `{}` when empty.
 */
export interface Metadata {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The reference's defaults for `max_labels_per_resource` and `max_annotations_per_resource`. */
export interface MetadataLimits {
  maxLabels: number;
  maxAnnotations: number;
}
export const DEFAULT_METADATA_LIMITS: Readonly<MetadataLimits> = { maxLabels: 50, maxAnnotations: 200 };

/** D1 refuses statements that bind more than this many parameters. */
export const MAX_BOUND_PARAMETERS = 100;
