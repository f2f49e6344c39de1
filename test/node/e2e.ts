// The e2e files' shared setup: importing this module starts one `npm run dev` for the importing test file (its own
// port and local state, stopped after the file), and gives the helpers the tests drive it with.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, setGlobalDispatcher } from "undici";
import { wrangler } from "../../scripts/wrangler";
import { afterAll, afterEach, beforeAll, expect } from "vitest";


// No keep-alive: the tests pause for seconds between calls (a CLI run), and a pooled connection that the server
// closes while idle fails the next call with "other side closed" (a client-side race, not the API's).
setGlobalDispatcher(new Agent({ pipelining: 0 }));

/**
 * fetch as a careful caller makes it: every write carries an Idempotency-Key, and a call whose connection dropped
 * before any answer is sent again, with the same key. `wrangler dev` itself drops one now and then: its ProxyWorker
 * reaches the Worker over a pooled connection that can close just as a request is written, and it retries only
 * GET and HEAD (workers-sdk #15252); a POST, PATCH or DELETE then fails with "other side closed" and no answer.
 */
let dropped = 0;
async function send(url: string, init: RequestInit = {}): Promise<Response> {
  const method = init.method ?? "GET";
  const headers = new Headers(init.headers);
  if (method !== "GET" && method !== "HEAD" && !headers.has("Idempotency-Key")) headers.set("Idempotency-Key", `e2e-${randomUUID()}`);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, { ...init, headers });
    } catch (err) {
      const code = ((err as Error).cause as { code?: string } | undefined)?.code;
      if (attempt === 3 || code !== "UND_ERR_SOCKET") throw err;
      dropped++;
    }
  }
}

const PORT = String(18000 + Math.floor(Math.random() * 1000));
const BASE = `http://127.0.0.1:${PORT}`;
// Its own local state: the tests never write into what `npm run dev` serves (.wrangler/state).
const STATE = mkdtempSync(join(tmpdir(), "vatly-e2e-"));
const TSX = "node_modules/.bin/tsx";
let dev: ChildProcess;
let output = "";

function cli(...args: string[]): string {
  const result = spawnSync(TSX, ["scripts/keys.ts", ...args, "--persist-to", STATE], { encoding: "utf8" });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.trim().split("\n").at(-1)!;
}

beforeAll(async () => {
  // Its own process group, so the whole tree (wrangler, workerd) can be stopped at the end. Retries of failed
  // webhook deliveries are shortened through configuration (the same variable a deployment sets).
  // Key caches are shortened the same way, so that account:move can settle in seconds.
  const args = ["scripts/dev.ts", "--persist-to", STATE, "--inspector-port", "0", "--var", "WEBHOOK_RETRY_DELAYS:1,1,1,1", "--var", "API_KEY_CACHE_SECONDS:1"];
  dev = spawn(TSX, args, { env: { ...process.env, PORT }, detached: true });
  dev.stdout!.on("data", (chunk) => (output += chunk));
  dev.stderr!.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + 90_000;
  while (!output.includes("export VATLY_API_BASE=")) { // printed once the server answers
    if (Date.now() > deadline || dev.exitCode !== null) throw new Error(`npm run dev did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});

// When a test fails, what `npm run dev` printed last (a dropped connection is explained there, if anywhere).
afterEach((context) => {
  if (context.task.result?.state === "fail") console.log(`--- npm run dev, last output ---\n${output.slice(-4000)}`);
});

afterAll(() => {
  if (dev?.pid) process.kill(-dev.pid, "SIGTERM");
  rmSync(STATE, { recursive: true, force: true });
});

/** A receiver on 127.0.0.1 that answers with `statuses` in turn (then 200) and keeps what it got. */
async function receiver(statuses: number[] = []) {
  const got: { body: string; headers: Record<string, string | string[] | undefined>; status: number }[] = [];
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const status = statuses[got.length] ?? 200;
      got.push({ body, headers: request.headers, status });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hooks`, got, close: () => server.close() };
}

async function until<T>(what: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = what();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Rows of an account on a shard of the e2e state, read with wrangler as an operator would. */
function rowsOn(binding: string, sql: string): Record<string, unknown>[] {
  const out = wrangler(["d1", "execute", binding, "--local", "--persist-to", STATE, "--command", sql, "--json"]);
  return (JSON.parse(out) as { results: Record<string, unknown>[] }[])[0]!.results;
}

// MOVE_CUSTOMERS=100000 npm test runs the move on an account of that size (seeded with an event per customer).
const MOVE_CUSTOMERS = Number(process.env.MOVE_CUSTOMERS ?? 1000); // ten of the copy's pages (src/moves/repository.ts PAGE)

/** Seeds customers (each with its customer.created event) straight into shard 0 of the e2e state. */
function seedAccount(account: string, n: number) {
  const dir = mkdtempSync(join(tmpdir(), "vatly-seed-"));
  try {
    for (let from = 0; from < n; from += 20_000) {
      const lines: string[] = [];
      for (let i = from; i < Math.min(n, from + 20_000); i += 250) {
        const rows = Array.from({ length: Math.min(250, n - i) }, (_, j) => i + j);
        const id = (k: number) => `cus_0Vb${String(k).padStart(8, "0")}${account.slice(-11).padStart(11, "x")}`;
        lines.push(`INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at, etag) VALUES ${rows.map((k) => `('${id(k)}', '${account}', 1, 'seed${k}@example.com', NULL, '{"n":"${k}"}', '2026-01-01T00:00:00Z', 'e${k}')`).join(", ")};`);
        lines.push(`INSERT INTO webhook_events (id, account_id, testmode, event_name, entity_id, body, created_at, delivery, attempts, next_attempt_at) VALUES ${rows.map((k) => `('webhook_event_0Vb${String(k).padStart(8, "0")}${account.slice(-11).padStart(11, "x")}', '${account}', 1, 'customer.created', '${id(k)}', '{}', ${Date.now()}, 'none', 0, 0)`).join(", ")};`);
      }
      writeFileSync(join(dir, "seed.sql"), lines.join("\n"));
      wrangler(["d1", "execute", "DB", "--local", "--persist-to", STATE, "--file", join(dir, "seed.sql"), "--yes"]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}


export { send, dropped, PORT, BASE, STATE, TSX, output, cli, receiver, until, rowsOn, MOVE_CUSTOMERS, seedAccount };
