// Online account moves on the AccountMove Workflow: the copy, the catch-up of writes made meanwhile, the cutover, the
// forward from the old shard, and resuming after an interruption.
import { introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sweepUndelivered } from "../src/jobs/cron";
import { call, callWithEnv, createCustomer, newKey } from "./helpers";
import { consume, recordingQueue, SECRET } from "./webhooks/helpers";

const count = async (db: D1Database, sql: string, accountId: string) => (await db.prepare(sql).bind(accountId).first<{ n: number }>())!.n;
const rowsOf = async (db: D1Database, accountId: string) => ({
  customers: await count(db, "SELECT count(*) AS n FROM customers WHERE account_id = ?", accountId),
  events: await count(db, "SELECT count(*) AS n FROM webhook_events WHERE account_id = ?", accountId),
  keys: await count(db, "SELECT count(*) AS n FROM idempotency_keys WHERE account_id = ?", accountId),
  tombstones: await count(db, "SELECT count(*) AS n FROM customer_tombstones WHERE account_id = ?", accountId),
  endpoints: await count(db, "SELECT count(*) AS n FROM webhook_endpoints WHERE account_id = ?", accountId),
  attempts: await count(db, "SELECT count(*) AS n FROM webhook_attempts WHERE event_id IN (SELECT id FROM webhook_events WHERE account_id = ?)", accountId),
});

/** An account on shard 0 with customers (more than two copy pages), events, keys, a tombstone, an endpoint and attempts. */
async function seededAccount(customers = 230) {
  const { key, accountId } = await newKey({ shard: 0 });
  const { sent, queue } = recordingQueue();
  expect((await callWithEnv({ WEBHOOK_QUEUE: queue }, "/v1/webhook-endpoints", { key, json: { url: "https://moves.example/h", secret: SECRET } })).status).toBe(201);
  const insert = env.DB.prepare("INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at, etag) VALUES (?, ?, 1, ?, NULL, '{}', '2026-01-01T00:00:00Z', 'e')");
  const ids = Array.from({ length: customers }, (_, i) => `cus_0Vc0000${String(i).padStart(4, "0")}${accountId.slice(-11)}`);
  await env.DB.batch(ids.map((id, i) => insert.bind(id, accountId, `seed${i}@example.com`)));
  const keyed = await call("/v1/customers", { key, json: { email: "keyed@example.com" }, headers: { "Idempotency-Key": "seed-key" } });
  const doomed = await createCustomer(key, { email: "doomed@example.com" });
  expect((await call(`/v1/customers/${doomed.id}`, { key, method: "DELETE" })).status).toBe(204);
  await consume([sent[0]!], () => new Response("down", { status: 500 })); // one attempt on the setup event
  return { key, accountId, ids, keyed: (await keyed.json()) as { id: string } };
}

async function runMove(id: string, params: { accountId: string; to: number; stopAfter?: string }, status: "complete" | "errored" = "complete") {
  const instance = await introspectWorkflowInstance(env.ACCOUNT_MOVE, id);
  try {
    await instance.modify(async (m) => m.disableSleeps());
    await env.ACCOUNT_MOVE.create({ id, params: { settleSeconds: 0, ...params } });
    await instance.waitForStatus(status);
    return status === "complete" ? ((await instance.getOutput()) as { refusedMs: number }) : undefined;
  } finally {
    await instance.dispose();
  }
}

describe("account moves (AccountMove Workflow)", () => {
  it("moves every row while the account stays writable; the old shard keeps nothing but the forward", async () => {
    const { key, accountId, ids } = await seededAccount();
    const before = await rowsOf(env.DB, accountId);
    const created: string[] = [];
    const statuses: number[] = [];
    let running = true;
    const writer = (async () => {
      for (let i = 0; running; i++) {
        const response = await call("/v1/customers", { key, json: { email: `during${i}@example.com` } });
        statuses.push(response.status);
        if (response.status === 201) created.push(((await response.json()) as { id: string }).id);
        const update = await call(`/v1/customers/${ids[i % ids.length]}`, { key, method: "PATCH", json: { name: `Name ${i}` } });
        statuses.push(update.status);
      }
    })();
    const output = await runMove(`move-${accountId}`, { accountId, to: 1 });
    running = false;
    await writer;

    expect(statuses.filter((s) => s !== 201 && s !== 200 && s !== 503)).toEqual([]);
    expect(created.length).toBeGreaterThan(0);
    const after = await rowsOf(env.DB_1, accountId);
    expect(after.customers).toBe(before.customers + created.length);
    expect(after.attempts).toBe(before.attempts);
    expect(after.tombstones).toBe(1);
    expect(after.keys).toBe(before.keys);
    for (const id of created) expect((await call(`/v1/customers/${id}`, { key })).status).toBe(200);
    expect(await rowsOf(env.DB, accountId)).toEqual({ customers: 0, events: 0, keys: 0, tombstones: 0, endpoints: 0, attempts: 0 });
    expect(await env.DB.prepare("SELECT state FROM account_moves WHERE account_id = ?").bind(accountId).first()).toEqual({ state: "moved" });
    expect(output!.refusedMs).toBeLessThan(2_000);

    // The key record was pointed at shard 1; one still naming shard 0 (a stale cache) is forwarded.
    const stale = await newKey({ accountId, shard: 0 });
    const list = (await (await call("/v1/customers?limit=100", { key: stale.key })).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(100);
    expect((await call("/v1/customers", { key: stale.key, json: { email: "stale-record@example.com" } })).status).toBe(201);
    expect(await rowsOf(env.DB, accountId)).toMatchObject({ customers: 0, events: 0 });
  }, 60_000);

  it("resumes a move stopped mid-copy, and one stopped mid-cutover (writes refused until it resumes), and ends exact", async () => {
    const { key, accountId } = await seededAccount(150);
    const before = await rowsOf(env.DB, accountId);
    await runMove(`stop-copy-${accountId}`, { accountId, to: 1, stopAfter: "copy" }, "errored");
    expect((await call("/v1/customers", { key, json: { email: "between@example.com" } })).status).toBe(201);
    await runMove(`stop-cutover-${accountId}`, { accountId, to: 1, stopAfter: "cutover" }, "errored");
    const refused = await call("/v1/customers", { key, json: { email: "refused@example.com" } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("Retry-After")).toBe("1");
    expect((await call("/v1/customers?limit=1", { key })).status).toBe(200);
    await runMove(`resume-${accountId}`, { accountId, to: 1 });
    expect(await rowsOf(env.DB_1, accountId)).toEqual({ ...before, customers: before.customers + 1, events: before.events + 1 });
    expect(await rowsOf(env.DB, accountId)).toEqual({ customers: 0, events: 0, keys: 0, tombstones: 0, endpoints: 0, attempts: 0 });
  }, 60_000);

  it("the old shard never delivers after the cutover: its queued message is served from the new one, its sweep skips the account", async () => {
    const { key, accountId } = await newKey({ shard: 0 });
    const { sent, queue } = recordingQueue();
    await callWithEnv({ WEBHOOK_QUEUE: queue }, "/v1/webhook-endpoints", { key, json: { url: "https://old-copy.example/h", secret: SECRET } });
    await callWithEnv({ WEBHOOK_QUEUE: queue }, "/v1/customers", { key, json: { email: "queued@example.com" } });
    const message = sent.at(-1)!;
    expect(message.shard).toBe(0);
    await consume([message], () => new Response("down", { status: 500 }));
    await runMove(`deliver-${accountId}`, { accountId, to: 1 });
    // The customer is deleted on the new shard: the old copy cannot send or leak it.
    const customer = JSON.parse((await env.DB_1.prepare("SELECT body FROM webhook_events WHERE id = ?").bind(message.eventId).first<{ body: string }>())!.body).object as { id: string };
    expect((await call(`/v1/customers/${customer.id}`, { key, method: "DELETE" })).status).toBe(204);
    const swept = recordingQueue();
    await sweepUndelivered({ ...env, WEBHOOK_QUEUE: swept.queue }, Date.now() + 3_600_000);
    expect(swept.sent.filter((m) => m.accountId === accountId && m.shard === 0)).toEqual([]);
    const { received } = await consume([message], (request) => new Response("ok"));
    for (const request of received) expect(await request.text()).not.toContain("queued@example.com");
  }, 60_000);
});
