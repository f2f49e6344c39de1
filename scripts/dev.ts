// `npm run dev`: a local Worker with everything it needs: the Worker secret for webhook signing secrets (.dev.vars,
// created once), local D1 migrations, a fresh local test key, then `wrangler dev` on 127.0.0.1:$PORT (default 8787).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { replaceLocalKey } from "./keys";
import { closeLocal, recordDevServer } from "./local";
import { migrateAll } from "./shards";
import { cli } from "./wrangler";

const USAGE = `Usage: npm run dev [-- --persist-to <dir>] [--var NAME:VALUE ...] [--inspector-port <port>] [--test-scheduled]

Serves the API on http://127.0.0.1:$PORT (default 8787) with local D1, KV and Queues under .wrangler/state
(or --persist-to), and prints a working local test key. DEV_ACCOUNT names the account (default acct_local).`;

const { values } = cli(USAGE, {
  "persist-to": { type: "string" }, var: { type: "string", multiple: true }, "inspector-port": { type: "string" }, "test-scheduled": { type: "boolean" },
});
const port = process.env.PORT ?? "8787";
const accountId = process.env.DEV_ACCOUNT ?? "acct_local";
const persistTo = values["persist-to"] ?? process.env.VATLY_PERSIST_TO;
const target = { remote: false, persistTo };

// Worker secrets (the AES key of endpoint secrets at rest, the HMAC key of idempotency fingerprints); locally they
// live in the git-ignored .dev.vars, made once.
for (const name of ["WEBHOOK_SECRET_KEY", "IDEMPOTENCY_SECRET"]) {
  const devVars = existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : "";
  if (new RegExp(`^${name}=.`, "m").test(devVars)) continue;
  writeFileSync(".dev.vars", `${devVars}${devVars && !devVars.endsWith("\n") ? "\n" : ""}${name}=${randomBytes(32).toString("base64")}\n`);
  console.log(`Wrote a local ${name} to .dev.vars (git-ignored).`);
}

migrateAll(target);
console.log("Local D1 migrations applied to every shard.");

// Keys are stored hashed, so an old key cannot be shown again: each start mints a new local test key and revokes the
// one the previous start printed.
const key = await replaceLocalKey("dev", { accountId, mode: "test", ...target });
await closeLocal(); // the local bindings this process opened for the key; wrangler dev opens its own
const base = `http://127.0.0.1:${port}`;

/** The key and a ready-made curl, printed once the server answers: a pasted curl never meets a server not yet up. */
async function printKeyWhenUp() {
  for (let i = 0; i < 600; i++) {
    if (await fetch(`${base}/`).then((r) => r.ok, () => false)) {
      console.log(`
Ready. Local test key for account ${accountId} (local KV only); paste these into the shell you run examples from:

  export VATLY_API_KEY=${key}
  export VATLY_API_BASE=${base}
  curl -H "Authorization: Bearer $VATLY_API_KEY" $VATLY_API_BASE/v1/customers
`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const args = ["dev", "--ip", "127.0.0.1", "--port", port, ...(persistTo ? ["--persist-to", persistTo] : [])];
for (const v of values.var ?? []) args.push("--var", v);
if (values["inspector-port"]) args.push("--inspector-port", values["inspector-port"]);
if (values["test-scheduled"]) args.push("--test-scheduled"); // GET /__scheduled?cron=... runs a Cron Trigger
recordDevServer(port, persistTo); // helpers in another terminal (webhooks:listen, account:move) default to this port
const dev = spawn("wrangler", args, { stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
void printKeyWhenUp();
