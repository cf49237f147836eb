// The cf CLI's push flow for the resource-matching bench (actor/v7action/resource_match.go,
// ccv3/package.go): an app of many files, matched against the pool, the missing files zipped (deflate,
// unix modes) and uploaded with the matched ones listed in `resources`.
//
// App files are random bytes (as jars and images are: already compressed), so the package zip is about
// the app's size. Only the small files' content is kept in memory; the full zip goes to disk as it is
// written.
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { DatabaseSync } from "node:sqlite";
import { crc32, deflateRawSync } from "node:zlib";
import { d1File } from "./plan.mjs";

const DOS_DATE = ((2026 - 1980) << 9) | (1 << 5) | 1;
const MODE = 0o644;

/**
 * `files` files making up about `totalBytes`: `small` of them of 1 KiB (never pooled), the rest equal
 * and above the pool's 64 KiB threshold. Small files keep their content; a big file's content is
 * random bytes made when the full zip is written (writeZip sets its sha1 then), and not kept.
 */
export function makeApp({ files, small, totalBytes }) {
  const bigSize = Math.floor((totalBytes - small * 1024) / (files - small));
  if (bigSize <= 65536) throw new RangeError("the big files must be above 64 KiB");
  const list = [];
  for (let i = 0; i < files; i++) {
    const isSmall = i >= files - small;
    const f = { path: `app/${isSmall ? "config" : "lib"}/file-${String(i).padStart(5, "0")}.${isSmall ? "yml" : "jar"}`, size: isSmall ? 1024 : bigSize, mode: MODE };
    if (isSmall) setData(f, randomBytes(1024));
    list.push(f);
  }
  return list;
}

function setData(f, data) {
  f.data = data;
  f.size = data.length;
  f.sha1 = createHash("sha1").update(data).digest("hex");
}

/** Changes one file's content (new random bytes, kept), as an edit before the second push. */
export function change(f) {
  setData(f, randomBytes(f.size));
}

/** The `resources` entries the CLI sends to POST /v3/resource_matches (zero-byte files skipped). */
export const matchBody = (files) =>
  JSON.stringify({ resources: files.filter((f) => f.size > 0).map((f) => ({ path: f.path, mode: f.mode.toString(8), checksum: { value: f.sha1 }, size_in_bytes: f.size })) });

/**
 * Writes a zip of `files` (deflated, unix modes, directory entries as the CLI writes them) to `path`,
 * or returns it as a Buffer when `path` is null. Resolves to its size.
 */
export async function writeZip(files, path) {
  const out = path === null ? null : createWriteStream(path);
  const parts = [];
  let offset = 0;
  const write = async (buf) => {
    offset += buf.length;
    if (out === null) parts.push(buf);
    else if (!out.write(buf)) await once(out, "drain");
  };
  const central = [];
  const dirs = [...new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf("/") + 1)))].sort();
  const entries = [...dirs.map((d) => ({ path: d, dir: true })), ...files];
  for (const f of entries) {
    const name = Buffer.from(f.path);
    let raw = f.dir ? Buffer.alloc(0) : f.data;
    if (raw === undefined) {
      raw = randomBytes(f.size);
      f.sha1 = createHash("sha1").update(raw).digest("hex");
    }
    const data = f.dir ? raw : deflateRawSync(raw);
    const crc = f.dir ? 0 : crc32(raw);
    const method = f.dir ? 0 : 8;
    const local = Buffer.alloc(30 + name.length);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    name.copy(local, 30);
    const cd = Buffer.alloc(46 + name.length);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(0x0314, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt16LE(DOS_DATE, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(raw.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(((f.dir ? 0o40755 : 0o100000 | f.mode) << 16) >>> 0, 38);
    cd.writeUInt32LE(offset, 42);
    name.copy(cd, 46);
    central.push(cd);
    await write(local);
    await write(data);
  }
  const cdOffset = offset;
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  for (const c of central) await write(c);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(cdOffset, 16);
  await write(end);
  if (out === null) return Buffer.concat(parts);
  out.end();
  await once(out, "finish");
  return offset;
}

/** The multipart body of an upload: `resources` (a JSON string), then `bits` when given. */
export function uploadForm(resources, zip) {
  const boundary = `bench-${randomBytes(12).toString("hex")}`;
  const parts = [Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="resources"\r\n\r\n${resources}\r\n`)];
  if (zip) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="bits"; filename="application.zip"\r\nContent-Type: application/zip\r\n\r\n`), zip, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** POST /v3/resource_matches of `files`, as the CLI asks before a push: the matched entries, and the bytes sent. */
export async function postMatch(worker, token, files) {
  const body = matchBody(files);
  const res = await fetch(`${worker.url}/v3/resource_matches`, { method: "POST", headers: { authorization: `bearer ${token}`, "content-type": "application/json" }, body });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`match answered ${res.status}: ${text.slice(0, 300)}`);
  return { matched: JSON.parse(text).resources, sent: Buffer.byteLength(body) };
}

/**
 * A repeat push's upload: the `matched` entries named in `resources` and `zip` (a Buffer: the CLI's
 * zip of the files that did not match, small) as `bits`. The package is assembled in the request: the
 * answer must be READY. Resolves to the package, its X-Runtime (s) and the bytes sent.
 */
export async function postAssembledUpload(worker, token, packageGuid, matched, zip) {
  const form = uploadForm(JSON.stringify(matched), zip);
  const res = await fetch(`${worker.url}/v3/packages/${packageGuid}/upload`, {
    method: "POST", body: form.body, headers: { authorization: `bearer ${token}`, "content-type": form.contentType },
  });
  const text = await res.text();
  const pkg = JSON.parse(text);
  if (res.status !== 200 || pkg.state !== "READY") throw new Error(`upload with resources answered ${res.status} ${pkg.state}: ${JSON.stringify(pkg.data ?? pkg).slice(0, 500)}`);
  return { pkg, runtime: Number(res.headers.get("x-runtime")), sent: form.body.length };
}

/**
 * Waits until the pool's queue consumer is done with each of `guids` (its `pooled_at` set, or it is no
 * longer READY), reading the Worker's local D1 from here: polling it through the API would cost the
 * workerd process CPU of its own. Resolves to the seconds waited.
 */
export async function waitPooled(persistTo, guids, { timeoutMs = 20 * 60 * 1000, everyMs = 50 } = {}) {
  const started = Date.now();
  const file = d1File(persistTo);
  const list = JSON.stringify(guids);
  for (;;) {
    let waiting;
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      waiting = db.prepare("SELECT count(*) AS n FROM packages WHERE guid IN (SELECT value FROM json_each(?)) AND state = 'READY' AND pooled_at IS NULL").get(list).n;
    } catch (err) {
      if (!/locked|busy/i.test(err.message)) throw err;
      waiting = -1; // the Worker is writing: ask again
    } finally {
      db.close();
    }
    if (waiting === 0) return (Date.now() - started) / 1000;
    if (Date.now() - started > timeoutMs) throw new Error(`${waiting} of ${guids.length} packages not pooled after ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

/** The compressed data of each entry of a (non-zip64) zip on disk: { name, offset, size }. */
export function entryData(zip) {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out = [];
  for (let i = 0; i < count; i++) {
    const size = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.toString("utf8", p + 46, p + 46 + nameLen);
    const offset = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    out.push({ name, offset, size });
    p += 46 + nameLen + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  return out;
}
