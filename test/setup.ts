import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// The real migrations from migrations/, applied to every shard once per test file's storage.
await Promise.all([env.DB, env.DB_1, env.DB_2].map((db) => applyD1Migrations(db, env.TEST_MIGRATIONS)));
