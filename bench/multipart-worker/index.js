// The multipart bench's Worker (npm run bench -- --only=multipart): one multipart/form-data upload
// taken three ways, so that our reader and a well-kept library are measured on the same bytes.
//   POST /drain   the request body read to its end with BYOB reads into one reused 256 KiB buffer:
//                 the floor, no parsing at all
//   POST /ours    src/bits/multipart.ts: each part's body read to its end with BYOB reads into one
//                 reused 256 KiB buffer, as the upload path reads the bits part
//   POST /remix   @remix-run/multipart-parser's parseMultipartRequest, each part's size read
//   GET /         200 (the readiness check)
// Each answers {"bytes": <request bytes>, "parts": [{"name", "bytes"}]}.
import { parseMultipartRequest } from "@remix-run/multipart-parser";
import { readMultipart } from "../../src/bits/multipart";

const BUFFER = 256 * 1024;
/** No limit below the largest upload the bench sends (the library's defaults are 2 MiB a part). */
const UNLIMITED = { maxFileSize: 4 * 1024 ** 3, maxTotalSize: 4 * 1024 ** 3 };

async function drain(stream) {
  const reader = stream.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(BUFFER);
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer));
    if (done) break;
    bytes += value.byteLength;
    buffer = value.buffer;
  }
  return bytes;
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/") return new Response("ok");
    if (request.method !== "POST") return new Response("method not allowed", { status: 405 });
    const parts = [];
    if (url.pathname === "/drain") {
      return Response.json({ bytes: await drain(request.body), parts });
    }
    if (url.pathname === "/ours") {
      for await (const part of readMultipart(request)) parts.push({ name: part.name, bytes: await drain(part.body) });
    } else if (url.pathname === "/remix") {
      for await (const part of parseMultipartRequest(request, UNLIMITED)) parts.push({ name: part.name, bytes: part.size });
    } else {
      return new Response("not found", { status: 404 });
    }
    return Response.json({ bytes: Number(request.headers.get("content-length")), parts });
  },
};
