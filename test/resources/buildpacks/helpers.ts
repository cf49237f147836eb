// Shared setup for the buildpack tests: a clean buildpack table per test (positions are one list per
// lifecycle, so tests that count positions need it empty), the reference's stacks, zips, and forms.
import { env } from "cloudflare:workers";
import { database, timestamp } from "../../../src/db/client";
import { annotations, buildpacks, labels, stacks } from "../../../src/db/schema";
import { eq } from "drizzle-orm";
import { call, jsonOf } from "../../helpers/api";
import { listKeys } from "../../helpers/r2";
import { buildZip } from "../../helpers/zip";

export const S1 = "cflinuxfs4";
export const S2 = "cflinuxfs3";
export const S3 = "windows2019";

const db = () => database(env.DB);

/** Removes every buildpack (and buildpack metadata) straight from D1, and every buildpack object in R2. */
export async function resetBuildpacks(): Promise<void> {
  await db().batch([
    db().delete(buildpacks),
    db().delete(labels).where(eq(labels.resourceType, "buildpack")),
    db().delete(annotations).where(eq(annotations.resourceType, "buildpack")),
  ]);
  for (;;) {
    const listing = await env.BITS.list({ prefix: "buildpacks/" });
    if (listing.objects.length === 0) break;
    await env.BITS.delete(listing.objects.map((o) => o.key));
  }
}

/** Makes sure the named stacks exist. */
export async function ensureStacks(...names: string[]): Promise<void> {
  for (const name of names) {
    await db().insert(stacks).values({ guid: crypto.randomUUID(), name, createdAt: timestamp() }).onConflictDoNothing({ target: stacks.name });
  }
}

/** Every key under buildpacks/ in R2. */
export const storedKeys = (): Promise<string[]> => listKeys(env.BITS, "buildpacks/");

/** The bits_key column of a buildpack, straight from D1. */
export async function bitsKeyOf(guid: string): Promise<string | null | undefined> {
  const row = await db().query.buildpacks.findFirst({ where: eq(buildpacks.guid, guid) });
  return row?.bitsKey;
}

/** A valid zip without manifest.yml. */
export const plainZip = (content = "echo detect") => buildZip([{ name: "bin/detect", data: content }, { name: "bin/compile", data: "echo compile" }]);
/** A zip whose manifest.yml names `stack`. */
export const manifestZip = (stack: string) => buildZip([{ name: "manifest.yml", data: `---\nstack: ${stack}\n` }, { name: "bin/detect", data: "x" }]);

/** A multipart form with one file part (and optional text fields before it). */
export function fileForm(field: string, filename: string, bytes: Uint8Array, fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append(field, new File([bytes], filename, { type: "application/octet-stream" }));
  return form;
}

export function textForm(fields: Record<string, string>): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return form;
}

type V2Resource = { metadata: { guid: string; url: string; created_at: string; updated_at: string | null }; entity: Record<string, unknown> };

/** POST /v2/buildpacks that must succeed; the v2 resource. */
export async function v2Create(auth: string, body: Record<string, unknown>): Promise<V2Resource> {
  const res = await call("POST", "/v2/buildpacks", { auth, body });
  if (res.status !== 201) throw new Error(`create ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
  return jsonOf<V2Resource>(res);
}

export type V3Buildpack = {
  guid: string; name: string; stack: string | null; state: string; lifecycle: string; filename: string | null;
  position: number; enabled: boolean; locked: boolean; created_at: string; updated_at: string | null;
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  links: Record<string, { href: string; method?: string }>;
};

/** POST /v3/buildpacks that must succeed. */
export async function v3Create(auth: string, body: Record<string, unknown>): Promise<V3Buildpack> {
  const res = await call("POST", "/v3/buildpacks", { auth, body });
  if (res.status !== 201) throw new Error(`create ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
  return jsonOf<V3Buildpack>(res);
}

/** `name@position` of every buildpack of a lifecycle, in position order, straight from D1. */
export async function positionsOf(lifecycle = "buildpack"): Promise<string[]> {
  const rows = await db().select().from(buildpacks).where(eq(buildpacks.lifecycle, lifecycle)).orderBy(buildpacks.position, buildpacks.id);
  return rows.map((r) => `${r.name}@${r.position}`);
}
