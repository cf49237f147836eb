// npm run token -- [--scopes a,b] [--user ID | --client ID] [--ttl SECONDS] [--uaa-url URL] [--issuer ISS]
// Prints a token the local server accepts: HS256, signed with TOKEN_SIGNING_SECRET from .dev.vars,
// with the issuer and audience the server checks. Use it as `Authorization: bearer <token>`.
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { localConfig } from "./local-config.mjs";

const { values } = parseArgs({
  options: {
    scopes: { type: "string", default: "cloud_controller.admin,cloud_controller.read,cloud_controller.write" },
    user: { type: "string" },
    client: { type: "string" },
    ttl: { type: "string", default: "3600" },
    "uaa-url": { type: "string" },
    issuer: { type: "string" },
    audience: { type: "string" },
  },
});

const config = localConfig();
const secret = process.env.TOKEN_SIGNING_SECRET ?? config.TOKEN_SIGNING_SECRET;
if (!secret) {
  console.error("No TOKEN_SIGNING_SECRET in .dev.vars: run `npm run dev` once (it writes one), or set it in the environment.");
  process.exit(1);
}
const uaaUrl = (values["uaa-url"] ?? config.UAA_URL ?? "").replace(/\/+$/, "");
const issuer = values.issuer ?? config.UAA_ISSUER ?? `${uaaUrl}/oauth/token`;
const audience = values.audience ?? config.TOKEN_AUDIENCE ?? "cloud_controller";
const scopes = values.scopes.split(/[\s,]+/).filter(Boolean);
const now = Math.floor(Date.now() / 1000);

const claims = values.client && !values.user
  ? { client_id: values.client, sub: values.client, cid: values.client, grant_type: "client_credentials" }
  : {
      user_id: values.user ?? "local-admin",
      sub: values.user ?? "local-admin",
      user_name: values.user ?? "local-admin",
      email: `${values.user ?? "local-admin"}@localhost`,
      client_id: values.client ?? "cf",
      grant_type: "password",
    };

const token = await new SignJWT({ ...claims, scope: scopes, aud: [audience, ...scopes.map((s) => s.split(".")[0]).filter((a) => a !== audience)], jti: randomUUID().replace(/-/g, "") })
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setIssuer(issuer)
  .setIssuedAt(now)
  .setExpirationTime(now + Number(values.ttl))
  .sign(new TextEncoder().encode(secret));

process.stdout.write(`${token}\n`);
