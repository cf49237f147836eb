// The reference's rules for metadata keys and label values (MetadataValidatorHelper, MetadataHelpers),
// shared by request validation and label selectors. Messages are the reference's, without the
// "Metadata label key error: " wrapping, which the callers add.
//
// Ruby semantics kept on purpose: lengths and the 8-character excerpts count characters (code points),
// not UTF-16 units; "blank" means empty or whitespace only; `\w` is ASCII; a split drops trailing
// empty pieces ("a/".split("/") is ["a"]).

const MAX_KEY_NAME_LENGTH = 63;
const MAX_KEY_PREFIX_LENGTH = 253;
const MAX_LABEL_VALUE_LENGTH = 63;
export const MAX_ANNOTATION_VALUE_LENGTH = 5000;
const RESERVED_PREFIX = "cloudfoundry.org";

const INVALID_CHARACTER = /[^\w.-]/;
const ALPHANUMERIC = /^[A-Za-z0-9]$/;
// CloudController::DomainDecorator::DOMAIN_REGEX: at least two labels; `\Z` also accepts one final newline.
const DNS_NAME = /^(?:(?:[a-z0-9]|[a-z0-9][a-z0-9-]{0,61}[a-z0-9])\.)+(?:[a-z0-9]|[a-z0-9][a-z0-9-]{0,61}[a-z0-9])\n?$/i;
const BLANK = /^\p{White_Space}*$/u;

/** ActiveSupport's `blank?` for strings: empty or only whitespace. */
export const isBlank = (s: string): boolean => BLANK.test(s);

/** Ruby's `String#size`: characters, not UTF-16 units. */
export const charLength = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/** Ruby's `s[0...n]`: the first n characters. */
export const firstChars = (s: string, n: number): string => {
  let out = "";
  let i = 0;
  for (const ch of s) {
    if (i++ >= n) break;
    out += ch;
  }
  return out;
};

/**
 * `MetadataHelpers.extract_prefix`: "example.com/name" → ["example.com", "name"]; "name" → [undefined, "name"].
 * With more than one "/" the first two pieces are used (such keys fail validation, except on
 * annotations whose value is blank, which the reference never checks).
 */
export function extractPrefix(key: string): [prefix: string | undefined, name: string] {
  if (!key.includes("/")) return [undefined, key];
  const pieces = key.split("/");
  while (pieces.length > 0 && pieces[pieces.length - 1] === "") pieces.pop();
  return [pieces[0], pieces[1] ?? ""];
}

function startsAndEndsAlphanumeric(s: string): boolean {
  return ALPHANUMERIC.test(s.charAt(0)) && ALPHANUMERIC.test(s.charAt(s.length - 1));
}

/** `MetadataValidatorHelper#key_error`: the first problem with a label or annotation key, if any. */
export function keyError(key: string): string | undefined {
  if (isBlank(key)) return "key cannot be empty string";
  if (key.split("/").length > 2) return "key has more than one '/'";
  const [prefix, name] = extractPrefix(key);
  if (prefix !== undefined) {
    if (!DNS_NAME.test(prefix)) return `prefix '${prefix}' must be in valid dns format`;
    if (charLength(prefix) > MAX_KEY_PREFIX_LENGTH) {
      return `prefix '${firstChars(prefix, 8)}...' is greater than ${MAX_KEY_PREFIX_LENGTH} characters`;
    }
    if (prefix.toLowerCase() === RESERVED_PREFIX) return `prefix '${RESERVED_PREFIX}' is reserved`;
  }
  if (isBlank(name)) return "key cannot be empty string";
  return nameOrValueError(name, MAX_KEY_NAME_LENGTH);
}

/** `MetadataValidatorHelper#value_error`: the first problem with a label value ("" is fine). */
export function labelValueError(value: string): string | undefined {
  if (value === "") return undefined;
  return nameOrValueError(value, MAX_LABEL_VALUE_LENGTH);
}

function nameOrValueError(s: string, max: number): string | undefined {
  if (INVALID_CHARACTER.test(s)) return `'${s}' contains invalid characters`;
  if (!startsAndEndsAlphanumeric(s)) return `'${s}' starts or ends with invalid characters`;
  if (charLength(s) > max) return `'${firstChars(s, 8)}...' is greater than ${max} characters`;
  return undefined;
}

/** How a stored key is shown: "prefix/name", or "name" (blank parts left out, as the reference's `presence`). */
export function renderKey(prefix: string | null, name: string | null): string {
  return [prefix, name].filter((p): p is string => p !== null && !isBlank(p)).join("/");
}
