import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface GlobalProps {
      mainModule: typeof import("../src/index");
    }
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      DB_1: D1Database;
      // The third shard exists only in the tests (vitest.config.ts).
      DB_2: D1Database;
      FUZZ_RUNS: string;
      SCHEMA_RUNS: string;
      TEST_RATE_LIMITER: RateLimit;
      TEST_AUTH_RATE_LIMITER: RateLimit;
    }
  }
}
