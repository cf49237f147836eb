// What the node tests that start a local server share: a free loopback port, and waiting for a URL
// to answer while `wrangler dev` starts.
import { createServer } from "node:net";

/** A port nothing listens on at the moment, on 127.0.0.1. */
export const freePort = () => new Promise((resolve) => {
  const server = createServer().listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});

/** The first 2xx answer of `url`, polled every 250 ms; throws after `ms`. */
export async function waitFor(url, ms = 90_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return res;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
