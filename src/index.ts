// The app: middleware order, route mounting, error handling, and the scheduled sweep.
import { Hono } from "hono";
import type { AppEnv, Bindings } from "./env";
import { d1Session, readAgainOnPrimary } from "./db/session";
import { discoveryRoutes } from "./discovery";
import { housekeeping } from "./housekeeping";
import { consumePoolMessages } from "./pool/fill";
import { ApiError, renderError } from "./http/errors";
import { standardHeaders } from "./http/headers";
import { rateLimits } from "./http/rate-limits";
import { v2JobRoutes, v3JobRoutes } from "./jobs/routes";
import { stackRoutes } from "./resources/stacks/routes";
import { buildpackV3Routes } from "./resources/buildpacks/routes";
import { buildpackV2Routes } from "./resources/buildpacks/routes-v2";
import { organizationRoutes } from "./resources/organizations/routes";
import { organizationQuotaRoutes } from "./resources/organization_quotas/routes";
import { spaceRoutes } from "./resources/spaces/routes";
import { appRoutes } from "./resources/apps/routes";
import { roleRoutes } from "./resources/roles/routes";
import { userRoutes } from "./resources/users/routes";
import { auditEventRoutes } from "./resources/audit_events/routes";
import { appPackageRoutes, packageRoutes } from "./resources/packages/routes";
import { resourceMatchRoutes } from "./resources/resource_matches/routes";

const app = new Hono<AppEnv>();

app.use(standardHeaders);
// Before any D1 work: a limited request costs one token verification and one counter.
app.use(rateLimits);
app.use(d1Session);

app.route("/", discoveryRoutes);
app.route("/v3/jobs", v3JobRoutes);
app.route("/v2/jobs", v2JobRoutes);
app.route("/v3/stacks", stackRoutes);
app.route("/v2/buildpacks", buildpackV2Routes);
app.route("/v3/buildpacks", buildpackV3Routes);
app.route("/v3/organizations", organizationRoutes);
app.route("/v3/organization_quotas", organizationQuotaRoutes);
app.route("/v3/spaces", spaceRoutes);
// The nested package list is mounted before /v3/apps so that it wins.
app.route("/v3/apps/:appGuid/packages", appPackageRoutes);
app.route("/v3/apps", appRoutes);
app.route("/v3/roles", roleRoutes);
app.route("/v3/users", userRoutes);
app.route("/v3/audit_events", auditEventRoutes);
app.route("/v3/packages", packageRoutes);
app.route("/v3/resource_matches", resourceMatchRoutes);

// Unknown routes and methods: 404 "Unknown request", without authentication, in the API's envelope.
app.notFound((c) => renderError(c, new ApiError("NotFound")));
app.onError((err, c) => renderError(c, err));

export default {
  async fetch(request: Request, env: Bindings, ctx: ExecutionContext): Promise<Response> {
    const response = await app.fetch(request, env, ctx);
    return readAgainOnPrimary(request, response, async (again) => app.fetch(again, env, ctx));
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(housekeeping(env));
  },
  // The resource pool's queue (POOL_QUEUE): READY packages' files go into the pool (src/pool/fill.ts).
  async queue(batch, env, _ctx) {
    await consumePoolMessages(batch, env);
  },
} satisfies ExportedHandler<Bindings>;

export { app };
