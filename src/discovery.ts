// What `cf api` reads: GET / (v8 and v7), GET /v3 (v7's router), GET /v2/info (v6). No auth.
import type { Context } from "hono";
import type { AppEnv } from "./env";
import { routeTable } from "./http/routes";
import { absoluteUrl, externalOrigin } from "./http/pagination";
import { json } from "./http/respond";

const V2_API_VERSION = "2.293.0";
const V3_API_VERSION = "3.228.0";

/** The v3 resources CC's root lists; v7 clients build every request URL from this map. */
const V3_RESOURCES = [
  "app_usage_events", "apps", "audit_events", "buildpacks", "builds", "deployments", "domains", "droplets",
  "environment_variable_groups", "feature_flags", "info", "isolation_segments", "organizations",
  "organization_quotas", "packages", "processes", "resource_matches", "roles", "routes", "security_groups",
  "service_brokers", "service_instances", "service_credential_bindings", "service_offerings", "service_plans",
  "service_route_bindings", "service_usage_events", "spaces", "space_quotas", "stacks", "tasks", "users",
];

const uaaUrl = (env: AppEnv["Bindings"]) => env.UAA_URL.replace(/\/+$/, "");

function rootInfo(c: Context<AppEnv>) {
  const origin = externalOrigin(c);
  const uaa = { href: uaaUrl(c.env) };
  return json(c, {
    links: {
      self: { href: origin },
      bits_service: null,
      cloud_controller_v2: { href: `${origin}/v2`, meta: { version: V2_API_VERSION } },
      cloud_controller_v3: { href: `${origin}/v3`, meta: { version: V3_API_VERSION } },
      // Objects always, as the reference's root_controller.rb: clients read `.href` without a null check.
      network_policy_v0: { href: `${origin}/networking/v0/external` },
      network_policy_v1: { href: `${origin}/networking/v1/external` },
      login: uaa,
      uaa,
      credhub: null,
      routing: null,
      logging: null,
      log_cache: null,
      log_stream: null,
      app_ssh: null,
    },
  });
}

function v3Info(c: Context<AppEnv>) {
  const links: Record<string, { href: string }> = { self: { href: absoluteUrl(c, "/v3") } };
  for (const name of V3_RESOURCES) links[name] = { href: absoluteUrl(c, `/v3/${name}`) };
  return json(c, { links });
}

function v2Info(c: Context<AppEnv>) {
  const uaa = uaaUrl(c.env);
  return json(c, {
    name: "cf-bits-api",
    build: "",
    support: "",
    version: 0,
    description: "Cloud Controller for buildpacks and packages, on Cloudflare Workers",
    authorization_endpoint: uaa,
    token_endpoint: uaa,
    min_cli_version: null,
    min_recommended_cli_version: null,
    app_ssh_endpoint: null,
    app_ssh_host_key_fingerprint: null,
    app_ssh_oauth_client: null,
    doppler_logging_endpoint: null,
    api_version: V2_API_VERSION,
    osbapi_version: "2.15",
  });
}

export const discoveryRoutes = routeTable([
  ["GET", "/", rootInfo],
  ["GET", "/v3", v3Info],
  ["GET", "/v2/info", v2Info],
]);
