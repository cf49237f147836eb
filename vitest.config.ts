import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside workerd with the Worker's real D1 and R2 bindings (wrangler.toml), with the
// same migrations that `wrangler d1 migrations apply` runs. Storage is fresh for every test file.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            // Tests sign their own tokens: an HS256 secret and an RSA key served by a fake UAA.
            TOKEN_SIGNING_SECRET: "test-signing-secret-0123456789abcdef",
            UAA_URL: "https://uaa.test",
            // Docker registry passwords are encrypted under this key (a test value, not a secret).
            DB_ENCRYPTION_KEYS: JSON.stringify({ "test-key-1": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" }),
            DB_ENCRYPTION_CURRENT_KEY_LABEL: "test-key-1",
          },
          // Low limits for test/rate-limits.test.ts, which swaps them in for RATE_LIMITER and
          // RATE_LIMITER_UNAUTHENTICATED; every other test runs under wrangler.toml's high ones.
          ratelimits: {
            TEST_RATE_LIMITER_LOW: { namespace_id: "9001", simple: { limit: 3, period: 60 } },
            TEST_RATE_LIMITER_UNAUTHENTICATED_LOW: { namespace_id: "9002", simple: { limit: 3, period: 60 } },
          },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/setup/apply-migrations.ts"],
      include: ["test/**/*.test.ts"],
      testTimeout: 30_000,
    },
  };
});
