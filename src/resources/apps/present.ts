import type { App } from "../../db/schema";
import type { Metadata } from "../../metadata";

/** `lifecycle.data` as stored: buildpack apps `{buildpacks, stack}`, docker apps `{}`. */
export function lifecycleData(app: App): Record<string, unknown> {
  try {
    const data: unknown = JSON.parse(app.lifecycleData);
    return typeof data === "object" && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The v3 app (AppPresenter). No droplets here: `current_droplet.data.guid` is always null. */
export function presentApp(app: App, metadata: Metadata) {
  return {
    guid: app.guid,
    created_at: app.createdAt,
    updated_at: app.updatedAt,
    name: app.name,
    state: app.state,
    lifecycle: { type: app.lifecycleType, data: lifecycleData(app) },
    relationships: {
      space: { data: { guid: app.spaceGuid } },
      current_droplet: { data: { guid: null } },
    },
    metadata,
    links: {
      self: { href: `/v3/apps/${app.guid}` },
      space: { href: `/v3/spaces/${app.spaceGuid}` },
      packages: { href: `/v3/apps/${app.guid}/packages` },
    },
  };
}
