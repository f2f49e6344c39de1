import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations("./migrations"),
          FUZZ_RUNS: process.env.FUZZ_RUNS ?? "",
          SCHEMA_RUNS: process.env.SCHEMA_RUNS ?? "",
          // A fixed test key for the AES-GCM encryption of endpoint secrets (a Worker secret in a deployment).
          WEBHOOK_SECRET_KEY: btoa("vitest-only-webhook-secret-key!!"),
          // A fixed test key for the HMAC of idempotency fingerprints (a Worker secret in a deployment).
          IDEMPOTENCY_SECRET: "vitest-only-idempotency-fingerprint-secret",
        },
        // A third shard, for moves to a shard other than the one a dead move was headed to.
        d1Databases: { DB_2: "vatly-customers-2-test" },
        // A small limit for the rate-limit tests, so they spend a few requests, not hundreds.
        ratelimits: {
          TEST_RATE_LIMITER: { namespace_id: "1002", simple: { limit: 10, period: 10 } },
          TEST_AUTH_RATE_LIMITER: { namespace_id: "1004", simple: { limit: 10, period: 10 } },
          // Test files share one address; the per-address limit has its own tests with TEST_AUTH_RATE_LIMITER.
          AUTH_RATE_LIMITER: { namespace_id: "1003", simple: { limit: 1_000_000, period: 10 } },
          // Long generated runs (SCHEMA_RUNS, FUZZ_RUNS) send thousands of requests a minute with one key; the
          // per-account limit has its own tests with TEST_RATE_LIMITER.
          RATE_LIMITER: { namespace_id: "1001", simple: { limit: 1_000_000, period: 10 } },
        },
      },
    })),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/node/**"],
    setupFiles: ["./test/setup.ts"],
    // Logs of passing tests are noise; a failing test shows its own.
    silent: "passed-only",
    // No test depends on finishing within a few seconds: on a busy 2-core machine a test that takes 4 s alone takes
    // 7 or more. A test that hangs still fails, after a minute.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
