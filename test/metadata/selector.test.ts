// Label selectors (the reference's ListMessage.parse_label_selector and
// LabelSelectorRequirementValidator): parsing of every operator and every error with the reference's
// messages, and the SQL condition evaluated against real rows in D1.
import { env } from "cloudflare:workers";
import { and, asc, eq, ne } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../src/http/errors";
import { labelSelectorCondition, labelSelectorError, labelSelectorSql, metadataCreateStatements, parseLabelSelector, type LabelSelectorRequirement } from "../../src/metadata";
import { runBatch } from "../../src/db/batch";

const db = drizzle(env.DB);

type Parsed = Pick<LabelSelectorRequirement, "operator" | "prefix" | "name" | "values">;
const req = (operator: Parsed["operator"], key: string, values: string[] = []): Parsed => {
  const [prefix, name] = key.includes("/") ? key.split("/") : ["", key];
  return { operator, prefix: prefix!, name: name!, values };
};

describe("parseLabelSelector: operators", () => {
  const cases: [string, Parsed[]][] = [
    ["env in (prod,staging)", [req("in", "env", ["prod", "staging"])]],
    ["env notin (prod,staging)", [req("notin", "env", ["prod", "staging"])]],
    ["env=prod", [req("equal", "env", ["prod"])]],
    ["env==prod", [req("equal", "env", ["prod"])]],
    ["env!=prod", [req("not_equal", "env", ["prod"])]],
    ["env", [req("exists", "env")]],
    ["!env", [req("not_exists", "env")]],
    ["example.com/env=prod", [req("equal", "example.com/env", ["prod"])]],
    ["example.com/env in (a)", [req("in", "example.com/env", ["a"])]],
    ["!example.com/env", [req("not_exists", "example.com/env")]],
    ["a in (x,y),b=z", [req("in", "a", ["x", "y"]), req("equal", "b", ["z"])]],
    ["a notin (x,y),b notin (z),!c,d", [req("notin", "a", ["x", "y"]), req("notin", "b", ["z"]), req("not_exists", "c"), req("exists", "d")]],
    ["a,,b,", [req("exists", "a"), req("exists", "b")]],
    ["env in (a,b,)", [req("in", "env", ["a", "b"])]],
    ["env in (,a)", [req("in", "env", ["", "a"])]],
    ["env in ()", [req("in", "env", [])]],
    ["env=", [req("equal", "env", [])]],
    ["env!=", [req("not_equal", "env", [])]],
    ["a_b-c.d=v", [req("equal", "a_b-c.d", ["v"])]],
  ];
  it.each(cases)("%s", (selector, expected) => {
    const result = parseLabelSelector(selector);
    if (!result.ok) throw new Error(result.errors.join(", "));
    expect(result.requirements.map(({ operator, prefix, name, values }) => ({ operator, prefix, name, values }))).toEqual(expected);
  });

  it("keeps the key as written", () => {
    const result = parseLabelSelector("example.com/env=prod");
    expect(result.ok && result.requirements[0]?.key).toBe("example.com/env");
  });

  it("50 requirements are allowed", () => {
    const selector = Array.from({ length: 50 }, (_, i) => `k${i}`).join(",");
    const result = parseLabelSelector(selector);
    expect(result.ok && result.requirements.length).toBe(50);
  });
});

describe("parseLabelSelector: errors", () => {
  const cases: [string, string[]][] = [
    ["", ["Missing label_selector value"]],
    [",", ["Missing label_selector value"]],
    [",,,", ["Missing label_selector value"]],
    [Array.from({ length: 51 }, (_, i) => `k${i}`).join(","), ["Too many label_selector requirements (maximum is 50)"]],
    ["env = prod", ["Invalid label_selector value"]],
    ["=prod", ["Invalid label_selector value"]],
    ["!=prod", ["Invalid label_selector value"]],
    ["env in(a)", ["Invalid label_selector value"]],
    ["env IN (a)", ["Invalid label_selector value"]],
    ["!", ["Invalid label_selector value"]],
    ["a b", ["Invalid label_selector value"]],
    ["env=prod,b c", ["Invalid label_selector value"]],
    ["cloudfoundry.org/env=prod", ["prefix 'cloudfoundry.org' is reserved"]],
    ["a.com/b/c=x", ["key has more than one '/'"]],
    ["foo/bar=x", ["prefix 'foo' must be in valid dns format"]],
    ["/bar", ["prefix '' must be in valid dns format"]],
    ["example.com/", ["key cannot be empty string"]],
    [" in (a)", ["key cannot be empty string"]],
    ["a b in (a)", ["'a b' contains invalid characters"]],
    ["-env=x", ["'-env' starts or ends with invalid characters"]],
    [`${"k".repeat(64)}=x`, ["'kkkkkkkk...' is greater than 63 characters"]],
    ["env=-prod", ["'-prod' starts or ends with invalid characters"]],
    ["env=a b", ["'a b' contains invalid characters"]],
    ["env=a'b", ["'a'b' contains invalid characters"]],
    [`env=${"v".repeat(64)}`, ["'vvvvvvvv...' is greater than 63 characters"]],
    ["env in (a,b c)", ["'b c' contains invalid characters"]],
    // Reference behaviour: a space after the comma is part of the value.
    ["env in (a, b)", ["' b' contains invalid characters"]],
    ["env=(a,b)", ["'(a' contains invalid characters"]],
    // Only the first problem of each requirement; every bad requirement, in order.
    ["cloudfoundry.org/a in (c d)", ["prefix 'cloudfoundry.org' is reserved"]],
    ["env in (a b,c d)", ["'a b' contains invalid characters"]],
    ["x y,ok=1,cloudfoundry.org/k,env=_", ["Invalid label_selector value", "prefix 'cloudfoundry.org' is reserved", "'_' starts or ends with invalid characters"]],
  ];
  it.each(cases)("%j", (selector, errors) => {
    expect(parseLabelSelector(selector)).toEqual({ ok: false, errors });
    expect(labelSelectorError(selector)).toBe(errors.join(", "));
  });

  it("a valid selector has no error message", () => {
    expect(labelSelectorError("env=prod,!tier")).toBeUndefined();
  });

  it("labelSelectorCondition throws 400 CF-BadQueryParameter with the messages joined", () => {
    let caught: unknown;
    try {
      labelSelectorCondition("app", sqliteTable("t", { guid: text("guid") }).guid, "a b,cloudfoundry.org/x=y");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ApiError);
    const err = caught as ApiError;
    expect([err.status, err.code, err.title, err.detail]).toEqual([
      400, 10005, "CF-BadQueryParameter",
      "The query parameter is invalid: Invalid label_selector value, prefix 'cloudfoundry.org' is reserved",
    ]);
  });
});

// A small resource table of our own, with labels of resource type "app".
const widgets = sqliteTable("widgets", { guid: text("guid").primaryKey(), color: text("color") });

const LABELS: Record<string, Record<string, string>> = {
  w1: { env: "prod", tier: "web", "example.com/team": "blue" },
  w2: { env: "staging", tier: "db" },
  w3: { env: "dev", "other.org/team": "blue" },
  w4: {},
  w5: { env: "", team: "blue" },
  w6: {}, // has labels, but of another resource type (below)
};

beforeAll(async () => {
  await env.DB.exec("CREATE TABLE widgets (guid TEXT PRIMARY KEY, color TEXT)");
  await runBatch(db, [
    ...Object.keys(LABELS).map((guid, i) => db.insert(widgets).values({ guid, color: i % 2 ? "red" : "green" })),
    ...Object.entries(LABELS).flatMap(([guid, labels]) => metadataCreateStatements(db, "app", guid, { labels })),
    ...metadataCreateStatements(db, "space", "w6", { labels: { env: "prod", tier: "web" } }),
  ]);
});

async function matching(selector: string, extra?: ReturnType<typeof eq>): Promise<string[]> {
  const condition = labelSelectorCondition("app", widgets.guid, selector);
  const rows = await db.select({ guid: widgets.guid }).from(widgets).where(extra ? and(extra, condition) : condition).orderBy(asc(widgets.guid));
  return rows.map((r) => r.guid);
}

describe("labelSelectorCondition against real rows", () => {
  const cases: [string, string[]][] = [
    ["env=prod", ["w1"]],
    ["env==prod", ["w1"]],
    ["env in (prod,staging)", ["w1", "w2"]],
    ["env in (prod,nothing)", ["w1"]],
    ["env notin (prod,staging)", ["w3", "w4", "w5", "w6"]],
    ["env!=prod", ["w2", "w3", "w4", "w5", "w6"]],
    ["env", ["w1", "w2", "w3", "w5"]],
    ["!env", ["w4", "w6"]],
    ["tier", ["w1", "w2"]],
    ["example.com/team=blue", ["w1"]],
    ["example.com/team", ["w1"]],
    ["!example.com/team", ["w2", "w3", "w4", "w5", "w6"]],
    ["other.org/team in (blue)", ["w3"]],
    ["team=blue", ["w5"]],
    ["team notin (blue)", ["w1", "w2", "w3", "w4", "w6"]],
    ["env=prod,tier=web", ["w1"]],
    ["env=prod,tier=db", []],
    ["env in (prod,staging),tier!=db", ["w1"]],
    ["env in (prod,staging),!example.com/team", ["w2"]],
    ["env,!tier", ["w3", "w5"]],
    ["nothing", []],
    ["!nothing", ["w1", "w2", "w3", "w4", "w5", "w6"]],
    // The reference turns "env=" into an empty value list: nothing equals it, everything differs from it.
    ["env=", []],
    ["env!=", ["w1", "w2", "w3", "w4", "w5", "w6"]],
    ["env in (,prod)", ["w1", "w5"]],
  ];
  it.each(cases)("%s", async (selector, guids) => {
    expect(await matching(selector)).toEqual(guids);
  });

  it("combines with the caller's own conditions", async () => {
    expect(await matching("env", eq(widgets.color, "green"))).toEqual(["w1", "w3", "w5"]);
    expect(await matching("!env", ne(widgets.color, "green"))).toEqual(["w4", "w6"]);
  });

  it("50 requirements bind 50 parameters and run in D1", async () => {
    const selector = ["env=prod", ...Array.from({ length: 49 }, (_, i) => `env!=v${i}`)].join(",");
    const query = db.select({ guid: widgets.guid }).from(widgets).where(labelSelectorCondition("app", widgets.guid, selector));
    expect(query.toSQL().params).toHaveLength(50);
    expect((await query).map((r) => r.guid)).toEqual(["w1"]);
  });

  it("uses labels_lookup_idx", async () => {
    const { sql, params } = db.select().from(widgets).where(labelSelectorCondition("app", widgets.guid, "env in (prod,staging)")).toSQL();
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(...params).all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join("\n")).toMatch(/labels USING (COVERING )?INDEX labels_lookup_idx/);
  });
});

describe("hostile values are data, never SQL", () => {
  const hostile = ["x') OR 1=1 --", "prod\"],[\"staging", "' OR '1'='1", "\\\"]"];

  beforeAll(async () => {
    // Stored directly (validation refuses such values) on a widget of its own.
    await runBatch(db, [
      db.insert(widgets).values({ guid: "h1" }),
      ...metadataCreateStatements(db, "app", "h1", { labels: { evil: hostile[1]!, [`k'"`]: "v" } }),
    ]);
  });

  it("the parser refuses quotes and brackets", () => {
    for (const h of hostile) expect(parseLabelSelector(`env=${h}`).ok).toBe(false);
  });

  it.each(hostile)("a requirement with %j matches only that exact value", async (value) => {
    const condition = labelSelectorSql("app", widgets.guid, [{ key: "evil", prefix: "", name: "evil", operator: "in", values: [value] }]);
    const rows = await db.select({ guid: widgets.guid }).from(widgets).where(condition);
    expect(rows.map((r) => r.guid)).toEqual(value === hostile[1] ? ["h1"] : []);
  });

  it("hostile keys too; the tables are intact afterwards", async () => {
    const condition = labelSelectorSql("app", widgets.guid, [
      { key: `k'"`, prefix: "", name: `k'"`, operator: "exists", values: [] },
      { key: "x", prefix: "'; DROP TABLE labels; --", name: "x", operator: "not_exists", values: [] },
    ]);
    expect((await db.select({ guid: widgets.guid }).from(widgets).where(condition)).map((r) => r.guid)).toEqual(["h1"]);
    expect(await matching("env=prod")).toEqual(["w1"]);
  });
});
