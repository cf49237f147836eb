// npm run deploy:preview [-- --branch NAME]: applies the preview database's migrations, then uploads
// the current code as a version of the preview Worker with an alias named after the branch, and
// prints its URL (also to $GITHUB_STEP_SUMMARY, and as PREVIEW_URL to $GITHUB_ENV, when set). The
// first run also deploys the preview Worker itself, which versions need to exist.
import { execSync, spawnSync } from "node:child_process";
import { appendFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { previewAlias } from "./branch-alias.mjs";

const { values } = parseArgs({ options: { branch: { type: "string" } } });
const branch = values.branch ?? process.env.GITHUB_HEAD_REF ?? execSync("git rev-parse --abbrev-ref HEAD").toString().trim();
const alias = previewAlias(branch);
const childEnv = { ...process.env, CI: process.env.CI ?? "true" };

function wrangler(args, capture = false) {
  console.log(`$ wrangler ${args.join(" ")}`);
  const r = spawnSync("wrangler", args, { stdio: capture ? ["inherit", "pipe", "inherit"] : "inherit", env: childEnv, encoding: "utf8" });
  if (capture && r.stdout) process.stdout.write(r.stdout);
  return r;
}

const migrated = wrangler(["d1", "migrations", "apply", "DB", "--remote", "--env", "preview"]);
if (migrated.status !== 0) process.exit(migrated.status ?? 1);

let upload = wrangler(["versions", "upload", "--env", "preview", "--preview-alias", alias, "--message", `preview of ${branch}`], true);
if (upload.status !== 0) {
  // Versions need the Worker to exist: deploy it once, then upload again.
  const deployed = wrangler(["deploy", "--env", "preview"]);
  if (deployed.status !== 0) process.exit(deployed.status ?? 1);
  upload = wrangler(["versions", "upload", "--env", "preview", "--preview-alias", alias, "--message", `preview of ${branch}`], true);
  if (upload.status !== 0) process.exit(upload.status ?? 1);
}

const url = /https:\/\/\S+\.workers\.dev/g.exec(upload.stdout ?? "")?.[0] ?? "(see the wrangler output above)";
const aliasUrl = (upload.stdout ?? "").match(new RegExp(`https://${alias}-\\S+\\.workers\\.dev`))?.[0] ?? url;
console.log(`preview of ${branch}: ${aliasUrl}`);
// The workflow's next step smoke-tests it: `npm run smoke -- "$PREVIEW_URL"`.
if (process.env.GITHUB_ENV && aliasUrl.startsWith("https://")) appendFileSync(process.env.GITHUB_ENV, `PREVIEW_URL=${aliasUrl}\n`);
if (process.env.GITHUB_STEP_SUMMARY) {
  appendFileSync(process.env.GITHUB_STEP_SUMMARY, `### Preview of \`${branch}\`\n\n${aliasUrl}\n\n\`cf api ${aliasUrl}\`\n`);
}
