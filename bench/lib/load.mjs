// HTTP load with autocannon: one measured run of a fixed duration, after a short warm-up.
import autocannon from "autocannon";

function run(options) {
  return new Promise((resolve, reject) => {
    autocannon(options, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/**
 * Loads `url` for `seconds` with `connections` connections (after `warmupSeconds` unmeasured) and
 * returns { rps, p50, p99, requests, non2xx, errors }. Any answer outside the expected class (2xx, or
 * 3xx with `redirects`: never followed) or error fails the run: a fast 404 must never pass for a fast
 * endpoint.
 */
export async function measure({ url, headers = {}, connections, seconds, warmupSeconds = 1, redirects = false }) {
  const common = { url, headers, connections, pipelining: 1, timeout: 10 };
  if (warmupSeconds > 0) await run({ ...common, duration: warmupSeconds });
  const r = await run({ ...common, duration: seconds });
  const unexpected = redirects ? r["1xx"] + r["2xx"] + r["4xx"] + r["5xx"] : r.non2xx;
  if (unexpected > 0 || r.errors > 0 || r.timeouts > 0) {
    throw new Error(`load on ${url}: ${unexpected} answers not ${redirects ? "3xx" : "2xx"}, ${r.errors} errors, ${r.timeouts} timeouts of ${r.requests.total}`);
  }
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}
