// `npm run dev`: a local Worker with everything it needs: the Worker secret for webhook signing secrets (.dev.vars,
// created once), local D1 migrations, a fresh local test key, then `wrangler dev` on 127.0.0.1:$PORT (default 8787).
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createDashboardLink } from "./dashboard-link";
import { replaceLocalKey } from "./keys";
import { closeLocal, LOCAL_KEY_CACHE_SECONDS, recordDevServer } from "./local";
import { migrateAll } from "./shards";
import { cli } from "./wrangler";

const USAGE = `Usage: npm run dev [-- --persist-to <dir>] [--var NAME:VALUE ...] [--inspector-port <port>] [--test-scheduled] [--verbose]

Serves the API on http://127.0.0.1:$PORT (default 8787) with local D1, KV and Queues under .wrangler/state
(or --persist-to), and prints, once the server answers, a working local test key and a one-time sign-in link to the
dashboard (/dashboard), both for the account DEV_ACCOUNT names (default acct_local). A port in use is refused first,
with nothing changed. The Worker's own log shows each request once; --verbose shows wrangler's output as it is (a
second line per request, its bindings table on every reload, its own cron hint).`;

const { values } = cli(USAGE, {
  "persist-to": { type: "string" }, var: { type: "string", multiple: true }, "inspector-port": { type: "string" }, "test-scheduled": { type: "boolean" }, verbose: { type: "boolean" },
});
const port = process.env.PORT ?? "8787";
const accountId = process.env.DEV_ACCOUNT ?? "acct_local";
const persistTo = values["persist-to"] ?? process.env.VATLY_PERSIST_TO;
const target = { remote: false, persistTo };

// The port first: a server already on it (another npm run dev) keeps its key, its link and the record helpers read.
const free = await new Promise<boolean>((resolve) => {
  const probe = createServer().once("error", () => resolve(false)).listen(Number(port), "127.0.0.1", () => probe.close(() => resolve(true)));
});
if (!free) {
  console.error(`Port ${port} is in use (another npm run dev?): stop it, or serve another port with PORT=9000 npm run dev. Nothing was changed.`);
  process.exit(1);
}

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
const base = `http://127.0.0.1:${port}`;
const dashboardLink = await createDashboardLink({ accountId, mode: "test", base, ...target });
await closeLocal(); // the local bindings this process opened for the key and the link; wrangler dev opens its own

/**
 * wrangler's output without what says nothing new (unless --verbose): its own line per request (the Worker logs each
 * one already), its bindings table after the first, and its cron hint, replaced by the one the README gives.
 */
function quiet(from: NodeJS.ReadableStream, to: NodeJS.WritableStream) {
  if (values.verbose) return void from.pipe(to);
  let tables = 0;
  /** While set, lines are dropped until one matches it (that one too). */
  let until: RegExp | null = null;
  createInterface({ input: from }).on("line", (line) => {
    const plain = line.replace(/\x1b\[[0-9;]*m/g, "");
    if (until) return void (until.test(plain) && (until = null));
    if (/^\[wrangler:info\] (GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|QUEUE) /.test(plain)) return;
    if (/Your Worker has access to the following bindings/.test(plain) && tables++ > 0) return void (until = /^\s*$/);
    if (/Scheduled Workers are not automatically triggered/.test(plain)) {
      until = /For more details/;
      return void to.write(`Cron locally: curl "${base}/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*" runs the delivery sweep (README, "Cron locally").\n`);
    }
    to.write(`${line}\n`);
  });
}

/** The key and a ready-made curl, printed once the server answers: a pasted curl never meets a server not yet up. */
async function printKeyWhenUp() {
  for (let i = 0; i < 600; i++) {
    if (await fetch(`${base}/`).then((r) => r.ok, () => false)) {
      console.log(`
Ready. Local test key for account ${accountId} (local KV only); paste these into the shell you run examples from:

  export VATLY_API_KEY=${key}
  export VATLY_API_BASE=${base}
  curl -H "Authorization: Bearer $VATLY_API_KEY" $VATLY_API_BASE/v1/customers

Dashboard: open this one-time sign-in link within 10 minutes (another: npm run dashboard:link -- --account ${accountId} --mode test):

  ${dashboardLink}
`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const args = ["dev", "--ip", "127.0.0.1", "--port", port, ...(persistTo ? ["--persist-to", persistTo] : [])];
// Locally KV has no edge cache: the isolate's key cache shortened to 3 s, a move's settle needs 5 s, not 70 (a --var
// of the same name wins).
const vars = [`API_KEY_CACHE_SECONDS:${LOCAL_KEY_CACHE_SECONDS}`, "KEY_SETTLE_SECONDS:5"].filter((d) => !(values.var ?? []).some((v) => v.startsWith(d.split(":")[0]!)));
for (const v of [...vars, ...(values.var ?? [])]) args.push("--var", v);
if (values["inspector-port"]) args.push("--inspector-port", values["inspector-port"]);
if (values["test-scheduled"]) args.push("--test-scheduled"); // GET /__scheduled?cron=... runs a Cron Trigger
recordDevServer(port, persistTo); // helpers in another terminal (webhooks:listen, account:move) default to this port
const dev = spawn("wrangler", args, { stdio: ["inherit", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
quiet(dev.stdout!, process.stdout);
quiet(dev.stderr!, process.stderr);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
void printKeyWhenUp();
