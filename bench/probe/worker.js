// The memory probe's Worker: one way of taking a request body per `?mode=`, to see what each costs
// the workerd process on its first large upload (see bench/README.md, "Uploads into a fresh workerd").
//   discard        read with a default reader (a fresh ArrayBuffer per chunk) and drop it
//   discard-byob   read with a BYOB reader into one reused 1 MiB buffer and drop it
//   hash           default reader, SHA-1 and SHA-256 of every chunk (crypto.DigestStream)
//   put            bucket.put(request.body): no Worker code touches the bytes
//   put-byob       BYOB reads into two reused 1 MiB buffers, written to a FixedLengthStream into one put
//                  (the shape of the app's upload path, without multipart parsing and hashes)
//   inflate        BYOB reads as discard-byob; every 105,000 bytes go through a NEW DecompressionStream
//                  ('deflate-raw', framed as stored blocks) drained into a fresh 64 KiB buffer (the shape
//                  of the assembly's per-pool-file check); inflate-reuse: the same with one reused drain buffer
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/") return new Response("ok");
    const mode = url.searchParams.get("mode");
    const length = Number(request.headers.get("content-length"));
    const key = `probe/${crypto.randomUUID()}`;
    const body = request.body;
    let bytes = 0;
    if (mode === "discard") {
      for await (const chunk of body) bytes += chunk.length;
    } else if (mode === "discard-byob") {
      const reader = body.getReader({ mode: "byob" });
      let buffer = new ArrayBuffer(1 << 20);
      for (;;) {
        const { done, value } = await reader.read(new Uint8Array(buffer));
        if (done) break;
        bytes += value.length;
        buffer = value.buffer;
      }
    } else if (mode === "hash") {
      const digests = [new crypto.DigestStream("SHA-1"), new crypto.DigestStream("SHA-256")];
      const writers = digests.map((d) => d.getWriter());
      for await (const chunk of body) {
        bytes += chunk.length;
        await Promise.all(writers.map((w) => w.write(chunk)));
      }
      await Promise.all(writers.map((w) => w.close()));
    } else if (mode === "inflate" || mode === "inflate-reuse") {
      const reader = body.getReader({ mode: "byob" });
      let buffer = new ArrayBuffer(1 << 20);
      let drainBuffer = new ArrayBuffer(64 * 1024);
      const FILE = 105000;
      let check;
      let left = 0;
      const start = () => {
        const stream = new DecompressionStream("deflate-raw");
        const writer = stream.writable.getWriter();
        const out = stream.readable.getReader({ mode: "byob" });
        const drained = (async () => {
          let n = 0;
          let b = mode === "inflate" ? new ArrayBuffer(64 * 1024) : drainBuffer;
          for (;;) {
            const { done, value } = await out.read(new Uint8Array(b));
            if (value !== undefined) b = value.buffer;
            if (done) break;
            n += value.length;
          }
          if (mode !== "inflate") drainBuffer = b;
          return n;
        })();
        return { writer, drained };
      };
      const feed = async (bytes) => {
        for (let o = 0; o < bytes.length; o += 0xffff) {
          const n = Math.min(0xffff, bytes.length - o);
          await check.writer.write(new Uint8Array([0, n & 0xff, n >>> 8, ~n & 0xff, (~n >>> 8) & 0xff]));
          await check.writer.write(bytes.subarray(o, o + n));
        }
      };
      const end = async () => {
        await check.writer.write(new Uint8Array([1, 0, 0, 0xff, 0xff]));
        await check.writer.close();
        await check.drained;
      };
      for (;;) {
        const { done, value } = await reader.read(new Uint8Array(buffer));
        if (done) break;
        bytes += value.length;
        let rest = value;
        while (rest.length > 0) {
          if (left === 0) {
            if (check) await end();
            check = start();
            left = FILE;
          }
          const n = Math.min(left, rest.length);
          await feed(rest.subarray(0, n));
          left -= n;
          rest = rest.subarray(n);
        }
        buffer = value.buffer;
      }
      if (check) await end();
    } else if (mode === "put") {
      bytes = (await env.BITS.put(key, body)).size;
    } else if (mode === "put-byob") {
      const fixed = new FixedLengthStream(length);
      const putting = env.BITS.put(key, fixed.readable);
      const writer = fixed.writable.getWriter();
      const reader = body.getReader({ mode: "byob" });
      const buffers = [new ArrayBuffer(1 << 20), new ArrayBuffer(1 << 20)];
      let current = 0;
      let inflight = Promise.resolve();
      for (;;) {
        const { done, value } = await reader.read(new Uint8Array(buffers[current]));
        if (done) break;
        buffers[current] = value.buffer;
        await inflight;
        inflight = writer.write(value);
        current = 1 - current;
      }
      await inflight;
      await writer.close();
      bytes = (await putting).size;
    } else {
      return new Response("unknown mode", { status: 400 });
    }
    if (mode.startsWith("put")) await env.BITS.delete(key);
    return Response.json({ mode, bytes });
  },
};
