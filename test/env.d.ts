declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TOKEN_SIGNING_SECRET?: string;
    DB_ENCRYPTION_KEYS?: string;
    DB_ENCRYPTION_CURRENT_KEY_LABEL?: string;
    UAA_ISSUER?: string;
    EXTERNAL_URL?: string;
    TEST_RATE_LIMITER_LOW: RateLimit;
    TEST_RATE_LIMITER_UNAUTHENTICATED_LOW: RateLimit;
  }
}
