// The bench's baseline Worker: bare R2 with the same binding as the real one, and nothing else.
//   PUT /objects/:key           one put of the request body (known length, streamed)
//   PUT /objects/:key?part=N    the same bytes as an R2 multipart upload of N-byte parts (one part
//                               buffered at a time), the way the real Worker stores bodies of unknown length
//   GET /objects/:key           the object streamed back
//   GET /objects/:key?pinned=1  head, then a get pinned to the etag (onlyIf), as the real download does
//   DELETE /objects/:key
//   POST /copy?from=A&to=B      the object A copied to B, R2 to R2 (a get's body into one put): the floor
//                               of a package materialized as one object from bytes already in R2
//   POST /concat?to=B           body {"keys":[...],"length":N}: the objects' bytes, one after the other,
//                               into one put of N bytes (the floor of assembling one object from many)
//   GET /d1?n=N                 N sequential `SELECT ?` round trips to D1 (the request-path diagnosis)
//   GET /                       200 (the readiness check)
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/") return new Response("ok");
    if (url.pathname === "/concat" && request.method === "POST") {
      const { keys, length } = await request.json();
      const fixed = new FixedLengthStream(length);
      const putting = env.BITS.put(url.searchParams.get("to") ?? "", fixed.readable, { httpMetadata: { contentType: "application/zip" } });
      for (const key of keys) {
        const source = await env.BITS.get(key);
        if (source === null) return new Response(`not found: ${key}`, { status: 404 });
        await source.body.pipeTo(fixed.writable, { preventClose: true });
      }
      await fixed.writable.close();
      const object = await putting;
      return Response.json({ size: object.size }, { status: 201 });
    }
    if (url.pathname === "/copy" && request.method === "POST") {
      const source = await env.BITS.get(url.searchParams.get("from") ?? "");
      if (source === null) return new Response("not found", { status: 404 });
      const object = await env.BITS.put(url.searchParams.get("to") ?? "", source.body, { httpMetadata: { contentType: "application/zip" } });
      return Response.json({ size: object.size, etag: object.etag }, { status: 201 });
    }
    if (url.pathname === "/d1") {
      const n = Number(url.searchParams.get("n") ?? 1);
      let sum = 0;
      for (let i = 0; i < n; i++) sum += await env.DB.prepare("SELECT ? AS v").bind(i).first("v");
      return Response.json({ n, sum });
    }
    const key = url.pathname.startsWith("/objects/") ? decodeURIComponent(url.pathname.slice("/objects/".length)) : "";
    if (!key) return new Response("not found", { status: 404 });
    const httpMetadata = { contentType: "application/zip" };
    if (request.method === "PUT") {
      const part = Number(url.searchParams.get("part") ?? 0);
      const object = part > 0 ? await multipartPut(env.BITS, key, request.body, part, httpMetadata) : await env.BITS.put(key, request.body, { httpMetadata });
      return Response.json({ key, size: object.size, etag: object.etag }, { status: 201 });
    }
    if (request.method === "GET") {
      let options;
      if (url.searchParams.has("pinned")) {
        const head = await env.BITS.head(key);
        if (head === null) return new Response("not found", { status: 404 });
        options = { onlyIf: { etagMatches: head.etag } };
      }
      const object = await env.BITS.get(key, options);
      if (object === null || !("body" in object)) return new Response("not found", { status: 404 });
      return new Response(object.body, {
        headers: { "Content-Type": "application/zip", "Content-Length": String(object.size), ETag: object.httpEtag },
      });
    }
    if (request.method === "DELETE") {
      await env.BITS.delete(key);
      return new Response(null, { status: 204 });
    }
    return new Response("method not allowed", { status: 405 });
  },
};

async function multipartPut(bucket, key, body, partSize, httpMetadata) {
  const upload = await bucket.createMultipartUpload(key, { httpMetadata });
  const parts = [];
  let buffer = new Uint8Array(partSize);
  let filled = 0;
  for await (const chunk of body) {
    let rest = chunk;
    while (rest.length > 0) {
      const n = Math.min(partSize - filled, rest.length);
      buffer.set(rest.subarray(0, n), filled);
      filled += n;
      rest = rest.subarray(n);
      if (filled === partSize) {
        parts.push(await upload.uploadPart(parts.length + 1, buffer));
        buffer = new Uint8Array(partSize);
        filled = 0;
      }
    }
  }
  if (filled > 0 || parts.length === 0) parts.push(await upload.uploadPart(parts.length + 1, buffer.subarray(0, filled)));
  return upload.complete(parts);
}
