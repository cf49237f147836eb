import { defineConfig } from "drizzle-kit";

// drizzle-kit writes flat NNNN_name.sql files here, which `wrangler d1 migrations apply` reads.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
