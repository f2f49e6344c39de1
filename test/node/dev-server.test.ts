import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { wrangler } from "../../scripts/wrangler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

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
  while (!output.includes("Ready on")) {
    if (Date.now() > deadline || dev.exitCode !== null) throw new Error(`npm run dev did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});

afterAll(() => {
  if (dev?.pid) process.kill(-dev.pid, "SIGTERM");
  rmSync(STATE, { recursive: true, force: true });
});

describe("npm run dev, over HTTP", () => {
  it("prints a working local test key and a curl line that returns 200", async () => {
    const key = /export VATLY_API_KEY=(test_[A-Za-z0-9]{32,})/.exec(output)?.[1];
    expect(key).toBeDefined();
    expect(output).toContain(`curl -H "Authorization: Bearer $VATLY_API_KEY" ${BASE}/v1/customers`);
    const response = await fetch(`${BASE}/v1/customers`, { headers: { Authorization: `Bearer ${key}` } });
    expect(response.status).toBe(200);
  });

  it("serves create, get and list for a key made with the CLI, and refuses it once revoked", async () => {
    const key = cli("create", "--account", `acct_e2e${PORT}`, "--mode", "live");
    expect(key).toMatch(/^live_[A-Za-z0-9]{32,}$/);
    const auth = { Authorization: `Bearer ${key}` };

    const created = await fetch(`${BASE}/v1/customers`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json", "Idempotency-Key": "e2e-1" },
      body: JSON.stringify({ email: "e2e@example.com", metadata: { source: "e2e" } }),
    });
    expect(created.status).toBe(201);
    const customer = (await created.json()) as { id: string; testmode: boolean; links: { self: { href: string } } };
    expect(customer.testmode).toBe(false);
    expect(customer.links.self.href).toBe(`${BASE}/v1/customers/${customer.id}`);

    const fetched = await fetch(customer.links.self.href, { headers: auth });
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toEqual(customer);

    const list = (await (await fetch(`${BASE}/v1/customers?limit=1`, { headers: auth })).json()) as { data: { id: string }[]; count: number };
    expect(list.data.map((c) => c.id)).toEqual([customer.id]);
    expect(list.count).toBe(1);

    const unused = cli("create", "--account", `acct_e2e${PORT}`, "--mode", "test");
    cli("revoke", unused);
    const revoked = await fetch(`${BASE}/v1/customers`, { headers: { Authorization: `Bearer ${unused}` } });
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

describe("webhooks through npm run dev (Queues simulated by wrangler)", () => {
  it("delivers webhook.setup and the customer events with valid signatures", async () => {
    const key = cli("create", "--account", `acct_hooks${PORT}`, "--mode", "test");
    const auth = { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
    const hooks = await receiver();
    const secret = "e2e-signing-secret-123";
    try {
      expect((await fetch(`${BASE}/v1/webhook-endpoints`, { method: "POST", headers: auth, body: JSON.stringify({ url: hooks.url, secret }) })).status).toBe(201);
      const customer = (await (await fetch(`${BASE}/v1/customers`, { method: "POST", headers: auth, body: JSON.stringify({ email: "hooked@example.com" }) })).json()) as { id: string };
      expect((await fetch(`${BASE}/v1/customers/${customer.id}`, { method: "PATCH", headers: auth, body: JSON.stringify({ name: "Hooked" }) })).status).toBe(200);
      expect((await fetch(`${BASE}/v1/customers/${customer.id}`, { method: "DELETE", headers: auth })).status).toBe(204);
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
      expect((await fetch(`${BASE}/v1/webhook-endpoints`, { method: "POST", headers: auth, body: JSON.stringify({ url: hooks.url, secret: "flaky-secret-0123" }) })).status).toBe(201);
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
      fetch(`${BASE}${path}`, { ...init, headers: { Authorization: `Bearer ${k}`, "Content-Type": "application/json" } });
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
        await new Promise((resolve) => setTimeout(resolve, 25)); // under the account's rate limit
      }
    };
    const load = Promise.all([worker(key, 0), worker(second, 1)]);
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
    console.log(`Clients saw ${refusedAt.length} refused writes over ${clientWindow.toFixed(2)} s.`);

    expect([...statuses.keys()].filter((s) => s >= 500 && s !== 503), JSON.stringify([...statuses])).toEqual([]);
    expect(created.size).toBeGreaterThan(0);
    const onNew = new Set(rowsOn("DB_1", `SELECT id FROM customers WHERE account_id = '${account}'`).map((r) => r.id as string));
    for (const id of created) expect(onNew.has(id) !== deleted.has(id), id).toBe(true);
    expect(rowsOn("DB_1", `SELECT count(*) AS n FROM customers WHERE account_id = '${account}'`)[0]!.n).toBe(MOVE_CUSTOMERS + 1 + created.size - deleted.size);
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

// A real browser: Debian's chromium (`.ci/run` installs it when missing), driven by playwright-core.
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  console.log(`The /docs browser test was not run: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).`);
} else {
  describe("GET /docs in a real browser", () => {
    it("lists every operation of the document, and the try-it console reaches npm run dev", async () => {
      const key = /export VATLY_API_KEY=(test_[A-Za-z0-9]{32,})/.exec(output)![1]!;
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
      try {
        const page = await browser.newPage();
        const outside: string[] = [];
        const answered: string[] = [];
        page.on("request", (r) => void (new URL(r.url()).host !== `127.0.0.1:${PORT}` && outside.push(r.url())));
        page.on("response", (r) => answered.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`));
        await page.goto(`${BASE}/docs`);
        const document = JSON.parse(readFileSync("openapi.json", "utf8")) as { paths: Record<string, Record<string, { summary?: string }>> };
        const summaries = Object.values(document.paths).flatMap((ops) => Object.values(ops).flatMap((op) => (op.summary ? [op.summary] : [])));
        expect(summaries.length).toBe(20); // every operation of the document, HEAD included
        await page.getByText(summaries[0]!).first().waitFor();
        for (const summary of summaries) expect(await page.getByText(summary, { exact: true }).count(), summary).toBeGreaterThan(0);

        // The console: "List customers", with the local key as bearer token, sent to this server.
        const summary = "List customers, newest first, with ID cursors.";
        await page.getByRole("button", { name: /^List customers, newest first, with ID cursors\.\s*HTTP Method:\s*GET/i }).first().click();
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
      const created = await fetch(`${BASE}/v1/customers`, {
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
      process.kill(-listen.pid!, "SIGTERM");
    }
  });
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
    expect(text).toMatch(/curl -G http:\/\/127\.0\.0\.1:8787\/v1\/customers /);
    expect(text).toMatch(/curl http:\/\/127\.0\.0\.1:8787\/v1\/customers \\/);
    expect(text).toMatch(/curl http:\/\/127\.0\.0\.1:8787\/v1\/customers\/\$CUSTOMER_ID/);
    expect(text).toMatch(/curl -X PATCH http:\/\/127\.0\.0\.1:8787\/v1\/customers\/\$CUSTOMER_ID/);
    expect(text).toMatch(/curl -i -X DELETE http:\/\/127\.0\.0\.1:8787\/v1\/customers\/\$CUSTOMER_ID/);
    expect(text).toMatch(/\/v1\/webhook-endpoints/);
  });

  it("every block works as printed against npm run dev, top to bottom, twice (a walkthrough can be run again)", () => {
    const key = /export VATLY_API_KEY=(test_[A-Za-z0-9]{32,})/.exec(output)![1]!;
    for (const block of [...blocks, ...blocks]) {
      const script = block.replaceAll("127.0.0.1:8787", `127.0.0.1:${PORT}`);
      const out = execFileSync("bash", ["-euo", "pipefail", "-c", script], {
        encoding: "utf8",
        env: { ...process.env, VATLY_API_KEY: key, VATLY_PERSIST_TO: STATE },
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
      if (block.includes("try-client.ts")) expect(out).toMatch(/cus_\w+ \S+@example\.com/);
    }
  }, 300_000);
});
