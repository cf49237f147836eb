// Parsing a client's text takes time linear in its length: the git URI test on app buildpacks and
// the label selector splitter answer 1 MB of adversarial input as the reference's regular
// expressions would, without their quadratic backtracking (seconds to minutes on such input).
import { describe, expect, it } from "vitest";
import { parseLabelSelector } from "../../src/metadata";
import { parseRequirement, splitRequirements } from "../../src/metadata/selector";
import { isBuildpackUrl } from "../../src/resources/apps/store";
import { call, get, jsonOf, v3Error } from "../helpers/api";
import { makeSpace } from "../helpers/fixtures";
import { adminAuth } from "../helpers/tokens";

const MB = 1 << 20;
/** The reference's expressions, as oracles on short texts (where backtracking is cheap). */
const REFERENCE_SPLITTER = /(?:\([^\n]*?\)|[^,])+/g;
const REFERENCE_GIT = /^git@\S+:\S+$/;

/** Random texts over the characters the expressions care about. */
function* texts(alphabet: string[], count: number, maxLength: number): Generator<string> {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < count; i++) {
    const length = next() % maxLength;
    yield Array.from({ length }, () => alphabet[next() % alphabet.length]).join("");
  }
}

/** Time of `f()`; a quadratic scan of 1 MB takes minutes, a linear one milliseconds, so 1 s is generous either way. */
function timed<T>(f: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = f();
  return { value, ms: performance.now() - start };
}

describe("label selector splitter", () => {
  it("splits as the reference's expression on 20,000 random texts", () => {
    for (const text of texts(["(", ")", ",", "\n", "a", " "], 20_000, 24)) {
      expect(splitRequirements(text), JSON.stringify(text)).toEqual(text.match(REFERENCE_SPLITTER) ?? []);
    }
  });

  it("reads each requirement as the reference's expressions on 20,000 random texts", () => {
    const key = String.raw`[\w\-._\/]+`;
    const reference: [RegExp, string][] = [
      [/^(?<key>[^\n]*?) in \((?<values>[^\n]*)\)$/, "in"],
      [/^(?<key>[^\n]*?) notin \((?<values>[^\n]*)\)$/, "notin"],
      [new RegExp(String.raw`^(?<key>${key})(?:==?)(?<values>[^\n]*)$`), "equal"],
      [new RegExp(String.raw`^(?<key>${key})!=(?<values>[^\n]*)$`), "not_equal"],
      [new RegExp(String.raw`^(?<key>${key})$`), "exists"],
      [new RegExp(String.raw`^!(?<key>${key})$`), "not_exists"],
    ];
    for (const text of texts([" in (", " notin (", ")", "(", "a", "\n", " ", "=", "!", ","], 20_000, 8)) {
      const match = reference.map(([re, operator]) => ({ groups: re.exec(text)?.groups, operator })).find((m) => m.groups);
      const parsed = parseRequirement(text);
      expect(parsed && { key: parsed.key, operator: parsed.operator, values: parsed.values.join(",") }, JSON.stringify(text))
        .toEqual(match && { key: match.groups!.key, operator: match.operator, values: (match.groups!.values ?? "").replace(/,+$/, "") });
    }
  });

  it.each([
    ["1 MB of '('", "(".repeat(MB), { ok: false, errors: ["Invalid label_selector value"] }],
    ["1 MB of '(' ending in ')'", `${"(".repeat(MB - 1)})`, { ok: false, errors: ["Invalid label_selector value"] }],
    ["1 MB of 'a in ('", "a in (".repeat(MB / 6), { ok: false, errors: ["Invalid label_selector value"] }],
    ["1 MB of 'a notin (' ending in ')'", `${"a notin (".repeat(MB / 9)})`, { ok: false, errors: [expect.stringMatching(/^'a notin \(a notin/)] }],
    ["1 MB of '(,'", "(,".repeat(MB / 2), { ok: false, errors: ["Too many label_selector requirements (maximum is 50)"] }],
    ["1 MB of '(\\n'", "(\n".repeat(MB / 2), { ok: false, errors: ["Invalid label_selector value"] }],
  ])("%s: the reference's answer, in linear time", (_name, selector, expected) => {
    const { value, ms } = timed(() => parseLabelSelector(selector));
    expect(value).toEqual(expected);
    expect(ms).toBeLessThan(1000);
  });

  it("GET /v3/apps with a 1 MB label_selector of '(' is 400 with the reference's message", async () => {
    const auth = await adminAuth();
    const start = performance.now();
    const res = await get(`/v3/apps?label_selector=${"(".repeat(MB)}`, auth);
    expect(performance.now() - start).toBeLessThan(1000);
    expect(res.status).toBe(400);
    expect((await v3Error(res)).detail).toBe("The query parameter is invalid: Invalid label_selector value");
  });
});

describe("git URI test on app buildpacks", () => {
  it("answers as /^git@\\S+:\\S+$/ on 20,000 random texts", () => {
    for (const text of texts(["git@", "g", "@", ":", "a", " ", "\n", "\t"], 20_000, 12)) {
      const url = /^(https?|git|ssh):\/\/\S+$/i.test(text) || REFERENCE_GIT.test(text);
      expect(isBuildpackUrl(text), JSON.stringify(text)).toBe(url);
    }
    expect(isBuildpackUrl("git@github.com:cloudfoundry/ruby-buildpack.git")).toBe(true);
    expect(isBuildpackUrl("git@github.com:")).toBe(false);
    expect(isBuildpackUrl("git@:repo")).toBe(false);
  });

  it("1 MB of 'git@' and ':' followed by a space is no URI, in linear time", () => {
    const adversarial = `git@${":".repeat(MB)} `;
    const { value, ms } = timed(() => isBuildpackUrl(adversarial));
    expect(value).toBe(false);
    expect(ms).toBeLessThan(1000);
    expect(isBuildpackUrl(`git@${"a:".repeat(MB / 2)}`)).toBe(true);
  });

  it("POST /v3/apps with ~1 MB of adversarial buildpack entries is 422, promptly, and creates nothing", async () => {
    const auth = await adminAuth();
    const space = await makeSpace();
    const entry = `git@${"a:".repeat(2040)} `;
    const name = `linear-${crypto.randomUUID().slice(0, 8)}`;
    const body = {
      name, relationships: { space: { data: { guid: space.guid } } },
      lifecycle: { type: "buildpack", data: { buildpacks: Array.from({ length: 240 }, (_, i) => `${entry}${i}`) } },
    };
    expect(JSON.stringify(body).length).toBeGreaterThan(0.9 * MB);
    const start = performance.now();
    const res = await call("POST", "/v3/apps", { auth, body });
    const ms = performance.now() - start;
    expect(res.status).toBe(422);
    expect((await v3Error(res)).detail).toContain("must be an existing admin buildpack or a valid git URI");
    expect(ms).toBeLessThan(1000);
    const apps = await jsonOf<{ resources: unknown[] }>(await get(`/v3/apps?names=${name}`, auth));
    expect(apps.resources).toEqual([]);
  });
});
