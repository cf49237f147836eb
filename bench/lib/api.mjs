// The few API calls the bench makes to set up what the bits scenarios need (records with R2 objects).
export async function call(worker, token, method, path, body) {
  const res = await fetch(`${worker.url}${path}`, {
    method,
    headers: { authorization: `bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 400)}`);
  return text ? JSON.parse(text) : null;
}

/** An organization, a space and a buildpack app created through the API; returns the app's guid. */
export async function createApp(worker, token, name) {
  const org = await call(worker, token, "POST", "/v3/organizations", { name: `${name}-org` });
  const space = await call(worker, token, "POST", "/v3/spaces", { name: `${name}-space`, relationships: { organization: { data: { guid: org.guid } } } });
  const app = await call(worker, token, "POST", "/v3/apps", { name, relationships: { space: { data: { guid: space.guid } } } });
  return app.guid;
}

export async function createBitsPackage(worker, token, appGuid) {
  const pkg = await call(worker, token, "POST", "/v3/packages", { type: "bits", relationships: { app: { data: { guid: appGuid } } } });
  if (pkg.state !== "AWAITING_UPLOAD") throw new Error(`a new bits package is ${pkg.state}`);
  return pkg.guid;
}

/** GET path once and require a 200 (before loading it: a fast 404 is not a fast endpoint). */
export async function expect200(worker, token, path, check) {
  const res = await fetch(`${worker.url}${path}`, { headers: token ? { authorization: `bearer ${token}` } : {} });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text.slice(0, 400)}`);
  const body = JSON.parse(text);
  if (check) check(body);
  return body;
}

/** PUT /v2/buildpacks/:guid/bits of a small zip (held whole: only for the few KiB the D1 size part uploads). */
export async function uploadBuildpackBits(worker, token, guid, zip, filename) {
  const bytes = [];
  for await (const chunk of zip.chunks()) bytes.push(Buffer.from(chunk));
  const form = new FormData();
  form.append("buildpack", new Blob([Buffer.concat(bytes)], { type: "application/zip" }), filename);
  const res = await fetch(`${worker.url}/v2/buildpacks/${guid}/bits`, { method: "PUT", headers: { authorization: `bearer ${token}` }, body: form });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`PUT /v2/buildpacks/${guid}/bits answered ${res.status}: ${text.slice(0, 400)}`);
  return JSON.parse(text);
}
