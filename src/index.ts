// The app: middleware order, route mounting, error handling, and the scheduled sweep.
import { Hono } from "hono";
import type { AppEnv, Bindings } from "./env";
import { database } from "./db/client";
import { discoveryRoutes } from "./discovery";
import { housekeeping } from "./housekeeping";
import { ApiError, renderError } from "./http/errors";
import { standardHeaders } from "./http/headers";
import { v2JobRoutes, v3JobRoutes } from "./jobs/routes";
import { stackRoutes } from "./resources/stacks/routes";

const app = new Hono<AppEnv>();

app.use(standardHeaders);
app.use(async (c, next) => {
  c.set("db", database(c.env.DB));
  await next();
});

app.route("/", discoveryRoutes);
app.route("/v3/jobs", v3JobRoutes);
app.route("/v2/jobs", v2JobRoutes);
app.route("/v3/stacks", stackRoutes);

// Unknown routes and methods: 404 "Unknown request", without authentication, in the API's envelope.
app.notFound((c) => renderError(c, new ApiError("NotFound")));
app.onError((err, c) => renderError(c, err));

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(housekeeping(env));
  },
} satisfies ExportedHandler<Bindings>;

export { app };
