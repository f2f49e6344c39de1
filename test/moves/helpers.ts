// What the move tests share: an account with rows in every table, writers whose every acknowledged answer is kept
// (the ledger), a Workflow run that may be stopped at a named step, and the checks of the invariants a move keeps
// in every state: one home serves the account, writes come back within the lease, nothing runs from a copy, and
// every row on the home is, column by column, what the writers were told.
import { introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { sweepUndelivered } from "../../src/jobs/cron";
import { accountIndexKey, KEY_PREFIX, REVOKED_PREFIX, type StoredKey } from "../../src/lib/api-keys";
import { sha256Hex } from "../../src/lib/crypto";
import { call, callWithEnv, newKey, type CallOptions } from "../helpers";
import { expectIndexMatchesCustomers } from "../search-index";
import { consume, recordingQueue, SECRET } from "../webhooks/helpers";

export const shardDb = (shard: number) => [env.DB, env.DB_1, env.DB_2][shard]!;
export const SHARDS = [0, 1, 2];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Kept { email: string; name: string | null; metadata: Record<string, string>; created_at: string; etag: string }

/** Every answer the API acknowledged, by customer id: the customer as it was told (null: deleted, with a 204). */
export class Ledger {
  readonly customers = new Map<string, Kept | null>();
  constructor(readonly key: string) {}

  /** A write as a careful client makes it: with an Idempotency-Key, sent again on a 503 until the lease lets it in. */
  async write(path: string, options: CallOptions): Promise<Response> {
    const headers = { "Idempotency-Key": crypto.randomUUID(), ...options.headers };
    const deadline = Date.now() + 20_000;
    for (;;) {
      const response = await call(path, { key: this.key, ...options, headers });
      if (response.status !== 503 || Date.now() > deadline) return response;
      expect(response.headers.get("Retry-After")).toBe("1");
      await sleep(100);
    }
  }

  private async keep(response: Response) {
    const body = (await response.json()) as { id: string; email: string; name: string | null; metadata: Record<string, string>; createdAt: string };
    this.customers.set(body.id, { email: body.email, name: body.name, metadata: body.metadata, created_at: body.createdAt, etag: response.headers.get("ETag")! });
    return body.id;
  }

  async create(email: string) {
    const response = await this.write("/v1/customers", { json: { email, metadata: { from: "writer" } } });
    expect(response.status, await response.clone().text()).toBe(201);
    return this.keep(response);
  }

  async update(id: string, name: string) {
    const response = await this.write(`/v1/customers/${id}`, { method: "PATCH", json: { name, metadata: { name } } });
    expect(response.status, await response.clone().text()).toBe(200);
    await this.keep(response);
  }

  async remove(id: string) {
    const response = await this.write(`/v1/customers/${id}`, { method: "DELETE" });
    expect(response.status, await response.clone().text()).toBe(204);
    this.customers.set(id, null);
  }

  live = () => [...this.customers].filter(([, c]) => c !== null).map(([id]) => id);

  /** Creates, updates and deletes, `rounds` of each (more than the catch-up's page when asked). */
  async churn(name: string, rounds: number) {
    const tag = name.replace(/[^a-z0-9-]/gi, "-");
    for (let i = 0; i < rounds; i++) {
      const id = await this.create(`${tag}-${i}@example.com`);
      const live = this.live();
      await this.update(live[(i * 7) % live.length]!, `${tag} ${i}`);
      if (i % 3 === 0) await this.remove(id === live[0] ? live[1]! : live[0]!);
    }
  }

  /** Writers in the background while a move runs; stop() waits for the last one. */
  background(tag: string) {
    let running = true;
    const done = (async () => {
      for (let i = 0; running; i++) {
        await this.churn(`${tag}${i}`, 1);
        await sleep(2);
      }
    })();
    return async () => {
      running = false;
      await done;
    };
  }
}

/** An account on shard 0 with customers (more than a copy page), a tombstone, an endpoint, events and an attempt. */
export async function seededAccount(customers = 120, shard = 0) {
  const { key, accountId } = await newKey({ shard });
  const ledger = new Ledger(key);
  const { sent, queue } = recordingQueue();
  expect((await callWithEnv({ WEBHOOK_QUEUE: queue }, "/v1/webhook-endpoints", { key, json: { url: "https://moves.example/h", secret: SECRET } })).status).toBe(201);
  const insert = shardDb(shard).prepare("INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at, etag) VALUES (?, ?, 1, ?, NULL, '{}', '2026-01-01T00:00:00Z', ?)");
  const ids = Array.from({ length: customers }, (_, i) => `cus_0Vc0000${String(i).padStart(4, "0")}${accountId.slice(-11)}`);
  await shardDb(shard).batch(ids.map((id, i) => insert.bind(id, accountId, `seed${i}@example.com`, `e${i}`)));
  for (const [i, id] of ids.entries()) ledger.customers.set(id, { email: `seed${i}@example.com`, name: null, metadata: {}, created_at: "2026-01-01T00:00:00Z", etag: `"e${i}"` });
  const doomed = await ledger.create("doomed@example.com");
  await ledger.remove(doomed);
  await consume([sent[0]!], () => new Response("down", { status: 500 })); // one attempt on the setup event
  const snapshot = await otherRows(shard, accountId);
  return { key, accountId, ledger, snapshot };
}

/**
 * The account's rows in the tables the writers do not touch, as seeded: the endpoint, and the attempts of its
 * webhook.setup event (sent to a recording queue; the writers' events may meet the test runtime's own queue consumer,
 * which adds attempts of its own).
 */
async function otherRows(shard: number, accountId: string, events?: string[]) {
  const d = shardDb(shard);
  const endpoints = (await d.prepare("SELECT * FROM webhook_endpoints WHERE account_id = ? ORDER BY id").bind(accountId).all()).results;
  const eventIds = events ?? (await d.prepare("SELECT id FROM webhook_events WHERE account_id = ? AND event_name = 'webhook.setup'").bind(accountId).all<{ id: string }>()).results.map((r) => r.id);
  const attempts = (await d.prepare("SELECT * FROM webhook_attempts WHERE event_id IN (SELECT value FROM json_each(?)) ORDER BY event_id, attempt").bind(JSON.stringify(eventIds)).all()).results;
  return { endpoints, attempts, eventIds };
}

/** A key as key:create makes it while a move is stopped: its record and its entry in the account's key index. */
export async function keyDuringMove(accountId: string, shard: number) {
  const made = await newKey({ accountId, shard });
  await env.API_KEYS.put(accountIndexKey(accountId, await sha256Hex(made.key)), "1");
  return made.key;
}

/** A revocation as key:revoke makes it: the marker first, then the record. */
export async function revokeDuringMove(key: string) {
  const hash = await sha256Hex(key);
  const revokedAt = new Date().toISOString();
  await env.API_KEYS.put(REVOKED_PREFIX + hash, revokedAt);
  const stored = (await env.API_KEYS.get<StoredKey>(KEY_PREFIX + hash, "json"))!;
  await env.API_KEYS.put(KEY_PREFIX + hash, JSON.stringify({ ...stored, revokedAt }));
}

export interface MoveRun { status: string; error?: string; output?: { refusedMs: number; repaired: number; state: string; reason?: string } }

/** Starts the AccountMove Workflow (sleeps disabled) and waits until it ends: complete, or errored (a stop, a refusal). */
export async function runMove(params: { accountId: string; to?: number; cancel?: boolean; stopAfter?: string; leaseSeconds?: number }, id = `move-${crypto.randomUUID()}`): Promise<MoveRun> {
  const instance = await introspectWorkflowInstance(env.ACCOUNT_MOVE, id);
  try {
    await instance.modify(async (m) => m.disableSleeps());
    const handle = await env.ACCOUNT_MOVE.create({ id, params: { settleSeconds: 0, leaseSeconds: 2, ...params } });
    for (;;) {
      const status = await handle.status();
      if (status.status === "complete") return { status: "complete", output: status.output as MoveRun["output"] };
      if (status.status === "errored" || status.status === "terminated") return { status: status.status, error: status.error?.message };
      await sleep(20);
    }
  } finally {
    await instance.dispose();
  }
}

/** Which shard each shard's record sends the account to (or itself: it is home). */
export async function recordsOf(accountId: string) {
  const out: Record<number, { state: string; owner: string } | null> = {};
  for (const shard of SHARDS) out[shard] = await shardDb(shard).prepare("SELECT state, owner FROM account_moves WHERE account_id = ?").bind(accountId).first();
  return out;
}

/**
 * The invariants of a stopped move: whichever shard a request is routed to (a key record naming it, of the shards a
 * route can name), it is served by
 * `home` (a read sees the ledger, a write lands there and nowhere else) within the lease; and the sweep sends
 * nothing of the account from any other shard.
 */
export async function expectServedByHome(accountId: string, home: number, ledger: Ledger) {
  const [someone] = ledger.live();
  const want = ledger.customers.get(someone!)!;
  // A route can name the home, or a shard that ever held the account: each of those has a record while it is not home.
  const records = await recordsOf(accountId);
  for (const shard of SHARDS.filter((s) => s === home || records[s] !== null)) {
    const routed = new Ledger((await newKey({ accountId, shard })).key);
    const read = await routed.write(`/v1/customers/${someone}`, { method: "GET" });
    expect(read.status, `read routed to shard ${shard}`).toBe(200);
    expect(read.headers.get("ETag"), `read routed to shard ${shard}`).toBe(want.etag);
    const started = Date.now();
    const id = await routed.create(`routed-${shard}-${crypto.randomUUID().slice(0, 8)}@example.com`);
    expect(Date.now() - started, "writable within the lease").toBeLessThan(8_000);
    ledger.customers.set(id, routed.customers.get(id)!);
    for (const other of SHARDS) {
      const row = await shardDb(other).prepare("SELECT id FROM customers WHERE id = ?").bind(id).first();
      expect(row !== null, `a write routed to shard ${shard} is on shard ${other}`).toBe(other === home);
    }
  }
  const swept = recordingQueue();
  await sweepUndelivered({ ...env, WEBHOOK_QUEUE: swept.queue }, Date.now() + 3_600_000);
  const fromCopies = swept.sent.filter((m) => m.accountId === accountId && m.shard !== home);
  expect(fromCopies, "the sweep sends nothing from a shard that is not home").toEqual([]);
}

/**
 * The end state: `home` holds, column by column, every customer the ledger says exists and a tombstone for every
 * one it says was deleted, the endpoint and attempts as seeded, each row once; every other shard holds nothing of the
 * account and no change log; and the records agree (`moved` record left on `source`, or none anywhere).
 */
export async function expectExactlyOnHome(accountId: string, home: number, ledger: Ledger, snapshot: Awaited<ReturnType<typeof otherRows>>) {
  const d = shardDb(home);
  const rows = (await d.prepare("SELECT id, email, name, metadata, created_at, etag FROM customers WHERE account_id = ? ORDER BY id").bind(accountId).all<Record<string, string>>()).results;
  const onHome = Object.fromEntries(rows.map((r) => [r.id, { email: r.email, name: r.name, metadata: JSON.parse(r.metadata!), created_at: r.created_at, etag: `"${r.etag}"` }]));
  const told = Object.fromEntries([...ledger.customers].filter(([, c]) => c !== null));
  expect(onHome).toEqual(told);
  // The search index on every shard is exactly what its customers derive.
  for (const shard of SHARDS) await expectIndexMatchesCustomers(shardDb(shard), `shard ${shard}`);
  const tombstones = (await d.prepare("SELECT id FROM customer_tombstones WHERE account_id = ? ORDER BY id").bind(accountId).all<{ id: string }>()).results.map((r) => r.id);
  expect(tombstones).toEqual([...ledger.customers].filter(([, c]) => c === null).map(([id]) => id).sort());
  expect(await otherRows(home, accountId, snapshot.eventIds)).toEqual(snapshot);
  for (const shard of SHARDS.filter((s) => s !== home)) {
    for (const table of ["customers", "customer_tombstones", "idempotency_keys", "webhook_endpoints", "webhook_events", "account_changes", "search_scopes"]) {
      const n = await shardDb(shard).prepare(`SELECT count(*) AS n FROM ${table} WHERE account_id = ?`).bind(accountId).first<{ n: number }>();
      expect(n!.n, `${table} on shard ${shard}`).toBe(0);
    }
  }
  expect((await d.prepare("SELECT count(*) AS n FROM account_changes WHERE account_id = ?").bind(accountId).first<{ n: number }>())!.n).toBe(0);
  // Attempts go with their events: none is left behind on another shard.
  const events = JSON.stringify((await d.prepare("SELECT id FROM webhook_events WHERE account_id = ?").bind(accountId).all<{ id: string }>()).results.map((r) => r.id));
  for (const shard of SHARDS.filter((s) => s !== home)) {
    const n = await shardDb(shard).prepare("SELECT count(*) AS n FROM webhook_attempts WHERE event_id IN (SELECT value FROM json_each(?))").bind(events).first<{ n: number }>();
    expect(n!.n, `attempts on shard ${shard}`).toBe(0);
  }
}
