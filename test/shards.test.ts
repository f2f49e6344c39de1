// Accounts sharded over D1 databases: DB (shard 0) and DB_1 (shard 1) in wrangler.toml.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cleanUpIdempotencyKeys, deleteOldEvents, EVENT_RETENTION_MS, SWEEP_GRACE_MS, sweepUndelivered } from "../src/jobs/cron";
import { IDEMPOTENCY_WINDOW_MS } from "../src/pipeline/idempotency.repository";
import { shardsOf } from "../src/lib/shards";
import { call, callWithEnv, createCustomer, expectError, newKey, type ListBody } from "./helpers";
import { consume, recordingQueue, SECRET } from "./webhooks/helpers";

const countIn = async (db: D1Database, table: string, accountId: string) =>
  (await db.prepare(`SELECT count(*) AS n FROM ${table} WHERE account_id = ?`).bind(accountId).first<{ n: number }>())!.n;

describe("shards", () => {
  it("are the D1 bindings DB, DB_1, ... of wrangler.toml (and the tests' third, DB_2)", () => {
    expect(shardsOf(env)).toEqual([0, 1, 2]);
  });

  it("route every request of an account to the shard its key record names", async () => {
    const { key, accountId } = await newKey({ shard: 1 });
    const customer = await createCustomer(key, { email: "sharded@example.com" }, { "Idempotency-Key": "s1" });
    expect(await countIn(env.DB_1, "customers", accountId)).toBe(1);
    expect(await countIn(env.DB_1, "idempotency_keys", accountId)).toBe(1);
    expect(await countIn(env.DB_1, "webhook_events", accountId)).toBe(1);
    expect(await countIn(env.DB, "customers", accountId)).toBe(0);
    expect(await countIn(env.DB, "webhook_events", accountId)).toBe(0);
    expect((await call(`/v1/customers/${customer.id}`, { key })).status).toBe(200);
    expect((await call(`/v1/customers/${customer.id}`, { key, method: "PATCH", json: { name: "S" } })).status).toBe(200);
    expect((await call(`/v1/customers/${customer.id}`, { key, method: "DELETE" })).status).toBe(204);
    expect(await countIn(env.DB_1, "customer_tombstones", accountId)).toBe(1);
  });

  it("treat a key record without a shard (every key from before sharding) as shard 0", async () => {
    const { key, accountId } = await newKey();
    await createCustomer(key, { email: "legacy@example.com" });
    expect(await countIn(env.DB, "customers", accountId)).toBe(1);
    expect(await countIn(env.DB_1, "customers", accountId)).toBe(0);
  });

  it("isolate: an account on one shard never sees rows of the same account id and id range on another", async () => {
    const accountId = `acct_iso${Date.now()}`;
    const onZero = await newKey({ accountId, shard: 0 });
    const stray = await createCustomer(onZero.key, { email: "stray@example.com" });
    const onOne = await newKey({ accountId, shard: 1 });
    const own = await createCustomer(onOne.key, { email: "own@example.com" });
    const list = (await (await call("/v1/customers", { key: onOne.key })).json()) as ListBody;
    expect(list.data.map((c) => c.id)).toEqual([own.id]);
    await expectError(await call(`/v1/customers/${stray.id}`, { key: onOne.key }), 404);
    await expectError(await call(`/v1/customers?startingAfter=${stray.id}`, { key: onOne.key }), 422);
    // The same email is free on the other shard: uniqueness is per shard, like everything of an account.
    expect((await call("/v1/customers", { key: onOne.key, json: { email: "stray@example.com" } })).status).toBe(201);
  });

  it("answer 500, never another shard's data, when a key record names a shard this deployment lacks", async () => {
    const { key } = await newKey({ shard: 7 });
    await expectError(await call("/v1/customers", { key }), 500, "An unexpected error occurred. Please try again later.");
  });

  it("refuse writes with 503 and Retry-After during a move's cutover (the shard's own triggers), and keep serving reads", async () => {
    const { key, accountId } = await newKey({ shard: 1 });
    const customer = await createCustomer(key, { email: "moving@example.com" });
    await env.DB_1.prepare("INSERT INTO account_moves (account_id, target_shard, state, phase, started_at, lease_until) VALUES (?, 0, 'cutover', 'cutover', ?, ?)").bind(accountId, Date.now(), Date.now() + 60_000).run();
    expect((await call("/v1/customers", { key })).status).toBe(200);
    expect((await call(`/v1/customers/${customer.id}`, { key })).status).toBe(200);
    for (const [method, path, json] of [["POST", "/v1/customers", { email: "x@example.com" }], ["PATCH", `/v1/customers/${customer.id}`, { name: "x" }], ["DELETE", `/v1/customers/${customer.id}`, undefined]] as const) {
      const response = await call(path, { key, method, json });
      await expectError(response, 503);
      expect(response.headers.get("Retry-After")).toBe("1");
    }
    expect(await countIn(env.DB_1, "customers", accountId)).toBe(1);
    await env.DB_1.prepare("DELETE FROM account_moves WHERE account_id = ?").bind(accountId).run();
    expect((await call(`/v1/customers/${customer.id}`, { key, method: "PATCH", json: { name: "after" } })).status).toBe(200);
  });

  it("forward every request for an account a shard gave away, by a stale key record, to the shard it went to", async () => {
    const { key, accountId } = await newKey({ shard: 0 });
    const customer = await createCustomer(key, { email: "forwarded@example.com" });
    // Copy the account to shard 1 by hand and mark it moved on shard 0; the key record still says 0.
    for (const table of ["customers", "webhook_events"]) {
      const rows = (await env.DB.prepare(`SELECT * FROM ${table} WHERE account_id = ?`).bind(accountId).all<Record<string, unknown>>()).results;
      for (const row of rows) {
        const columns = Object.keys(row);
        await env.DB_1.prepare(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`).bind(...Object.values(row)).run();
      }
    }
    await env.DB.prepare("INSERT INTO account_moves (account_id, target_shard, state, phase, started_at) VALUES (?, 1, 'moved', 'done', ?)").bind(accountId, Date.now()).run();
    await env.DB.prepare("UPDATE customers SET name = 'STALE COPY' WHERE id = ?").bind(customer.id).run().catch(() => undefined);
    const read = await call(`/v1/customers/${customer.id}`, { key });
    expect(read.status).toBe(200);
    const updated = await call(`/v1/customers/${customer.id}`, { key, method: "PATCH", json: { name: "On shard 1" } });
    expect(((await updated.json()) as { name: string }).name).toBe("On shard 1");
    const created = await createCustomer(key, { email: "after-move@example.com" });
    expect(await countIn(env.DB_1, "customers", accountId)).toBe(2);
    expect((await env.DB.prepare("SELECT name FROM customers WHERE id = ?").bind(customer.id).first<{ name: string | null }>())!.name).toBeNull();
    expect(await env.DB.prepare("SELECT id FROM customers WHERE id = ?").bind(created.id).first()).toBeNull();
  });

  it("run every cron job on every shard", async () => {
    const { key, accountId } = await newKey({ shard: 1 });
    expect((await call("/v1/customers", { key, json: { email: "cron1@example.com" }, headers: { "Idempotency-Key": "c1" } })).status).toBe(201);
    await env.DB_1.prepare("UPDATE idempotency_keys SET created_at = created_at - ? WHERE account_id = ?").bind(IDEMPOTENCY_WINDOW_MS + 1000, accountId).run();
    await cleanUpIdempotencyKeys(env);
    expect(await countIn(env.DB_1, "idempotency_keys", accountId)).toBe(0);

    await env.DB_1.prepare("UPDATE webhook_events SET created_at = created_at - ? WHERE account_id = ?").bind(EVENT_RETENTION_MS + 1000, accountId).run();
    await deleteOldEvents(env);
    expect(await countIn(env.DB_1, "webhook_events", accountId)).toBe(0);
  });

  it("sweep and deliver events of a shard-1 account from shard 1", async () => {
    const { key, accountId } = await newKey({ shard: 1 });
    const lost = { send: async () => { throw new Error("queue down"); } } as unknown as Queue;
    expect((await callWithEnv({ WEBHOOK_QUEUE: lost }, "/v1/webhook-endpoints", { key, json: { url: "https://s1.example/h", secret: SECRET } })).status).toBe(201);
    const swept = recordingQueue();
    await sweepUndelivered({ ...env, WEBHOOK_QUEUE: swept.queue }, Date.now() + SWEEP_GRACE_MS + 60_000);
    const message = swept.sent.find((m) => m.accountId === accountId)!;
    expect(message).toMatchObject({ shard: 1, testmode: true });
    const { received, result } = await consume([message], () => new Response("ok"));
    expect(received.map((r) => r.url)).toEqual(["https://s1.example/h"]);
    expect(result.explicitAcks).toEqual(["m0"]);
    const row = await env.DB_1.prepare("SELECT delivery FROM webhook_events WHERE id = ?").bind(message.eventId).first<{ delivery: string }>();
    expect(row!.delivery).toBe("delivered");
  });
});
