// Runs under node's test runner (npm test): what vitest inside workerd cannot check, because it
// needs wrangler and the file system: the deployable bundles build, and the workflow is well formed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { previewAlias } from "../../scripts/branch-alias.mjs";
import { wranglerVars } from "../../scripts/local-config.mjs";

for (const env of ["preview", "production"]) {
  it(`the ${env} bundle builds (wrangler deploy --dry-run --env ${env})`, () => {
    const outdir = mkdtempSync(join(tmpdir(), `bundle-${env}-`));
    const r = spawnSync("wrangler", ["deploy", "--dry-run", "--env", env, "--outdir", outdir], { encoding: "utf8" });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /env\.DB/);
    assert.match(r.stdout, /env\.BITS/);
    const size = statSync(join(outdir, "index.js")).size;
    assert.ok(size > 10_000, `bundle is ${size} bytes`);
    // Development tokens are refused where DEPLOYMENT_ENVIRONMENT is "production": there, and only there.
    if (env === "production") assert.match(r.stdout, /env\.DEPLOYMENT_ENVIRONMENT \("production"\)/);
    else assert.doesNotMatch(r.stdout, /DEPLOYMENT_ENVIRONMENT/);
  });
}

it("only production sets DEPLOYMENT_ENVIRONMENT: local development (wrangler.toml [vars]) does not", () => {
  assert.equal(wranglerVars().DEPLOYMENT_ENVIRONMENT, undefined);
  const toml = readFileSync("wrangler.toml", "utf8");
  assert.equal(toml.match(/^\s*DEPLOYMENT_ENVIRONMENT\s*=/gm)?.length, 1);
});

describe("the deploy workflow", () => {
  const workflow = parse(readFileSync(".github/workflows/deploy.yml", "utf8"));
  const steps = (job) => workflow.jobs[job].steps.map((s) => s.run ?? s.uses);

  it("runs on pull requests and on pushes to main", () => {
    assert.ok("pull_request" in workflow.on);
    assert.deepEqual(workflow.on.push.branches, ["main"]);
  });

  it("tests with npm ci and npm test", () => {
    assert.deepEqual(steps("test").filter((s) => s.startsWith("npm")), ["npm ci", "npm test"]);
  });

  it("previews pull requests after the tests: migrations first, then the aliased upload", () => {
    const job = workflow.jobs.preview;
    assert.equal(job.needs, "test");
    assert.match(job.if, /pull_request/);
    const s = steps("preview");
    const migrate = s.findIndex((x) => /d1 migrations apply DB --remote --env preview/.test(x));
    const upload = s.findIndex((x) => /npm run deploy:preview/.test(x));
    assert.ok(migrate >= 0 && upload > migrate, s.join("\n"));
  });

  it("deploys main to production after the tests: migrations first, then wrangler deploy", () => {
    const job = workflow.jobs.production;
    assert.equal(job.needs, "test");
    assert.match(job.if, /refs\/heads\/main/);
    const s = steps("production");
    const migrate = s.findIndex((x) => /d1 migrations apply DB --remote --env production/.test(x));
    const deploy = s.findIndex((x) => /wrangler deploy --env production/.test(x));
    assert.ok(migrate >= 0 && deploy > migrate, s.join("\n"));
  });

  it("puts no expression into a shell line: values a pull request chooses (its branch name) come in through env", () => {
    for (const [name, job] of Object.entries(workflow.jobs)) {
      for (const step of job.steps) {
        if (step.run !== undefined) assert.doesNotMatch(step.run, /\$\{\{/, `${name}: ${step.run}`);
      }
    }
    const upload = workflow.jobs.preview.steps.find((s) => /npm run deploy:preview/.test(s.run ?? ""));
    assert.equal(upload.env?.BRANCH, "${{ github.head_ref }}");
    assert.match(upload.run, /--branch "\$BRANCH"/);
  });

  it("previews only pull requests from this repository (forks get no secrets)", () => {
    const condition = workflow.jobs.preview.if.replace(/\s+/g, " ");
    assert.ok(condition.includes("github.event.pull_request.head.repo.full_name == github.repository"), condition);
    assert.match(condition, /github\.event_name == 'pull_request' &&/);
  });

  it("smoke-tests each preview right after its upload, at the URL the upload exported, with a development token", () => {
    const job = workflow.jobs.preview;
    const upload = job.steps.findIndex((x) => /npm run deploy:preview/.test(x.run ?? ""));
    const smoke = job.steps[upload + 1];
    assert.match(smoke?.run ?? "", /^npm run smoke -- "\$PREVIEW_URL"$/, JSON.stringify(smoke));
    assert.match(smoke.env.TOKEN_SIGNING_SECRET, /secrets\.TOKEN_SIGNING_SECRET/);
    assert.match(readFileSync("scripts/deploy-preview.mjs", "utf8"), /GITHUB_ENV, `PREVIEW_URL=\$\{aliasUrl\}/);
  });

  it("smoke-tests production right after each deploy, with a UAA client's token", () => {
    const job = workflow.jobs.production;
    const deploy = job.steps.findIndex((x) => /wrangler deploy --env production/.test(x.run ?? ""));
    const smoke = job.steps[deploy + 1];
    assert.match(smoke?.run ?? "", /^npm run smoke -- "\$SMOKE_URL"$/, JSON.stringify(smoke));
    assert.match(smoke.env.SMOKE_URL, /vars\.PRODUCTION_URL/);
    assert.match(smoke.env.CF_CLIENT_ID, /secrets\./);
    assert.match(smoke.env.CF_CLIENT_SECRET, /secrets\./);
    assert.equal(smoke.env.TOKEN_SIGNING_SECRET, undefined, "production accepts no development tokens");
  });

  it("every npm script it names exists", () => {
    const scripts = JSON.parse(readFileSync("package.json", "utf8")).scripts;
    for (const job of Object.keys(workflow.jobs)) {
      for (const step of steps(job)) {
        const m = /npm run ([\w:-]+)/.exec(step);
        if (m) assert.ok(scripts[m[1]], `npm run ${m[1]}`);
      }
    }
  });
});

describe("preview aliases", () => {
  it("are DNS-safe and short enough", () => {
    assert.equal(previewAlias("feature/Add_Buildpacks"), "feature-add-buildpacks");
    assert.equal(previewAlias("refs/heads/fix--x"), "fix-x");
    assert.equal(previewAlias("123-fix"), "b-123-fix");
    assert.ok(previewAlias("x".repeat(200)).length <= 63 - "cf-bits-api-preview".length - 1);
  });
});
