// npm run token -- [--scopes a,b] [--user ID | --client ID] [--ttl SECONDS] [--uaa-url URL] [--issuer ISS]
// Prints a token the local server accepts: HS256, signed with TOKEN_SIGNING_SECRET from .dev.vars,
// with the issuer and audience the server checks. Use it as `Authorization: bearer <token>`.
import { parseArgs } from "node:util";
import { devIssuer, signDevToken } from "./dev-token.mjs";
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
const issuer = values.issuer ?? config.UAA_ISSUER ?? devIssuer(uaaUrl);
const audience = values.audience ?? config.TOKEN_AUDIENCE ?? "cloud_controller";
const scopes = values.scopes.split(/[\s,]+/).filter(Boolean);
const token = await signDevToken({ secret, issuer, audience, scopes, user: values.user, client: values.client, ttlSeconds: Number(values.ttl) });

process.stdout.write(`${token}\n`);
