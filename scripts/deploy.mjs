// npm run deploy: production, in the order that keeps the service working: tests are yours to run
// first; then the D1 migrations, then the code that needs them.
//   npm run deploy            → production
//   npm run deploy:preview    → a preview of the current branch (see scripts/deploy-preview.mjs)
import { spawnSync } from "node:child_process";

const env = process.argv[2] ?? "production";
const run = (args) => {
  console.log(`$ wrangler ${args.join(" ")}`);
  const r = spawnSync("wrangler", args, { stdio: "inherit", env: { ...process.env, CI: process.env.CI ?? "true" } });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run(["d1", "migrations", "apply", "DB", "--remote", "--env", env]);
run(["deploy", "--env", env]);
