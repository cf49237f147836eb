// One bits transfer at a time through fetch, body streamed both ways, timed from the request to the
// last byte of the answer, with the workerd processes' memory sampled meanwhile.
import { createHash } from "node:crypto";
import { sampleMemory, memory } from "./proc.mjs";
import { multipartUpload, streamedZip } from "./zip.mjs";
import { setTimeout as sleep } from "node:timers/promises";

/** Reads a response body to the end; returns its length (and SHA-256 when asked). */
async function drain(res, { hash = false } = {}) {
  const sha256 = hash ? createHash("sha256") : null;
  let bytes = 0;
  for await (const chunk of res.body) {
    bytes += chunk.length;
    sha256?.update(chunk);
  }
  return { bytes, sha256: sha256?.digest("hex") };
}

/**
 * Runs `transfer()` while sampling the memory of `worker`'s workerd processes. Returns the transfer's
 * result with `seconds`, and `memory` = { idle, peak, overIdle } of the runtime workerd (bytes) and
 * the same for the proxy.
 */
export async function withMemory(worker, transfer) {
  // Let the last transfer's buffers go before reading "idle".
  await sleep(300);
  const pids = [worker.runtimePid, worker.proxyPid].filter(Boolean);
  const idle = Object.fromEntries(pids.map((pid) => [pid, memory(pid).rss]));
  const sampler = sampleMemory(pids);
  const started = process.hrtime.bigint();
  let result;
  let peaks;
  try {
    result = await transfer();
  } finally {
    peaks = sampler.stop();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const of = (pid) => (pid ? { idle: idle[pid], peak: peaks[pid], overIdle: peaks[pid] - idle[pid] } : null);
  return { ...result, seconds, memory: { runtime: of(worker.runtimePid), proxy: of(worker.proxyPid) } };
}

const streamBody = (chunks) => ReadableStream.from(chunks());

/** POST /v3/packages/:guid/upload of a generated zip (or the given zip source); the answer must be READY. */
export async function uploadPackage(worker, token, packageGuid, zip) {
  return withMemory(worker, () => postUpload(worker, token, packageGuid, zip));
}

/** The upload request alone (no memory sampling): the zip streamed in the cf CLI's form. */
export async function postUpload(worker, token, packageGuid, zip) {
  const form = multipartUpload(zip.size, zip.chunks);
  const res = await fetch(`${worker.url}/v3/packages/${packageGuid}/upload`, {
    method: "POST",
    body: streamBody(form.chunks),
    duplex: "half",
    headers: { authorization: `bearer ${token}`, "content-type": form.contentType, "content-length": String(form.size) },
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`upload answered ${res.status}: ${body.slice(0, 500)}`);
  const pkg = JSON.parse(body);
  if (pkg.state !== "READY") throw new Error(`upload left the package ${pkg.state}: ${JSON.stringify(pkg.data)}`);
  return { bytes: zip.size, pkg };
}

/** GET /v3/packages/:guid/download, read to the end. */
export async function downloadPackage(worker, token, packageGuid, { hash = false } = {}) {
  return withMemory(worker, () => getDownload(worker, token, packageGuid, { hash }));
}

/** The download request alone (no memory sampling), read to the end. */
export async function getDownload(worker, token, packageGuid, { hash = false } = {}) {
  const res = await fetch(`${worker.url}/v3/packages/${packageGuid}/download`, { headers: { authorization: `bearer ${token}` } });
  if (res.status !== 200) throw new Error(`download answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  return { ...(await drain(res, { hash })), contentLength: Number(res.headers.get("content-length")) };
}

/**
 * The bare worker's R2 put of the same zip bytes (no form around them): one put, or with `partSize`
 * an R2 multipart upload of such parts (the real Worker's layout for bodies of unknown length).
 */
export async function barePut(bare, key, zip, { partSize } = {}) {
  return withMemory(bare, async () => {
    const query = partSize ? `?part=${partSize}` : "";
    const res = await fetch(`${bare.url}/objects/${encodeURIComponent(key)}${query}`, {
      method: "PUT",
      body: streamBody(zip.chunks),
      duplex: "half",
      headers: { "content-type": "application/zip", "content-length": String(zip.size) },
    });
    const body = await res.text();
    if (res.status !== 201) throw new Error(`bare put answered ${res.status}: ${body.slice(0, 300)}`);
    return { bytes: zip.size };
  });
}

/** The bare worker's R2 get; `pinned`: head first, then a get pinned to the etag, as the real download. */
export async function bareGet(bare, key, { pinned = false } = {}) {
  return withMemory(bare, async () => {
    const res = await fetch(`${bare.url}/objects/${encodeURIComponent(key)}${pinned ? "?pinned=1" : ""}`);
    if (res.status !== 200) throw new Error(`bare get answered ${res.status}`);
    return drain(res);
  });
}

export async function bareDelete(bare, key) {
  const res = await fetch(`${bare.url}/objects/${encodeURIComponent(key)}`, { method: "DELETE" });
  await res.arrayBuffer();
}

export { streamedZip };
