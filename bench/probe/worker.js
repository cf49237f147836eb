// The memory probe's Worker: one way of taking a request body per `?mode=`, to see what each costs
// the workerd process on its first large upload (see bench/README.md, "Uploads into a fresh workerd").
//   discard        read with a default reader (a fresh ArrayBuffer per chunk) and drop it
//   discard-byob   read with a BYOB reader into one reused 1 MiB buffer and drop it
//   hash           default reader, SHA-1 and SHA-256 of every chunk (crypto.DigestStream)
//   put            bucket.put(request.body): no Worker code touches the bytes
//   put-byob       BYOB reads into two reused 1 MiB buffers, written to a FixedLengthStream into one put
//                  (the shape of the app's upload path, without multipart parsing and hashes)
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
