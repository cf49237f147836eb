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
