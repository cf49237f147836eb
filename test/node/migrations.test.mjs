// Runs under node's test runner (npm test). The migrations apply locally in every vitest run; this
// checks what only remote D1 would reject. `wrangler d1 migrations apply --remote` sends each file
// to D1's /query endpoint, whose statement splitter finds a trigger's body by an upper-case BEGIN
// and END and is thrown by CRLF line endings and by CASE ... END inside a body
// (cloudflare/workers-sdk#14991, #15178, #15314).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";

const dir = "migrations";
const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();

it("the migrations are numbered 0000, 0001, ... without gaps", () => {
  files.forEach((f, i) => assert.match(f, new RegExp(`^${String(i).padStart(4, "0")}_[a-z0-9_]+\\.sql$`), f));
});

for (const file of files) {
  it(`${file} is what remote D1 splits correctly: LF endings; triggers with upper-case BEGIN/END and no CASE`, () => {
    const text = readFileSync(join(dir, file), "utf8");
    assert.ok(!text.includes("\r"), "CRLF line endings");
    const triggers = text.match(/CREATE\s+TRIGGER[\s\S]*?\bEND\s*;/gi) ?? [];
    assert.equal(triggers.length, (text.match(/CREATE\s+TRIGGER/gi) ?? []).length, "a trigger without END;");
    for (const trigger of triggers) {
      assert.match(trigger, /\sBEGIN\s/, `lower-case begin: ${trigger.slice(0, 60)}`);
      assert.match(trigger, /\sEND\s*;$/, `lower-case end: ${trigger.slice(0, 60)}`);
      assert.ok(!/\bCASE\b/i.test(trigger), `CASE inside a trigger: ${trigger.slice(0, 60)}`);
    }
  });
}
