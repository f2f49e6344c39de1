import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { Agent, setGlobalDispatcher } from "undici";
import { wrangler } from "../../scripts/wrangler";
import { AuthenticationError, NotFoundError, PreconditionFailedError, ValidationError, Vatly, verifyWebhook, type Customer } from "../../client/dist/index.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

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

describe("npm run dev, over HTTP", () => {
  it("prints a working local test key and a curl line that returns 200", async () => {
    const key = /export VATLY_API_KEY=(test_[A-Za-z0-9]{32,})/.exec(output)?.[1];
    expect(key).toBeDefined();
    // Printed once, after the server answers, with the base the examples use; wrangler's own line per request (the
    // Worker logs each request already) and its cron hint are left out unless --verbose.
    expect(output).toMatch(/Ready\. Local test key for account \S+ /);
    expect(output.split("export VATLY_API_KEY=").length).toBe(2);
    expect(output).not.toMatch(/\[wrangler:info\] (GET|POST|PATCH|DELETE|QUEUE) /);
    expect(output).toContain(`Cron locally: curl "${BASE}/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*"`);
    expect(output).not.toContain("/cdn-cgi/local/scheduled"); // one cron hint, the README's
    expect(output.split("Your Worker has access to the following bindings").length).toBeLessThanOrEqual(2);
    expect(output).toContain(`export VATLY_API_BASE=${BASE}\n`);
    expect(output).toContain('curl -H "Authorization: Bearer $VATLY_API_KEY" $VATLY_API_BASE/v1/customers');
    const curl = execFileSync("bash", ["-c", 'curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $VATLY_API_KEY" $VATLY_API_BASE/v1/customers'], { encoding: "utf8", env: { ...process.env, VATLY_API_KEY: key!, VATLY_API_BASE: BASE } });
    expect(curl).toBe("200");
  });

  it("serves create, get and list for a key made with the CLI, and refuses it once revoked", async () => {
    const key = cli("create", "--account", `acct_e2e${PORT}`, "--mode", "live");
    expect(key).toMatch(/^live_[A-Za-z0-9]{32,}$/);
    const auth = { Authorization: `Bearer ${key}` };

    const created = await send(`${BASE}/v1/customers`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json", "Idempotency-Key": "e2e-1" },
      body: JSON.stringify({ email: "e2e@example.com", metadata: { source: "e2e" } }),
    });
    expect(created.status).toBe(201);
    const customer = (await created.json()) as { id: string; testmode: boolean; links: { self: { href: string } } };
    expect(customer.testmode).toBe(false);
    expect(customer.links.self.href).toBe(`${BASE}/v1/customers/${customer.id}`);

    const fetched = await send(customer.links.self.href, { headers: auth });
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toEqual(customer);

    const list = (await (await send(`${BASE}/v1/customers?limit=1`, { headers: auth })).json()) as { data: { id: string }[]; count: number };
    expect(list.data.map((c) => c.id)).toEqual([customer.id]);
    expect(list.count).toBe(1);

    const unused = cli("create", "--account", `acct_e2e${PORT}`, "--mode", "test");
    cli("revoke", unused);
    const revoked = await send(`${BASE}/v1/customers`, { headers: { Authorization: `Bearer ${unused}` } });
    expect(revoked.status).toBe(403);
    expect(await revoked.json()).toEqual({ message: "This API key has been revoked." });
  });
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

describe("Cron Triggers through npm run dev", () => {
  it("run from wrangler's own scheduled endpoint, as the README's hint says, with no restart", async () => {
    const hint = /curl "http:\/\/127\.0\.0\.1:8787(\/cdn-cgi\/handler\/scheduled\?cron=[^"]+)"/.exec(readFileSync("README.md", "utf8"));
    expect(hint).not.toBeNull();
    const before = output.length;
    const response = await send(`${BASE}${hint![1]}`);
    expect(response.status).toBe(200);
    for (let i = 0; i < 50 && !output.slice(before).includes('"event":"webhook_sweep"'); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(output.slice(before)).toContain('"event":"webhook_sweep"');
  });
});

describe("webhooks through npm run dev (Queues simulated by wrangler)", () => {
  it("delivers webhook.setup and the customer events with valid signatures", async () => {
    const key = cli("create", "--account", `acct_hooks${PORT}`, "--mode", "test");
    const auth = { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
    const hooks = await receiver();
    const secret = "e2e-signing-secret-123";
    try {
      expect((await send(`${BASE}/v1/webhook-endpoints`, { method: "POST", headers: auth, body: JSON.stringify({ url: hooks.url, secret }) })).status).toBe(201);
      const customer = (await (await send(`${BASE}/v1/customers`, { method: "POST", headers: auth, body: JSON.stringify({ email: "hooked@example.com" }) })).json()) as { id: string };
      expect((await send(`${BASE}/v1/customers/${customer.id}`, { method: "PATCH", headers: auth, body: JSON.stringify({ name: "Hooked" }) })).status).toBe(200);
      expect((await send(`${BASE}/v1/customers/${customer.id}`, { method: "DELETE", headers: auth })).status).toBe(204);
      const names = ["webhook.setup", "customer.created", "customer.updated", "customer.deleted"];
      await until(() => (names.every((n) => hooks.got.some((g) => JSON.parse(g.body).eventName === n)) ? true : undefined));
      for (const delivery of hooks.got) {
        const expected = createHmac("sha256", secret).update(delivery.body).digest("hex");
        expect(delivery.headers["vatly-signature"]).toBe(expected);
        expect(delivery.headers["webhook-id"]).toBe(JSON.parse(delivery.body).id);
      }
      const updated = hooks.got.map((g) => JSON.parse(g.body)).find((e) => e.eventName === "customer.updated");
      expect(updated).toMatchObject({ entityId: customer.id, entityType: "customer" });
    } finally {
      hooks.close();
    }
  });

  it("keeps trying a receiver that answers 500 twice, until it answers 200", async () => {
    const key = cli("create", "--account", `acct_flaky${PORT}`, "--mode", "test");
    const auth = { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
    const hooks = await receiver([500, 500]);
    try {
      expect((await send(`${BASE}/v1/webhook-endpoints`, { method: "POST", headers: auth, body: JSON.stringify({ url: hooks.url, secret: "flaky-secret-0123" }) })).status).toBe(201);
      const setup = await until(() => (hooks.got.filter((g) => g.status === 200).length ? hooks.got : undefined), 30_000);
      expect(setup.map((g) => g.status)).toEqual([500, 500, 200]);
      expect(new Set(setup.map((g) => g.headers["webhook-id"])).size).toBe(1);
    } finally {
      hooks.close();
    }
  });
});

/** Rows of an account on a shard of the e2e state, read with wrangler as an operator would. */
function rowsOn(binding: string, sql: string): Record<string, unknown>[] {
  const out = wrangler(["d1", "execute", binding, "--local", "--persist-to", STATE, "--command", sql, "--json"]);
  return (JSON.parse(out) as { results: Record<string, unknown>[] }[])[0]!.results;
}

// MOVE_CUSTOMERS=100000 npm test runs the move on an account of that size (seeded with an event per customer).
const MOVE_CUSTOMERS = Number(process.env.MOVE_CUSTOMERS ?? 3000);

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

describe("account:move (the AccountMove Workflow, through npm run dev)", () => {
  it(`moves ${MOVE_CUSTOMERS} customers under load through several keys, one created and one revoked meanwhile: every acknowledged write exactly once on the new shard, nothing left on the old`, async () => {
    const account = `acct_move${PORT}`;
    const key = cli("create", "--account", account, "--mode", "test", "--shard", "0");
    const second = cli("create", "--account", account, "--mode", "test");
    const doomedKey = cli("create", "--account", account, "--mode", "test");
    seedAccount(account, MOVE_CUSTOMERS);
    const call = (k: string, path: string, init: RequestInit = {}) =>
      send(`${BASE}${path}`, { ...init, headers: { Authorization: `Bearer ${k}`, "Content-Type": "application/json" } });
    const tracked = (await (await call(key, "/v1/customers", { method: "POST", body: JSON.stringify({ email: "tracked@example.com" }) })).json()) as { id: string };

    let running = true;
    const created = new Set<string>();
    const deleted = new Set<string>();
    let lastName: string | null = null;
    const statuses = new Map<number, number>();
    const refusedAt: number[] = [];
    const note = (r: Response) => {
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 503) refusedAt.push(Date.now());
    };
    const worker = async (k: string, w: number) => {
      for (let i = 0; running; i++) {
        const create = await call(k, "/v1/customers", { method: "POST", body: JSON.stringify({ email: `w${w}-${i}@example.com` }) });
        note(create);
        if (create.status === 201) created.add(((await create.json()) as { id: string }).id);
        if (w === 0) {
          const update = await call(k, `/v1/customers/${tracked.id}`, { method: "PATCH", body: JSON.stringify({ name: `n${i}` }) });
          note(update);
          if (update.status === 200) lastName = `n${i}`;
        }
        const victim = [...created].find((id) => !deleted.has(id) && id.endsWith(String(w)) === false);
        if (victim && i % 3 === 0) {
          const del = await call(k, `/v1/customers/${victim}`, { method: "DELETE" });
          note(del);
          if (del.status === 204) deleted.add(victim);
        }
        note(await call(k, "/v1/customers?limit=5"));
        // Three writers stay under the account's rate limit (1,000 requests per 10 s): a 429 phase could outlast the
        // client's retries, which honour Retry-After (10 s).
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    // The client's retries against the real move: it never sees a 503, and its writes land exactly once.
    const client = new Vatly({ apiKey: second, baseUrl: BASE, baseDelayMs: 20 });
    const viaClient: string[] = [];
    const clientWorker = async () => {
      for (let i = 0; running; i++) {
        viaClient.push((await client.customers.create({ email: `client${i}@example.com` })).id);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const load = Promise.all([worker(key, 0), worker(second, 1), clientWorker()]);
    let createdDuring = "";
    const output = await new Promise<string>((resolve, reject) => {
      const move = spawn(TSX, ["scripts/account-move.ts", "--account", account, "--to", "1", "--persist-to", STATE, "--port", PORT, "--settle", "2"]);
      let printed = "";
      move.stdout!.on("data", (chunk) => {
        printed += chunk;
        // Mid-copy: a key is created and another revoked, as an operator might while it runs.
        if (!createdDuring && /Started moving/.test(printed)) {
          createdDuring = cli("create", "--account", account, "--mode", "test");
          spawnSync(TSX, ["scripts/keys.ts", "revoke", doomedKey, "--persist-to", STATE]);
        }
      });
      move.stderr!.on("data", (chunk) => (printed += chunk));
      move.on("exit", (code) => (code === 0 ? resolve(printed) : reject(new Error(printed))));
    });
    running = false;
    await load;
    console.log(output.trim().split("\n").at(-1));
    const clientWindow = refusedAt.length ? (refusedAt.at(-1)! - refusedAt[0]!) / 1000 : 0;
    console.log(`Clients saw ${refusedAt.length} refused writes over ${clientWindow.toFixed(2)} s; wrangler dev dropped ${dropped} calls unanswered (sent again with their key).`);

    expect([...statuses.keys()].filter((s) => s >= 500 && s !== 503), JSON.stringify([...statuses])).toEqual([]);
    expect(created.size).toBeGreaterThan(0);
    // The written rows only (the seeded ones are counted below): a listing of 100,000 ids would not fit wrangler's output buffer.
    const onNew = new Set(rowsOn("DB_1", `SELECT id FROM customers WHERE account_id = '${account}' AND email NOT LIKE 'seed%'`).map((r) => r.id as string));
    for (const id of created) expect(onNew.has(id) !== deleted.has(id), id).toBe(true);
    for (const id of viaClient) expect(onNew.has(id), id).toBe(true);
    expect(new Set(viaClient).size).toBe(viaClient.length);
    expect(rowsOn("DB_1", `SELECT count(*) AS n FROM customers WHERE account_id = '${account}'`)[0]!.n).toBe(MOVE_CUSTOMERS + 1 + created.size - deleted.size + viaClient.length);
    expect(rowsOn("DB_1", `SELECT count(*) AS n FROM customer_tombstones WHERE account_id = '${account}'`)[0]!.n).toBe(deleted.size);
    expect(rowsOn("DB_1", `SELECT name FROM customers WHERE id = '${tracked.id}'`)[0]!.name).toBe(lastName);
    for (const table of ["customers", "webhook_events", "idempotency_keys", "customer_tombstones", "webhook_endpoints"]) {
      expect(rowsOn("DB", `SELECT count(*) AS n FROM ${table} WHERE account_id = '${account}'`)[0]!.n, table).toBe(0);
    }
    expect(clientWindow).toBeLessThan(2);
    // Keys keep their meaning: the one created during the move works, the revoked one is refused.
    expect(createdDuring).toMatch(/^test_/);
    expect((await call(createdDuring, "/v1/customers", { method: "POST", body: JSON.stringify({ email: "created-during@example.com" }) })).status).toBe(201);
    expect((await call(doomedKey, "/v1/customers")).status).toBe(403);
  }, 600_000);
});

describe("backups", () => {
  it("no script runs wrangler d1 export (it refuses the index, and a failed remote export can leave a database busy)", () => {
    for (const script of ["scripts/backup.ts", "scripts/shards.ts", "scripts/deploy.ts", "scripts/account-move.ts", "scripts/keys.ts"]) {
      expect(readFileSync(script, "utf8"), script).not.toMatch(/["']d1["'],\s*["']export["']/);
    }
  });
});

describe("account:move, as an operator meets it", () => {
  const move = (...args: string[]) => spawnSync(TSX, ["scripts/account-move.ts", ...args, "--persist-to", STATE, "--port", PORT], { encoding: "utf8" });

  it("fails at once with one line for an unknown account or one already on --to; --status lists unfinished moves; --cancel undoes a stopped move", async () => {
    const account = `acct_ops${PORT}`;
    const key = cli("create", "--account", account, "--mode", "test", "--shard", "0");
    expect((await send(`${BASE}/v1/customers`, { method: "POST", headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" }, body: JSON.stringify({ email: "ops@example.com" }) })).status).toBe(201);
    for (const [args, message] of [
      [["--account", "acct_nobody_at_all", "--to", "1"], /^Unknown account acct_nobody_at_all: no shard holds its rows\.\n$/],
      [["--account", account, "--to", "0"], new RegExp(`^${account} is already on DB\\.\\n$`)],
    ] as const) {
      const started = Date.now();
      const result = move(...args);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(Date.now() - started).toBeLessThan(15_000);
    }
    // A move stopped after its first copy step (as a crash would), seen by --status, then cancelled.
    wrangler(["workflows", "trigger", "account-move", JSON.stringify({ accountId: account, to: 1, stopAfter: "copy", settleSeconds: 0 }), "--local", "--port", PORT]);
    let status = "";
    for (let i = 0; i < 60 && !/verifying|catching up/.test(status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      status = move("--status").stdout;
    }
    expect(status).toMatch(new RegExp(`${account}: DB → DB_1, (verifying|catching up) \\(copying\\)`));
    expect(status).toMatch(new RegExp(`${account}: DB_1 holds the copy being built for a move from DB`));
    const elsewhere = move("--account", account, "--to", "0");
    expect(elsewhere.status).toBe(1);
    const cancelled = move("--account", account, "--cancel");
    expect(cancelled.status, cancelled.stderr).toBe(0);
    // Both instances named: the move's (stopped) and the cancel's own; "Cancelled" only once the cancel's output says so.
    expect(cancelled.stdout).toMatch(new RegExp(`Cancelling the move of ${account} \\(the move's Workflow instance: [\\w-]+; this cancel's: move-[\\w-]+\\)\\.`));
    expect(cancelled.stdout).toMatch(new RegExp(`Cancelled: ${account} is served from DB as before the move`));
    const again = move("--account", account, "--cancel");
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^${account} has no unfinished move to cancel\\.\\n$`));
    expect(move("--status").stdout).not.toContain(account);
    expect(rowsOn("DB_1", `SELECT count(*) AS n FROM customers WHERE account_id = '${account}'`)[0]!.n).toBe(0);
    expect((await send(`${BASE}/v1/customers`, { method: "POST", headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" }, body: JSON.stringify({ email: "after-cancel@example.com" }) })).status).toBe(201);
  }, 120_000);
});

describe("the TypeScript client (client/), against npm run dev", () => {
  /**
   * A fault-injecting proxy in front of npm run dev: `fault` decides, per request, to answer a status itself, to
   * forward and then drop the connection (the write applied, the answer lost), or to forward. Records what it saw.
   */
  async function proxy(fault: (method: string, path: string, n: number) => { status?: number; retryAfter?: string; drop?: boolean; before?: () => Promise<void> } | undefined) {
    const seen: { method: string; path: string; headers: Record<string, string | string[] | undefined> }[] = [];
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      seen.push({ method: req.method!, path: req.url!, headers: req.headers });
      const action = fault(req.method!, req.url!, seen.filter((s) => s.method === req.method && s.path === req.url).length);
      await action?.before?.();
      if (action?.status) {
        res.writeHead(action.status, { "Content-Type": "application/json", ...(action.retryAfter ? { "Retry-After": action.retryAfter } : {}) }).end('{"message":"injected"}');
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !["host", "connection", "content-length", "accept-encoding"].includes(k)).map(([k, v]) => [k, String(v)]));
      const upstream = await send(`${BASE}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
      const body = Buffer.from(await upstream.arrayBuffer());
      if (action?.drop) {
        res.socket?.destroy(); // the write is done upstream; the client never hears of it
        return;
      }
      // fetch has decoded the body: its encoding and length headers no longer describe it.
      const answer = Object.fromEntries([...upstream.headers].filter(([k]) => !["content-encoding", "content-length", "transfer-encoding"].includes(k)));
      res.writeHead(upstream.status, answer).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen, close: () => server.close() };
  }

  it("every method: customers, webhook endpoints and events, lists walked across pages both ways", async () => {
    const account = `acct_client${PORT}`;
    const vatly = new Vatly({ apiKey: cli("create", "--account", account, "--mode", "test"), baseUrl: BASE });
    const made: Customer[] = [];
    for (let i = 0; i < 7; i++) made.push(await vatly.customers.create({ email: `c${i}@example.com`, metadata: { i: String(i) } }));
    const newestFirst = [...made].reverse().map((c) => c.id);
    const walked: string[] = [];
    for await (const customer of vatly.customers.list({ limit: 3 })) walked.push(customer.id);
    expect(walked).toEqual(newestFirst);
    const back: string[] = [];
    for await (const customer of vatly.customers.list({ limit: 3, endingBefore: made[0]!.id, backwards: true })) back.push(customer.id);
    expect(back).toEqual(made.slice(1).map((c) => c.id));
    const page = await vatly.customers.page({ limit: 3 });
    expect(page.data).toHaveLength(3);
    expect((await (await page.next())!.prev())!.data.map((c) => c.id)).toEqual(page.data.map((c) => c.id));

    expect((await vatly.customers.retrieve(made[0]!.id)).email).toBe("c0@example.com");
    expect((await vatly.customers.findByEmail(" C3@Example.com "))!.id).toBe(made[3]!.id);
    expect(await vatly.customers.findByEmail("nobody@example.com")).toBeNull();
    const updated = await vatly.customers.update(made[0]!.id, { name: "Ada", metadata: { i: null, plan: "pro" } });
    expect(updated).toMatchObject({ name: "Ada", metadata: { plan: "pro" } });
    const { etag } = await vatly.customers.retrieveWithEtag(made[0]!.id);
    await expect(vatly.customers.update(made[0]!.id, { name: "Stale" }, { ifMatch: '"not-it"' })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await vatly.customers.update(made[0]!.id, { name: "Fresh" }, { ifMatch: etag })).name).toBe("Fresh");
    await vatly.customers.del(made[1]!.id);
    const missing = await vatly.customers.retrieve(made[1]!.id).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).requestId).toMatch(/^req_/);
    const invalid = await vatly.customers.create({ email: "not-an-email" }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect(Object.keys((invalid as ValidationError).errors)).toEqual(["email"]);

    const endpoint = await vatly.webhookEndpoints.create({ url: "http://127.0.0.1:9/hooks", secret: "client-test-secret" });
    expect((await vatly.webhookEndpoints.retrieve(endpoint.id)).url).toBe("http://127.0.0.1:9/hooks");
    expect((await vatly.webhookEndpoints.update(endpoint.id, { url: "http://127.0.0.1:9/other" })).url).toBe("http://127.0.0.1:9/other");
    const endpoints: string[] = [];
    for await (const e of vatly.webhookEndpoints.list()) endpoints.push(e.id);
    expect(endpoints).toEqual([endpoint.id]);
    const events: string[] = [];
    for await (const e of vatly.webhookEvents.list({ limit: 4, eventName: "customer.created" })) events.push(e.eventName);
    expect(events).toEqual(Array(7).fill("customer.created"));
    const first = (await vatly.webhookEvents.page({ limit: 1 })).data[0]!;
    expect((await vatly.webhookEvents.retrieve(first.id)).id).toBe(first.id);
    await vatly.webhookEndpoints.del(endpoint.id);
    const auth = await new Vatly({ apiKey: "test_nope", baseUrl: BASE }).customers.page().catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(AuthenticationError);
  }, 120_000);

  it("retries 503, 429 and a lost answer with the same Idempotency-Key: exactly one write; carries the bookmark; modify() survives a 412", async () => {
    const account = `acct_retry${PORT}`;
    const key = cli("create", "--account", account, "--mode", "test");
    let racer: (() => Promise<void>) | undefined;
    const p = await proxy((method, path, n) => {
      if (method === "POST" && path === "/v1/customers" && n === 1) return { status: 503, retryAfter: "0" };
      if (method === "POST" && path === "/v1/customers" && n === 2) return { status: 429, retryAfter: "1" };
      if (method === "POST" && path === "/v1/customers" && n === 3) return { drop: true };
      if (method === "PATCH" && racer) {
        const before = racer;
        racer = undefined;
        return { before };
      }
      return undefined;
    });
    try {
      const vatly = new Vatly({ apiKey: key, baseUrl: p.url, baseDelayMs: 10 });
      const customer = await vatly.customers.create({ email: "once@example.com" });
      const posts = p.seen.filter((s) => s.method === "POST");
      expect(posts).toHaveLength(4);
      expect(new Set(posts.map((s) => s.headers["idempotency-key"])).size).toBe(1);
      const direct = new Vatly({ apiKey: key, baseUrl: BASE });
      const all = (await direct.customers.page({ limit: 100 })).data;
      expect(all.map((c) => c.id)).toEqual([customer.id]);

      // The bookmark of the create's answer goes out with the next call.
      const afterCreate = vatly.bookmark;
      expect(afterCreate).toMatch(/^[0-9a-f]{8}-/);
      await vatly.customers.retrieve(customer.id);
      expect(p.seen.at(-1)!.headers["x-d1-bookmark"]).toBe(afterCreate);

      // A concurrent change lands between modify()'s read and its write: the write gets a 412, modify reads again.
      racer = async () => void (await direct.customers.update(customer.id, { metadata: { other: "writer" } }));
      const modified = await vatly.customers.modify(customer.id, (c) => ({ metadata: { count: String(Number(c.metadata?.count ?? 0) + 1) } }));
      expect(modified.metadata).toEqual({ other: "writer", count: "1" });
    } finally {
      p.close();
    }
  }, 120_000);

  it("verifies a real delivery with verifyWebhook, and refuses a tampered one", async () => {
    const account = `acct_verify${PORT}`;
    const vatly = new Vatly({ apiKey: cli("create", "--account", account, "--mode", "test"), baseUrl: BASE });
    const deliveries: { body: string; headers: Record<string, string | string[] | undefined> }[] = [];
    const receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        deliveries.push({ body, headers: req.headers });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    try {
      const secret = "verify-secret-0123";
      await vatly.webhookEndpoints.create({ url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`, secret });
      const customer = await vatly.customers.create({ email: "delivered@example.com" });
      const deadline = Date.now() + 30_000;
      while (!deliveries.some((d) => d.body.includes(customer.id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const delivery = deliveries.find((d) => d.body.includes(customer.id))!;
      const event = await verifyWebhook(delivery.body, delivery.headers, { secrets: ["an-old-secret-000", secret] });
      expect(event).toMatchObject({ eventName: "customer.created", entityId: customer.id });
      await expect(verifyWebhook(delivery.body.replace("delivered@", "tampered@"), delivery.headers, { secrets: secret })).rejects.toThrow(/webhook-signature does not match/);
      await expect(verifyWebhook(delivery.body, delivery.headers, { secrets: secret, now: Math.floor(Date.now() / 1000) + 3600 })).rejects.toThrow(/tolerance/);
      await expect(verifyWebhook(delivery.body, delivery.headers, { secrets: "wrong-secret-0000" })).rejects.toThrow();
    } finally {
      receiver.close();
    }
  }, 60_000);
});

// A real browser: Debian's chromium (`.ci/run` installs it when missing), driven by playwright-core.
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  console.log(`The /docs browser test was not run: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).`);
} else {
  describe("GET /docs in a real browser", () => {
    it("lists every operation by its group, once (no HEAD twins), with short names, and the try-it console reaches npm run dev", async () => {
      const key = /export VATLY_API_KEY=(test_[A-Za-z0-9]{32,})/.exec(output)![1]!;
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const outside: string[] = [];
        const answered: string[] = [];
        page.on("request", (r) => void (new URL(r.url()).host !== `127.0.0.1:${PORT}` && outside.push(r.url())));
        page.on("response", (r) => answered.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`));
        await page.goto(`${BASE}/docs`);
        type Op = { summary?: string; tags?: string[]; "x-scalar-ignore"?: boolean };
        const document = JSON.parse(readFileSync("openapi.json", "utf8")) as { paths: Record<string, Record<string, Op>>; tags: { name: string }[] };
        const operations = Object.values(document.paths).flatMap((ops) => Object.values(ops));
        const shown = operations.filter((op) => !op["x-scalar-ignore"]);
        // Every operation but the HEAD twins: short names, each in one of the groups.
        expect(shown.length).toBeGreaterThanOrEqual(17);
        expect(operations.length - shown.length).toBe(operations.filter((op) => op.summary?.endsWith("(headers only)")).length);
        for (const op of shown) expect(op.summary!.length, op.summary).toBeLessThanOrEqual(32);
        await page.getByText(shown[0]!.summary!).first().waitFor();
        mkdirSync("test-output", { recursive: true });
        await page.screenshot({ path: "test-output/docs-1280.png" });
        // The sidebar: a group per tag (the first open), each opening on its operations.
        for (const tag of document.tags.map((t) => t.name)) {
          expect(await page.getByText(tag, { exact: true }).count(), tag).toBeGreaterThan(0);
          const inTag = shown.filter((op) => op.tags?.[0] === tag);
          expect(inTag.length, tag).toBeGreaterThan(0);
          if ((await page.getByText(inTag[0]!.summary!, { exact: true }).count()) === 0) await page.getByText(tag, { exact: true }).first().click();
          for (const op of inTag) await page.getByText(op.summary!, { exact: true }).first().waitFor({ timeout: 5_000 });
        }
        expect(document.tags.map((t) => t.name)).toEqual(["Customers", "Webhook endpoints", "Webhook events", "Reference"]);
        expect(await page.getByText("(headers only)").count()).toBe(0);
        expect(await page.getByText("Client Libraries").count()).toBe(0); // no empty box of snippets

        // The console: "List customers", with the local key as bearer token, sent to this server.
        const summary = "List customers";
        await page.getByRole("button", { name: /^List customers\s*HTTP Method:\s*GET/i }).first().click();
        const section = page.locator("section", { has: page.getByRole("heading", { name: summary, exact: true }) }).first();
        await section.getByRole("button", { name: /Test Request/ }).first().click();
        await page.getByPlaceholder("Token").last().fill(key); // the console's (the page has one too)
        await page.getByRole("button", { name: /^Send/ }).first().click();
        await page.getByText("200 OK").first().waitFor({ timeout: 15_000 });
        expect(answered).toContain("GET /v1/customers 200");
        expect(outside).toEqual([]); // no CDN, fonts or telemetry
      } finally {
        await browser.close();
      }
    });
  });
}

describe("npm run webhooks:listen", () => {
  it("registers a local receiver and prints each event with its signature checked", async () => {
    const listenPort = String(Number(PORT) + 1000);
    const listen = spawn(TSX, ["scripts/webhooks-listen.ts", "--port", listenPort, "--api", BASE, "--account", `acct_listen${PORT}`, "--persist-to", STATE], { detached: true });
    let printed = "";
    listen.stdout!.on("data", (chunk) => (printed += chunk));
    listen.stderr!.on("data", (chunk) => (printed += chunk));
    try {
      await until(() => (printed.includes("Ready") ? true : undefined));
      const key = cli("create", "--account", `acct_listen${PORT}`, "--mode", "test");
      const created = await send(`${BASE}/v1/customers`, {
        method: "POST",
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
        body: JSON.stringify({ email: "listened@example.com" }),
      });
      const { id } = (await created.json()) as { id: string };
      await until(() => (printed.includes(id) ? true : undefined));
      expect(printed).toMatch(/webhook\.setup .* signature ok/);
      expect(printed).toMatch(new RegExp(`customer\\.created .* customer ${id}  signature ok`));
      expect(printed).not.toContain("INVALID");
    } finally {
      // Stopped, and its clean-up (endpoint removed, key revoked) done before the next test writes local KV.
      const closed = new Promise((resolve) => listen.on("close", resolve));
      process.kill(-listen.pid!, "SIGTERM");
      await closed;
    }
  });
});

describe("webhooks:listen beside what the account already has", () => {
  const listenArgs = (account: string, port: string, ...more: string[]) => ["scripts/webhooks-listen.ts", "--port", port, "--api", BASE, "--account", account, "--persist-to", STATE, ...more];

  it("refuses an endpoint it did not make (naming it) unless --replace; a second listener never breaks a running one; Ctrl-C removes its endpoint and revokes its key", async () => {
    const account = `acct_listen2${PORT}`;
    const key = cli("create", "--account", account, "--mode", "test");
    const auth = { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
    const endpoints = async () => ((await (await send(`${BASE}/v1/webhook-endpoints`, { headers: auth })).json()) as { data: { id: string; url: string }[] }).data;
    const mine = await send(`${BASE}/v1/webhook-endpoints`, { method: "POST", headers: auth, body: JSON.stringify({ url: "https://hooks.example.com/vatly", secret: "a-secret-of-my-own-0" }) });
    const { id: mineId } = (await mine.json()) as { id: string };
    const refused = spawnSync(TSX, listenArgs(account, String(Number(PORT) + 1100)), { encoding: "utf8" });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(`The account already has a webhook endpoint, https://hooks.example.com/vatly (${mineId}): pass --replace to replace it (it is deleted, with its secret), or delete it yourself.\n`);
    expect((await endpoints()).map((e) => e.id)).toEqual([mineId]);

    const firstPort = String(Number(PORT) + 1200);
    // As `npm run webhooks:listen` runs it: one process, tsx as a loader (tsx's wrapper would SIGKILL a listener slow
    // to acknowledge Ctrl-C within 30 ms, before its clean-up).
    const first = spawn("node_modules/.bin/node", ["--import", "tsx", ...listenArgs(account, firstPort, "--replace")], { detached: true });
    let printed = "";
    first.stdout!.on("data", (chunk) => (printed += chunk));
    first.stderr!.on("data", (chunk) => (printed += chunk));
    const exited = new Promise<number | null>((resolve) => first.on("close", resolve)); // its output ended too
    await until(() => (printed.includes("Ready") ? true : undefined));
    expect(printed).toContain(`Replaced the endpoint https://hooks.example.com/vatly (${mineId}), as --replace said.`);
    const listening = `http://127.0.0.1:${firstPort}/webhooks`;
    expect((await endpoints()).map((e) => e.url)).toEqual([listening]);

    // A second listener, with bad arguments or a good one, with or without --replace: one line, nothing changed.
    for (const [args, message] of [
      [["--port", "99999"], /^--port must be a port number from 1 to 65535 \(default 4242\)\.\n$/],
      [["--port", "0"], /^--port must be a port number from 1 to 65535 \(default 4242\)\.\n$/],
      [["--port", String(Number(PORT) + 1300)], new RegExp(`^Another webhooks:listen is receiving this account's events at ${listening.replaceAll(".", "\\.")}: stop it first \\(Ctrl-C in its terminal\\)\\.\\n$`)],
    ] as const) {
      const second = spawnSync(TSX, ["scripts/webhooks-listen.ts", "--api", BASE, "--account", account, "--persist-to", STATE, ...args], { encoding: "utf8" });
      expect(second.status, second.stderr).toBe(1);
      expect(second.stderr).toMatch(message);
    }
    expect((await endpoints()).map((e) => e.url)).toEqual([listening]);
    const created = await send(`${BASE}/v1/customers`, { method: "POST", headers: auth, body: JSON.stringify({ email: "still-listening@example.com" }) });
    const { id } = (await created.json()) as { id: string };
    await until(() => (printed.includes(id) ? true : undefined));
    expect(printed).toMatch(new RegExp(`customer\\.created .* customer ${id}  signature ok`));

    process.kill(-first.pid!, "SIGINT");
    const code = await exited;
    expect(code, printed).toBe(0);
    expect(printed, printed).toContain("Stopped: its endpoint removed, its key revoked.");
    expect(await endpoints()).toEqual([]);
    const keys = spawnSync(TSX, ["scripts/keys.ts", "list", "--account", account, "--persist-to", STATE], { encoding: "utf8" }).stdout;
    expect(keys).toMatch(/revoked \S+  shard \d  made by webhooks:listen/);
    expect(keys).not.toMatch(/active  shard \d  made by webhooks:listen/);
    expect(keys).toMatch(/active  shard \d  made by key:create/);
  }, 120_000);
});

describe("the webhook desk: webhooks:listen --forward-to, webhooks:trigger, the attempts of an event", () => {
  it("forwards each delivery to the app as received, answers with the app's status (a failing app shows in the history), and a triggered event arrives", async () => {
    const account = `acct_desk${PORT}`;
    // The developer's app: refuses the first delivery of each event, then takes it.
    const got: { body: string; headers: Record<string, string> }[] = [];
    const app = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        got.push({ body, headers: req.headers as Record<string, string> });
        res.writeHead(got.filter((g) => g.headers["webhook-id"] === req.headers["webhook-id"]).length === 1 ? 500 : 204).end();
      });
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    const appUrl = `http://127.0.0.1:${(app.address() as { port: number }).port}/hooks`;
    const listenPort = String(Number(PORT) + 1500);
    const listen = spawn(TSX, ["scripts/webhooks-listen.ts", "--port", listenPort, "--forward-to", appUrl, "--api", BASE, "--account", account, "--persist-to", STATE], { detached: true });
    let printed = "";
    listen.stdout!.on("data", (chunk) => (printed += chunk));
    listen.stderr!.on("data", (chunk) => (printed += chunk));
    try {
      await until(() => (printed.includes("Ready") ? true : undefined));
      const secret = /Signing secret: (\S+)/.exec(printed)![1]!;
      const help = spawnSync(TSX, ["scripts/webhooks-trigger.ts", "--help"], { encoding: "utf8" });
      expect(help.stdout).toMatch(/customer\.created[\s\S]*customer\.updated[\s\S]*customer\.deleted/);
      const triggered = spawnSync(TSX, ["scripts/webhooks-trigger.ts", "customer.updated", "--api", BASE, "--account", account, "--persist-to", STATE], { encoding: "utf8" });
      expect(triggered.status, triggered.stderr).toBe(0);
      const eventId = triggered.stdout.trim().split("\n").at(-1)!;
      expect(eventId).toMatch(/^webhook_event_/);
      // The first delivery of that event meets the failing app; its retry (1 s here) gets through.
      await until(() => (got.filter((g) => g.headers["webhook-id"] === eventId).length >= 2 ? true : undefined), 30_000);
      expect(printed).toMatch(new RegExp(`customer\\.updated +${eventId} .*signature ok  → ${appUrl.replaceAll(".", "\\.")} 500`));
      expect(printed).toMatch(new RegExp(`${eventId} .*→ ${appUrl.replaceAll(".", "\\.")} 204`));
      const delivery = got.find((g) => g.headers["webhook-id"] === eventId)!;
      expect((await verifyWebhook(delivery.body, delivery.headers, { secrets: secret })).id).toBe(eventId);
      const key = cli("create", "--account", account, "--mode", "test");
      const vatly = new Vatly({ apiKey: key, baseUrl: BASE });
      let attempts = await vatly.webhookEvents.attempts(eventId);
      for (let i = 0; i < 50 && attempts.delivery.state !== "delivered"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        attempts = await vatly.webhookEvents.attempts(eventId);
      }
      expect(attempts.delivery.state).toBe("delivered");
      expect(attempts.data.map((a) => a.status)).toEqual([204, 500]);
      // Resent from the desk: one more attempt, recorded.
      expect((await vatly.webhookEvents.resend(eventId)).id).toBe(eventId);
      await until(() => (got.filter((g) => g.headers["webhook-id"] === eventId).length >= 3 ? true : undefined), 30_000);
    } finally {
      const closed = new Promise((resolve) => listen.on("close", resolve));
      process.kill(-listen.pid!, "SIGTERM");
      await closed;
      app.close();
    }
  }, 120_000);
});

describe("README", () => {
  // Every shell block, run as printed against this npm run dev (only the port differs, and local state goes to this
  // test's own directory), except the few marked "not run by the tests" with the reason.
  const readme = readFileSync("README.md", "utf8");
  const all = [...readme.matchAll(/(<!-- not run by the tests[^\n]*-->\n)?```sh\n([\s\S]*?)```/g)];
  const blocks = all.filter((m) => !m[1]).map((m) => m[2]!);

  it("runs every block but the few marked with a reason", () => {
    const skipped = all.filter((m) => m[1]).map((m) => m[1]!);
    expect(skipped.length).toBeLessThanOrEqual(4);
    for (const reason of skipped) expect(reason).toMatch(/not run by the tests[^:]*: \S/);
    expect(blocks.length).toBeGreaterThanOrEqual(10);
  });

  it("has curl examples of every customer route, of webhooks and of errors", () => {
    const text = blocks.join("\n");
    // Against the base npm run dev prints (PORT= changes it), never a hard-coded port.
    expect(text).not.toMatch(/http:\/\/127\.0\.0\.1:8787/);
    expect(text).toMatch(/curl -G \$VATLY_API_BASE\/v1\/customers /);
    expect(text).toMatch(/curl \$VATLY_API_BASE\/v1\/customers \\/);
    expect(text).toMatch(/curl \$VATLY_API_BASE\/v1\/customers\/\$CUSTOMER_ID/);
    expect(text).toMatch(/curl -X PATCH \$VATLY_API_BASE\/v1\/customers\/\$CUSTOMER_ID/);
    expect(text).toMatch(/curl -i -X DELETE \$VATLY_API_BASE\/v1\/customers\/\$CUSTOMER_ID/);
    expect(text).toMatch(/\/v1\/webhook-endpoints/);
  });

  it("every block works as printed against npm run dev, top to bottom, twice (a walkthrough can be run again)", () => {
    const key = /export VATLY_API_KEY=(test_[A-Za-z0-9]{32,})/.exec(output)![1]!;
    for (const block of [...blocks, ...blocks]) {
      const script = block.replaceAll("127.0.0.1:8787", `127.0.0.1:${PORT}`);
      const out = execFileSync("bash", ["-euo", "pipefail", "-c", script], {
        encoding: "utf8",
        env: { ...process.env, VATLY_API_KEY: key, VATLY_API_BASE: /export VATLY_API_BASE=(\S+)/.exec(output)![1]!, VATLY_PERSIST_TO: STATE },
        timeout: 60_000,
        stdio: ["ignore", "pipe", "pipe"], // curl's progress meter stays out of the log; a failing block's stderr is in the error
      });
      expect(out, script).not.toMatch(/HTTP\/1\.1 5\d\d|An unexpected error/);
      expect(out.trim(), script).not.toBe("");
      if (block.includes('"email": "john@example.com"')) expect(JSON.parse(out)).toMatchObject({ resource: "customer", email: "john@example.com", name: "John Doe" });
      if (block.includes("-X PATCH")) expect(JSON.parse(out)).toMatchObject({ resource: "customer", name: "John Q. Doe", metadata: { plan: "business" } });
      else if (block.includes("-X DELETE")) expect(out).toContain("HTTP/1.1 204");
      else if (block.includes("$CUSTOMER_ID")) expect(JSON.parse(out)).toMatchObject({ resource: "customer" });
      if (block.includes("not-an-email")) expect(out).toContain("HTTP/1.1 422");
      if (block.includes("webhook-endpoints")) expect(out).toContain('"resource":"webhook_endpoint"');
      if (block.includes("X-D1-Bookmark: $BOOKMARK")) expect(JSON.parse(out).data.length).toBeGreaterThan(0);
      if (block.includes("key:list")) expect(out).toMatch(/test_…\w{4} {2}created .* shard \d/);
      if (block.includes("try-vatly.mjs")) expect(out.trim().split("\n")).toEqual([expect.stringMatching(/^cus_\w+ \S+@example\.com$/), expect.stringMatching(/^cus_\w+ \S+@example\.com$/)]);
    }
  }, 300_000);
});
