// Labels, annotations and label selectors for every v3 resource. See each file for the details:
// validate.ts (request `metadata`), store.ts (D1 statements and loading), selector.ts (label_selector),
// present.ts (the `metadata` object), keys.ts (the reference's key and value rules).
export {
  DEFAULT_METADATA_LIMITS, MAX_BOUND_PARAMETERS, METADATA_RESOURCE_TYPES,
  type Metadata, type MetadataLimits, type MetadataResourceType,
} from "./types";
export { metadataField, parseMetadata, validateMetadata, type MetadataParseResult, type MetadataUpdate } from "./validate";
export {
  loadMetadata, loadOneMetadata, metadataCreateStatements, metadataDeleteStatements, prepareMetadataPatch,
  type MetadataPatch,
} from "./store";
export {
  labelSelectorCondition, labelSelectorError, labelSelectorSql, MAX_LABEL_SELECTOR_REQUIREMENTS, parseLabelSelector,
  type LabelSelectorOperator, type LabelSelectorParseResult, type LabelSelectorRequirement,
} from "./selector";
export { emptyMetadata, presentMetadata } from "./present";
export { isBlank, keyError, labelValueError, renderKey } from "./keys";
