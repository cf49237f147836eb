import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";
it("answers", async () => {
  const res = await exports.default.fetch("http://x/");
  expect(res.status).toBe(200);
  const r = await env.DB.prepare("select name from stacks").all();
  expect(r.results).toEqual([{ name: "cflinuxfs4" }]);
  expect(typeof crypto.DigestStream).toBe("function");
});
