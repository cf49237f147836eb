declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TOKEN_SIGNING_SECRET?: string;
    UAA_ISSUER?: string;
    EXTERNAL_URL?: string;
  }
}
