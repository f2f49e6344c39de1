// npm run dev's operator and developer tools, end to end (its own npm run dev, beside dev-server.test.ts): account:move
// (the Workflow, its cancel, as an operator meets it) and webhooks:listen (its receiver, beside an existing endpoint,
// --forward-to, with webhooks:trigger and an event's attempts).
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { wrangler } from "../../scripts/wrangler";
import { Vatly, verifyWebhook } from "../../client/dist/index.js";
import { describe, expect, it } from "vitest";
import { send, dropped, PORT, BASE, STATE, TSX, cli, until, rowsOn, MOVE_CUSTOMERS, seedAccount } from "./e2e";

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

