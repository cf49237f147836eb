// Shared setup for the package tests: package creation and uploads as a client sends them, and what
// is in R2.
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { call, get, jsonOf } from "../../helpers/api";
import { listKeys } from "../../helpers/r2";
import { adminAuth } from "../../helpers/tokens";
import { buildZip } from "../../helpers/zip";
import type { V3Page } from "../../../src/http/pagination";

export interface PackageJson {
  guid: string;
  type: string;
  state: string;
  data: Record<string, unknown> & { error?: string | null; checksum?: { type: string; value: string | null }; hash?: { type: string; value: string | null } };
  created_at: string;
  updated_at: string | null;
  relationships: { app: { data: { guid: string } } };
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  links: Record<string, { href: string; method?: string }>;
}

export type ListJson = V3Page<PackageJson>;

export const bitsBody = (appGuid: string) => ({ type: "bits", relationships: { app: { data: { guid: appGuid } } } });
export const dockerBody = (appGuid: string, data: Record<string, unknown> = { image: "registry/image:latest" }) =>
  ({ type: "docker", data, relationships: { app: { data: { guid: appGuid } } } });

export async function createPackage(body: unknown, auth?: string): Promise<PackageJson> {
  const res = await call("POST", "/v3/packages", { auth: auth ?? (await adminAuth()), body });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  return jsonOf<PackageJson>(res);
}

export const createBits = (appGuid: string, auth?: string) => createPackage(bitsBody(appGuid), auth);
export const createDocker = (appGuid: string, auth?: string) => createPackage(dockerBody(appGuid), auth);

export async function getPackage(guid: string, auth?: string): Promise<PackageJson> {
  const res = await get(`/v3/packages/${guid}`, auth ?? (await adminAuth()));
  expect(res.status).toBe(200);
  return jsonOf<PackageJson>(res);
}

const enc = new TextEncoder();

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Uint8Array | string;
}

/** A multipart/form-data body as the cf CLI writes it (60-hex boundary, CRLFs). */
export function multipart(parts: readonly FormPart[]): { body: Uint8Array; contentType: string } {
  const boundary = Array.from(crypto.getRandomValues(new Uint8Array(30)), (b) => b.toString(16).padStart(2, "0")).join("");
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += "\r\n";
    if (part.contentType !== undefined) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(enc.encode(`${head}\r\n`), typeof part.data === "string" ? enc.encode(part.data) : part.data, enc.encode("\r\n"));
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    body.set(c, o);
    o += c.length;
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The `bits` part of an upload. */
export const bitsPart = (zip: Uint8Array, filename = "package.zip"): FormPart =>
  ({ name: "bits", filename, contentType: "application/octet-stream", data: zip });

export async function uploadParts(guid: string, parts: readonly FormPart[], auth?: string): Promise<Response> {
  const { body, contentType } = multipart(parts);
  return call("POST", `/v3/packages/${guid}/upload`, {
    auth: auth ?? (await adminAuth()),
    body,
    headers: { "Content-Type": contentType, "Content-Length": String(body.length) },
  });
}

export const uploadZip = (guid: string, zip: Uint8Array, auth?: string) => uploadParts(guid, [bitsPart(zip)], auth);

/** A small valid zip with a directory entry, as the CLI zips an app directory. */
export function appZip(content = "puts 'hello'\n"): Promise<Uint8Array> {
  return buildZip([
    { name: "lib/" },
    { name: "app.rb", data: content, method: 8 },
    { name: "lib/x.rb", data: "module X; end\n" },
  ]);
}

/** A READY bits package of `appGuid` with `zip` uploaded. */
export async function readyBitsPackage(appGuid: string, zip?: Uint8Array): Promise<PackageJson> {
  const pkg = await createBits(appGuid);
  const res = await uploadZip(pkg.guid, zip ?? (await appZip()));
  expect(res.status).toBe(200);
  const uploaded = await jsonOf<PackageJson>(res);
  expect(uploaded.state).toBe("READY");
  return uploaded;
}

/** Every R2 key under packages/<guid>/. */
export const packageKeys = (guid: string): Promise<string[]> => listKeys(env.BITS, `packages/${guid}/`);

/** `H` in the reference's cases: the origin of the test requests. */
export const H = "http://api.test";

/** Removes every package (and its metadata) so a list test sees only its own. */
export async function clearPackages(): Promise<void> {
  await env.DB.batch([
    env.DB.prepare("DELETE FROM packages"),
    env.DB.prepare("DELETE FROM labels WHERE resource_type = 'package'"),
    env.DB.prepare("DELETE FROM annotations WHERE resource_type = 'package'"),
  ]);
}
