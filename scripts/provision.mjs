// npm run provision -- --env preview|production: creates the environment's D1 database, R2 bucket and
// resource pool queue in your Cloudflare account (wrangler login or CLOUDFLARE_API_TOKEN) and writes the database id
// into wrangler.toml. Safe to run again: existing resources are looked up, not recreated.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { env: { type: "string", default: "production" } } });
const env = values.env;
const toml = readFileSync("wrangler.toml", "utf8");

const block = (name) => {
  const start = toml.indexOf(`[[env.${env}.${name}]]`);
  if (start < 0) throw new Error(`wrangler.toml has no [[env.${env}.${name}]]`);
  const end = toml.indexOf("\n[", start + 3);
  return { start, end: end < 0 ? toml.length : end, text: toml.slice(start, end < 0 ? toml.length : end) };
};
const field = (text, key) => new RegExp(`${key}\\s*=\\s*"([^"]+)"`).exec(text)?.[1];

const d1 = block("d1_databases");
const databaseName = field(d1.text, "database_name");
const bucketName = field(block("r2_buckets").text, "bucket_name");
const queueName = field(block("queues.producers").text, "queue");

function wrangler(args) {
  const r = spawnSync("wrangler", args, { encoding: "utf8", env: { ...process.env, CI: "true" } });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

let created = wrangler(["d1", "create", databaseName]);
if (!created.ok && !/already exists/i.test(created.out)) {
  console.error(created.out);
  process.exit(1);
}
const info = wrangler(["d1", "info", databaseName, "--json"]);
const databaseId = /"uuid"\s*:\s*"([0-9a-f-]{36})"/.exec(info.out)?.[1] ?? /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/.exec(created.out)?.[1];
if (!databaseId) {
  console.error(`could not read the id of D1 database ${databaseName}:\n${info.out}`);
  process.exit(1);
}
const updated = toml.slice(0, d1.start) + d1.text.replace(/database_id\s*=\s*"[^"]*"/, `database_id = "${databaseId}"`) + toml.slice(d1.end);
writeFileSync("wrangler.toml", updated);
console.log(`D1 ${databaseName}: ${databaseId} (written to wrangler.toml)`);

const bucket = wrangler(["r2", "bucket", "create", bucketName]);
if (!bucket.ok && !/already exists/i.test(bucket.out)) {
  console.error(bucket.out);
  process.exit(1);
}
console.log(`R2 ${bucketName}: ready`);

const queue = wrangler(["queues", "create", queueName]);
if (!queue.ok && !/already (exists|taken)/i.test(queue.out)) {
  console.error(queue.out);
  process.exit(1);
}
console.log(`Queue ${queueName}: ready`);
console.log(`next: npm run types, commit wrangler.toml, then npm run ${env === "production" ? "deploy" : "deploy:preview"}`);
