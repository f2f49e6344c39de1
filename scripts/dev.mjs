#!/usr/bin/env node
// `npm run dev`: local D1 migrations, a fresh local test key, then `wrangler dev` on 127.0.0.1:$PORT (default 8787).
import { spawn, spawnSync } from "node:child_process";
import { createKey } from "./keys.mjs";

const port = process.env.PORT ?? "8787";
const accountId = process.env.DEV_ACCOUNT ?? "acct_local";

const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local"], {
  stdio: ["ignore", "inherit", "inherit"],
  env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// Keys are stored hashed, so an old key cannot be shown again: each start mints a new local test key.
const key = createKey({ accountId, mode: "test" });
console.log(`
Local test key for account ${accountId} (local KV only):

  export VATLY_API_KEY=${key}
  curl -H "Authorization: Bearer $VATLY_API_KEY" http://127.0.0.1:${port}/v1/customers
`);

const dev = spawn("wrangler", ["dev", "--ip", "127.0.0.1", "--port", port, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
