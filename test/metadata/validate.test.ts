// Request `metadata` validation (the reference's MetadataValidator and
// MetadataValidatorHelper): every rule, with the reference's exact messages and order.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { issueMessages } from "../../src/http/body";
import { metadataField, parseMetadata, validateMetadata } from "../../src/metadata";

const a = (n: number, ch = "a") => ch.repeat(n);
/** Valid DNS names of 253 and 254 characters (labels of at most 63). */
const dns253 = [a(63, "b"), a(63, "b"), a(63, "b"), a(61, "b")].join(".");
const dns254 = [a(63, "b"), a(63, "b"), a(63, "b"), a(62, "b")].join(".");

type Case = [name: string, metadata: unknown, errors: string[]];

const structure: Case[] = [
  ["absent metadata is not checked", undefined, []],
  ["an empty object is fine", {}, []],
  ["null is not an object", null, ["Metadata must be an object"]],
  ["a string is not an object", "labels", ["Metadata must be an object"]],
  ["a number is not an object", 5, ["Metadata must be an object"]],
  ["an array is not an object", [{ labels: {} }], ["Metadata must be an object"]],
  ["an unexpected field", { foo: "bar" }, ["Metadata has unexpected field(s): 'foo'"]],
  [
    "unexpected fields are listed in order, separated by spaces (as the reference joins them)",
    { foo: 1, labels: {}, bar: 2 },
    ["Metadata has unexpected field(s): 'foo' 'bar'"],
  ],
  ["labels must be an object (string)", { labels: "x" }, ["Metadata 'labels' is not an object"]],
  ["labels must be an object (array)", { labels: ["x"] }, ["Metadata 'labels' is not an object"]],
  ["labels must be an object (0 is truthy in Ruby)", { labels: 0 }, ["Metadata 'labels' is not an object"]],
  ["labels must be an object (true)", { labels: true }, ["Metadata 'labels' is not an object"]],
  ["null labels are ignored", { labels: null }, []],
  ["false labels are ignored (falsy in Ruby)", { labels: false }, []],
  ["annotations must be an object", { annotations: "x" }, ["Metadata 'annotations' is not an object"]],
  ["null annotations are ignored", { annotations: null }, []],
  [
    "both not objects: labels first",
    { annotations: [], labels: "x" },
    ["Metadata 'labels' is not an object", "Metadata 'annotations' is not an object"],
  ],
];

const labelKeys: Case[] = [
  ["a one-character key", { labels: { a: "v" } }, []],
  ["a key of allowed characters", { labels: { "a_b-c.D9": "v" } }, []],
  ["a prefixed key", { labels: { "example.com/a_b-c.d": "v" } }, []],
  ["a prefix with a hyphen and digits", { labels: { "my-org9.example.co.uk/x": "v" } }, []],
  ["a key of 63 characters", { labels: { [a(63)]: "v" } }, []],
  ["a prefix of 253 characters", { labels: { [`${dns253}/x`]: "v" } }, []],
  ["a subdomain of the reserved prefix is fine", { labels: { "sub.cloudfoundry.org/x": "v" } }, []],
  ["an empty key", { labels: { "": "v" } }, ["Metadata label key error: key cannot be empty string"]],
  ["a blank key", { labels: { "   ": "v" } }, ["Metadata label key error: key cannot be empty string"]],
  ["a key with two slashes", { labels: { "a.com/b/c": "v" } }, ["Metadata label key error: key has more than one '/'"]],
  ["only slashes", { labels: { "//": "v" } }, ["Metadata label key error: key has more than one '/'"]],
  ["a prefix without a dot", { labels: { "foo/bar": "v" } }, ["Metadata label key error: prefix 'foo' must be in valid dns format"]],
  ["an empty prefix", { labels: { "/bar": "v" } }, ["Metadata label key error: prefix '' must be in valid dns format"]],
  ["a prefix starting with a hyphen", { labels: { "-x.com/bar": "v" } }, ["Metadata label key error: prefix '-x.com' must be in valid dns format"]],
  ["a prefix with an underscore", { labels: { "x_y.com/bar": "v" } }, ["Metadata label key error: prefix 'x_y.com' must be in valid dns format"]],
  ["a prefix label of 64 characters", { labels: { [`${a(64)}.com/x`]: "v" } }, [`Metadata label key error: prefix '${a(64)}.com' must be in valid dns format`]],
  ["a prefix of 254 characters", { labels: { [`${dns254}/x`]: "v" } }, ["Metadata label key error: prefix 'bbbbbbbb...' is greater than 253 characters"]],
  ["the reserved prefix", { labels: { "cloudfoundry.org/release": "stable" } }, ["Metadata label key error: prefix 'cloudfoundry.org' is reserved"]],
  ["the reserved prefix in capitals", { labels: { "CloudFoundry.ORG/release": "stable" } }, ["Metadata label key error: prefix 'cloudfoundry.org' is reserved"]],
  ["a prefix with an empty name", { labels: { "example.com/": "v" } }, ["Metadata label key error: key cannot be empty string"]],
  ["a lone slash", { labels: { "/": "v" } }, ["Metadata label key error: key cannot be empty string"]],
  ["a space in the name", { labels: { "a b": "v" } }, ["Metadata label key error: 'a b' contains invalid characters"]],
  ["a non-ASCII letter", { labels: { "pâté": "v" } }, ["Metadata label key error: 'pâté' contains invalid characters"]],
  ["an emoji", { labels: { "k😀": "v" } }, ["Metadata label key error: 'k😀' contains invalid characters"]],
  ["the name's characters are checked after the prefix", { labels: { "example.com/a!b": "v" } }, ["Metadata label key error: 'a!b' contains invalid characters"]],
  ["a name starting with a hyphen", { labels: { "-ab": "v" } }, ["Metadata label key error: '-ab' starts or ends with invalid characters"]],
  ["a name ending with an underscore", { labels: { ab_: "v" } }, ["Metadata label key error: 'ab_' starts or ends with invalid characters"]],
  ["a name of one dot", { labels: { ".": "v" } }, ["Metadata label key error: '.' starts or ends with invalid characters"]],
  ["a name of 64 characters", { labels: { [a(64)]: "v" } }, ["Metadata label key error: 'aaaaaaaa...' is greater than 63 characters"]],
  ["a prefixed name of 64 characters", { labels: { [`example.com/${a(64, "n")}`]: "v" } }, ["Metadata label key error: 'nnnnnnnn...' is greater than 63 characters"]],
];

const labelValues: Case[] = [
  ["an empty value", { labels: { k: "" } }, []],
  ["a null value", { labels: { k: null } }, []],
  ["a value of 63 characters", { labels: { k: a(63, "v") } }, []],
  ["an integer (stored as its text, as the reference's to_s)", { labels: { k: 5 } }, []],
  ["a boolean (stored as its text)", { labels: { k: true } }, []],
  // Ruby's text for a float cannot be rebuilt from a parsed double (1e20 is "1.0e+20" there), nor a
  // large integer's, which has lost digits: refused rather than stored differently.
  ["a float", { labels: { k: 1.5 } }, ["Metadata label value error: value must be a string"]],
  ["an integer beyond 2^53", { labels: { k: 9007199254740994 } }, ["Metadata label value error: value must be a string"]],
  ["1e308", { labels: { k: 1e308 } }, ["Metadata label value error: value must be a string"]],
  [
    "several non-strings are one message, in the place of the first",
    { labels: { a: 1.5, "b c": 2.5, d: 0.1 } },
    ["Metadata label value error: value must be a string", "Metadata label key error: 'b c' contains invalid characters"],
  ],
  ["a space", { labels: { k: "a b" } }, ["Metadata label value error: 'a b' contains invalid characters"]],
  ["a blank value", { labels: { k: " " } }, ["Metadata label value error: ' ' contains invalid characters"]],
  ["a slash", { labels: { k: "a/b" } }, ["Metadata label value error: 'a/b' contains invalid characters"]],
  ["starting with an underscore", { labels: { k: "_a" } }, ["Metadata label value error: '_a' starts or ends with invalid characters"]],
  ["ending with a dot", { labels: { k: "a." } }, ["Metadata label value error: 'a.' starts or ends with invalid characters"]],
  ["a negative number", { labels: { k: -5 } }, ["Metadata label value error: '-5' starts or ends with invalid characters"]],
  ["64 characters", { labels: { k: a(64, "v") } }, ["Metadata label value error: 'vvvvvvvv...' is greater than 63 characters"]],
  ["an object", { labels: { k: {} } }, ["Metadata label value error: '{}' contains invalid characters"]],
  [
    "a bad key and a bad value give both messages, key first",
    { labels: { "a b": "c d" } },
    ["Metadata label key error: 'a b' contains invalid characters", "Metadata label value error: 'c d' contains invalid characters"],
  ],
  [
    "a null value does not excuse a bad key",
    { labels: { "cloudfoundry.org/x": null } },
    ["Metadata label key error: prefix 'cloudfoundry.org' is reserved"],
  ],
  [
    "every label is checked, in order",
    { labels: { "-a": "x", ok: "fine", b: "y z" } },
    ["Metadata label key error: '-a' starts or ends with invalid characters", "Metadata label value error: 'y z' contains invalid characters"],
  ],
];

const annotationCases: Case[] = [
  ["any characters in a value", { annotations: { note: "Hello, wörld! ☃ / \"quoted\"\n" } }, []],
  ["a value of 5000 characters", { annotations: { note: a(5000, "x") } }, []],
  ["5000 emoji are 5000 characters (not 10000 UTF-16 units)", { annotations: { note: "😀".repeat(5000) } }, []],
  ["a prefixed key", { annotations: { "example.com/note": "x" } }, []],
  ["an integer is stored as its text (the reference's to_s)", { annotations: { n: 7, m: -3 } }, []],
  // The reference fails with a 500 on these (it asks the value for its size).
  ["a float (the reference fails with a 500)", { annotations: { n: 1.5 } }, ["Metadata annotation value error: value must be a string"]],
  ["a boolean (the reference fails with a 500)", { annotations: { on: true } }, ["Metadata annotation value error: value must be a string"]],
  ["an integer beyond 2^53", { annotations: { n: 9007199254740994 } }, ["Metadata annotation value error: value must be a string"]],
  ["several non-strings are one message", { annotations: { n: 1.5, on: false, o: {} } }, ["Metadata annotation value error: value must be a string"]],
  ["a key of 63 characters", { annotations: { [a(63)]: "x" } }, []],
  ["an empty key", { annotations: { "": "stable" } }, ["Metadata annotation key error: key cannot be empty string"]],
  ["the reserved prefix", { annotations: { "cloudfoundry.org/x": "v" } }, ["Metadata annotation key error: prefix 'cloudfoundry.org' is reserved"]],
  ["a key of 64 characters", { annotations: { [a(64)]: "x" } }, ["Metadata annotation key error: 'aaaaaaaa...' is greater than 63 characters"]],
  ["a key with a space", { annotations: { "a b": "x" } }, ["Metadata annotation key error: 'a b' contains invalid characters"]],
  // Keys are checked whatever the value (the reference skips blank and null values, and stores such keys).
  ["a bad key with an empty value", { annotations: { "": "" } }, ["Metadata annotation key error: key cannot be empty string"]],
  ["a bad key with a blank value", { annotations: { "a b": "   " } }, ["Metadata annotation key error: 'a b' contains invalid characters"]],
  ["a bad key with a null value (a delete)", { annotations: { "cloudfoundry.org/x": null } }, ["Metadata annotation key error: prefix 'cloudfoundry.org' is reserved"]],
  ["a value of 5001 characters", { annotations: { note: a(5001, "x") } }, ["Metadata annotation value error: 'xxxxxxxx...' is greater than 5000 characters"]],
  ["a value of 15000 characters (C61)", { annotations: { note: a(15000, "y") } }, ["Metadata annotation value error: 'yyyyyyyy...' is greater than 5000 characters"]],
  ["5001 emoji, excerpt of 8 characters", { annotations: { note: "😀".repeat(5001) } }, [`Metadata annotation value error: '${"😀".repeat(8)}...' is greater than 5000 characters`]],
  ["an object value (the reference fails with a 500)", { annotations: { note: { a: 1 } } }, ["Metadata annotation value error: value must be a string"]],
  ["an array value", { annotations: { note: [] } }, ["Metadata annotation value error: value must be a string"]],
  [
    "a bad key and a long value give both messages",
    { annotations: { "": a(5001) } },
    ["Metadata annotation key error: key cannot be empty string", "Metadata annotation value error: 'aaaaaaaa...' is greater than 5000 characters"],
  ],
];

const ordering: Case[] = [
  [
    "unexpected fields, then labels, then annotations",
    { annotations: { "": "x" }, foo: 1, labels: { "a b": "" } },
    [
      "Metadata has unexpected field(s): 'foo'",
      "Metadata label key error: 'a b' contains invalid characters",
      "Metadata annotation key error: key cannot be empty string",
    ],
  ],
];

describe.each([
  ["structure", structure],
  ["label keys", labelKeys],
  ["label values", labelValues],
  ["annotations", annotationCases],
  ["message order", ordering],
])("validateMetadata: %s", (_group, cases) => {
  it.each(cases)("%s", (_name, metadata, errors) => {
    expect(validateMetadata(metadata)).toEqual(errors);
    const parsed = parseMetadata(metadata);
    expect(parsed.ok).toBe(errors.length === 0);
  });
});

describe("parseMetadata output", () => {
  it("keeps strings and nulls, turns integers (and label booleans) into their text, in request order", () => {
    const parsed = parseMetadata({
      labels: { b: "x", a: null, n: 5, t: false },
      annotations: { z: "", y: null, i: 15 },
    });
    expect(parsed).toEqual({
      ok: true,
      metadata: { labels: { b: "x", a: null, n: "5", t: "false" }, annotations: { z: "", y: null, i: "15" } },
    });
    if (!parsed.ok) throw new Error("unreachable");
    expect(Object.keys(parsed.metadata.labels ?? {})).toEqual(["b", "a", "n", "t"]);
  });

  it("absent labels or annotations become empty objects", () => {
    expect(parseMetadata({})).toEqual({ ok: true, metadata: { labels: {}, annotations: {} } });
    expect(parseMetadata({ labels: null, annotations: false })).toEqual({ ok: true, metadata: { labels: {}, annotations: {} } });
    expect(parseMetadata(undefined)).toEqual({ ok: true, metadata: {} });
  });

  it("a key named __proto__ is refused as any key starting with '_', and pollutes nothing", () => {
    const body = JSON.parse('{"annotations":{"__proto__":{"polluted":"yes"}},"labels":{"__proto__":""}}') as unknown;
    expect(parseMetadata(body)).toEqual({
      ok: false,
      errors: [
        "Metadata label key error: '__proto__' starts or ends with invalid characters",
        "Metadata annotation key error: '__proto__' starts or ends with invalid characters",
        "Metadata annotation value error: value must be a string",
      ],
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("an adversarial prefix does not make the DNS check slow", () => {
    const key = `${"a.".repeat(50_000)}-/x`;
    const started = Date.now();
    expect(validateMetadata({ labels: { [key]: "v" } })).toEqual([
      `Metadata label key error: prefix '${key.slice(0, -2)}' must be in valid dns format`,
    ]);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe("metadataField (zod)", () => {
  const body = z.object({ metadata: metadataField, name: z.string().optional() }).strict();

  it("absent metadata is undefined", () => {
    expect(body.parse({ name: "x" })).toEqual({ name: "x", metadata: undefined });
  });

  it("valid metadata becomes the normalized update", () => {
    expect(body.parse({ metadata: { labels: { a: "b", c: null }, annotations: { n: 1 } } }).metadata).toEqual({
      labels: { a: "b", c: null },
      annotations: { n: "1" },
    });
  });

  it("each problem is one issue with the full reference message, marked '^' so body.ts keeps it as it is", () => {
    const result = body.safeParse({
      metadata: { labels: { "cloudfoundry.org/release": "stable" }, annotations: { note: a(5001) }, foo: 1 },
      name: "x",
      animals: "Cows",
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    const custom = result.error.issues.filter((i) => i.code === "custom");
    expect(custom.map((i) => [i.path, i.message])).toEqual([
      [["metadata"], "^Metadata has unexpected field(s): 'foo'"],
      [["metadata"], "^Metadata label key error: prefix 'cloudfoundry.org' is reserved"],
      [["metadata"], "^Metadata annotation value error: 'aaaaaaaa...' is greater than 5000 characters"],
    ]);
    expect(issueMessages(result.error.issues)).toEqual([
      "Metadata has unexpected field(s): 'foo'",
      "Metadata label key error: prefix 'cloudfoundry.org' is reserved",
      "Metadata annotation value error: 'aaaaaaaa...' is greater than 5000 characters",
      "Unknown field(s): 'animals'",
    ]);
  });

  it("null metadata is refused (the key is present)", () => {
    const result = body.safeParse({ metadata: null });
    expect(result.success).toBe(false);
    if (!result.success) expect(issueMessages(result.error.issues)).toEqual(["Metadata must be an object"]);
  });
});
