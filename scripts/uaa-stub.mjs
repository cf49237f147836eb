// A stand-in UAA for local use and tests from outside: serves /token_keys and the OpenID
// configuration, and issues RS256 tokens at /oauth/token (password, client_credentials and
// refresh_token grants, any credentials), so `cf api` + `cf auth` work against `npm run dev`.
//
//   node scripts/uaa-stub.mjs [--port 9000] [--scopes a,b]
//   npm run dev -- --var UAA_URL:http://127.0.0.1:9000
//   cf api http://localhost:8787 && cf auth admin anything
//
// Not a UAA: no users, no passwords. Never expose it beyond loopback.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "9000" },
    host: { type: "string", default: "127.0.0.1" },
    scopes: { type: "string", default: "openid,cloud_controller.admin,cloud_controller.read,cloud_controller.write" },
    ttl: { type: "string", default: "3600" },
  },
});

const base = `http://${values.host}:${values.port}`;
const issuer = `${base}/oauth/token`;
const kid = "stub-key-1";
const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
const jwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig", value: await exportSPKI(publicKey) };
const scopes = values.scopes.split(/[\s,]+/).filter(Boolean);

async function token(claims, refresh = false) {
  const now = Math.floor(Date.now() / 1000);
  const jti = randomUUID().replace(/-/g, "") + (refresh ? "-r" : "");
  return new SignJWT({ ...claims, jti, scope: scopes, aud: ["cloud_controller", "openid", claims.client_id ?? "cf"] })
    .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
    .setIssuer(issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + Number(values.ttl) * (refresh ? 24 : 1))
    .sign(privateKey);
}

function send(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

function basicClient(header) {
  const m = /^basic\s+(.+)$/i.exec(header ?? "");
  return m ? Buffer.from(m[1], "base64").toString().split(":")[0] : undefined;
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", base);
  if (req.method === "GET" && url.pathname === "/token_keys") return send(res, 200, { keys: [jwk] });
  if (req.method === "GET" && url.pathname === "/token_key") return send(res, 200, jwk);
  if (req.method === "GET" && url.pathname === "/.well-known/openid-configuration") {
    return send(res, 200, { issuer, jwks_uri: `${base}/token_keys`, token_endpoint: issuer });
  }
  if (req.method === "GET" && url.pathname === "/login") {
    return send(res, 200, { app: { version: "stub" }, links: { uaa: base, login: base }, prompts: { username: ["text", "Email"], password: ["password", "Password"] } });
  }
  if (req.method === "POST" && url.pathname === "/oauth/token") {
    let body = "";
    for await (const chunk of req) body += chunk;
    const form = new URLSearchParams(body);
    const clientId = form.get("client_id") ?? basicClient(req.headers.authorization) ?? "cf";
    const grant = form.get("grant_type");
    let claims;
    if (grant === "client_credentials") claims = { client_id: clientId, sub: clientId, cid: clientId };
    else {
      const user = form.get("username") ?? "admin";
      claims = { user_id: user, user_name: user, email: `${user}@localhost`, sub: user, client_id: clientId, cid: clientId };
    }
    const response = { access_token: await token(claims), token_type: "bearer", expires_in: Number(values.ttl), scope: scopes.join(" "), jti: randomUUID() };
    if (grant !== "client_credentials") response.refresh_token = await token(claims, true);
    return send(res, 200, response);
  }
  send(res, 404, { error: "not_found" });
});

server.listen(Number(values.port), values.host, () => {
  console.log(`UAA stub on ${base} (issuer ${issuer})`);
});
