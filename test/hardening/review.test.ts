// What an outside review broke in webhooks, keys and limits (issue 16): each finding, pinned at its cause.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { resealEndpointSecrets, SWEEP_GRACE_MS, sweepUndelivered } from "../../src/jobs/cron";
import { hmacSha256, sha256Hex, toHex } from "../../src/lib/crypto";
import { addressKey } from "../../src/pipeline/rate-limit";
import { decryptSecret } from "../../src/webhooks/secrets";
import type { DeliveryMessage } from "../../src/env";
import { call, callWithEnv, createCustomer, expectError, newKey } from "../helpers";
import { accountWithEndpoint, consume, eventRow, recordingQueue, SECRET } from "../webhooks/helpers";

const ok = () => new Response("ok");
const endpointRow = (id: string) =>
  env.DB.prepare("SELECT url, secret, previous_secret FROM webhook_endpoints WHERE id = ?").bind(id).first<{ url: string; secret: string; previous_secret: string | null }>();

describe("1. endpoint PATCHes are one atomic statement", () => {
  it("10 pairs of concurrent PATCH {url} and PATCH {secret}: every pair keeps both changes, the replaced secret as the previous one", async () => {
    const { api, endpoint } = await accountWithEndpoint();
    let secret = SECRET;
    for (let i = 0; i < 10; i++) {
      const url = `https://pair${i}.example/hooks`;
      const next = `rotated-secret-${i}-0123456789`;
      const [a, b] = await Promise.all([
        api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { url } }),
        api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { secret: next } }),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);
      const row = (await endpointRow(endpoint.id))!;
      expect(row.url).toBe(url);
      expect(await decryptSecret(env, row.secret)).toBe(next);
      expect(await decryptSecret(env, row.previous_secret!)).toBe(secret);
      secret = next;
    }
  });

  it("a keyed PATCH replays the endpoint as it was answered, rendered in the same batch", async () => {
    const { api, endpoint } = await accountWithEndpoint();
    const headers = { "Idempotency-Key": "patch-secret-only" };
    const first = await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { secret: "another-secret-000" }, headers });
    const replay = await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { secret: "another-secret-000" }, headers });
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await replay.text()).toBe(await first.text());
  });
});

describe("2. fingerprints and erasure confirm nothing", () => {
  it("stores an HMAC under IDEMPOTENCY_SECRET, not a plain hash a guess could be checked against", async () => {
    const { key, accountId } = await newKey();
    const body = { url: "https://guess.example/hooks", secret: "password123" };
    expect((await call("/v1/webhook-endpoints", { key, json: body, headers: { "Idempotency-Key": "fp" } })).status).toBe(201);
    const { fingerprint } = (await env.DB.prepare("SELECT fingerprint FROM idempotency_keys WHERE account_id = ?").bind(accountId).first<{ fingerprint: string }>())!;
    const request = `POST /v1/webhook-endpoints\n${JSON.stringify(body)}`;
    expect(fingerprint).not.toBe(await sha256Hex(request));
    expect(fingerprint).toBe(toHex(hmacSha256(env.IDEMPOTENCY_SECRET, request)));
  });

  it("answers 503, never a 500 or an unkeyed fingerprint, when IDEMPOTENCY_SECRET is missing", async () => {
    const { key } = await newKey();
    const response = await callWithEnv({ IDEMPOTENCY_SECRET: "" }, "/v1/customers", { key, json: { email: "nokey@example.com" }, headers: { "Idempotency-Key": "k" } });
    await expectError(response, 503);
    expect((await callWithEnv({ IDEMPOTENCY_SECRET: "" }, "/v1/customers", { key, json: { email: "nokey@example.com" } })).status).toBe(201);
  });
});

describe("3. failures before an attempt are attempts", () => {
  it("an undecryptable secret is recorded as an attempt with its reason, counts against the schedule, and ends as failed", async () => {
    const { api, sent } = await accountWithEndpoint();
    await api("/v1/customers", { json: { email: "undecryptable@example.com" } });
    const message = sent.at(-1)!;
    const wrongKey = { WEBHOOK_SECRET_KEY: btoa("a-different-32-byte-key-entirely"), WEBHOOK_RETRY_DELAYS: "5", WEBHOOK_DEAD_LETTERS: recordingQueue().queue };
    const first = await consume([message], ok, wrongKey);
    expect(first.received).toEqual([]);
    expect(first.result.retryMessages).toEqual([{ msgId: "m0", delaySeconds: 5 }]);
    const dead = recordingQueue();
    const second = await consume([message], ok, { ...wrongKey, WEBHOOK_DEAD_LETTERS: dead.queue });
    expect(second.result.explicitAcks).toEqual(["m0"]);
    expect(dead.sent.map((m) => m.eventId)).toEqual([message.eventId]);
    expect(await eventRow(message.eventId)).toMatchObject({ delivery: "failed", attempts: 2 });
    const attempts = await env.DB.prepare("SELECT attempt, status, error FROM webhook_attempts WHERE event_id = ? ORDER BY attempt").bind(message.eventId).all<{ error: string }>();
    expect(attempts.results).toHaveLength(2);
    for (const a of attempts.results) expect(a.error).toMatch(/^Not sent: the endpoint's signing secret could not be decrypted/);
  });

  it("a message naming a shard this deployment lacks is dead-lettered once, with a log line, not retried", async () => {
    const dead = recordingQueue();
    const message: DeliveryMessage = { eventId: "webhook_event_0000000000000000000000", accountId: "acct_x", testmode: true, shard: 7 };
    const { result } = await consume([message], ok, { WEBHOOK_DEAD_LETTERS: dead.queue });
    expect(result.explicitAcks).toEqual(["m0"]);
    expect(result.retryMessages).toEqual([]);
    expect(dead.sent).toEqual([message]);
  });

  it("refuses a WEBHOOK_SECRET_KEY that is not 32 bytes: no endpoint is written under an AES-128 key", async () => {
    const { key, accountId } = await newKey();
    const short = { WEBHOOK_SECRET_KEY: btoa("only-sixteen-byt") };
    await expectError(await callWithEnv(short, "/v1/webhook-endpoints", { key, json: { url: "https://k.example/h", secret: SECRET } }), 503);
    expect(await env.DB.prepare("SELECT id FROM webhook_endpoints WHERE account_id = ?").bind(accountId).first()).toBeNull();
  });

  it("rotates WEBHOOK_SECRET_KEY: the previous key still opens old secrets, the sweep re-encrypts them, then the new key alone suffices", async () => {
    const { api, sent, endpoint } = await accountWithEndpoint();
    const newKeyB64 = btoa("the-new-32-byte-webhook-key-0001");
    const rotating = { WEBHOOK_SECRET_KEY: newKeyB64, WEBHOOK_SECRET_KEY_PREVIOUS: env.WEBHOOK_SECRET_KEY };
    await api("/v1/customers", { json: { email: "rotation@example.com" } });
    const during = await consume([sent.at(-1)!], ok, rotating);
    expect(during.received).toHaveLength(1);
    const { resealed } = await resealEndpointSecrets({ ...env, ...rotating });
    expect(resealed).toBeGreaterThanOrEqual(1);
    const row = (await endpointRow(endpoint.id))!;
    expect(await decryptSecret({ ...env, WEBHOOK_SECRET_KEY: newKeyB64, WEBHOOK_SECRET_KEY_PREVIOUS: "" }, row.secret)).toBe(SECRET);
  });
});

describe("4. a delivery belongs to the endpoint it was for", () => {
  it("an endpoint deleted with a retry pending, a new one created: the old event never reaches the new one", async () => {
    const { api, sent, endpoint } = await accountWithEndpoint();
    await api("/v1/customers", { json: { email: "bound@example.com" } });
    const message = sent.at(-1)!;
    await consume([message], () => new Response("down", { status: 500 }));
    expect((await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await api("/v1/webhook-endpoints", { json: { url: "https://successor.example/hooks", secret: "successor-secret-1" } })).status).toBe(201);
    const { received, result } = await consume([message], ok);
    expect(received).toEqual([]);
    expect(result.explicitAcks).toEqual(["m0"]);
    expect(await eventRow(message.eventId)).toMatchObject({ delivery: "none" });
  });
});

describe("5. live endpoints name public hosts", () => {
  it("refuses loopback, private, link-local, metadata, numeric and single-label hosts, and control characters, in live mode", async () => {
    const live = await newKey({ mode: "live" });
    const urls = [
      "https://localhost/h", "https://127.0.0.1/h", "https://[::1]/h", "https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/h",
      "https://0x7f000001/h", "https://2130706433/h", "https://intranet/h", "https://100.64.0.1/h", "https://192.168.1.1/h", "https://172.20.0.1/h",
      "https://0.0.0.0/h", "https://metadata.google.internal/h", "https://printer.local/h", "https://a.example/h\n", "https://a.exa\tmple/h", "https://a.example/ h",
    ];
    for (const url of urls) {
      const error = await expectError(await call("/v1/webhook-endpoints", { key: live.key, json: { url, secret: SECRET } }), 422);
      expect(Object.keys(error.errors!), url).toEqual(["url"]);
    }
    expect((await call("/v1/webhook-endpoints", { key: live.key, json: { url: "https://hooks.merchant.example/v1", secret: SECRET } })).status).toBe(201);
  });

  it("keeps test mode usable for local receivers (http, localhost, 127.0.0.1)", async () => {
    for (const url of ["http://127.0.0.1:4242/webhooks", "http://localhost:4242/webhooks"]) {
      expect((await call("/v1/webhook-endpoints", { key: (await newKey()).key, json: { url, secret: SECRET } })).status, url).toBe(201);
    }
  });
});

describe("6. queue messages are handled one by one", () => {
  it("a malformed message is acknowledged alone; the good ones beside it are delivered once and acknowledged", async () => {
    const { api, sent } = await accountWithEndpoint();
    await api("/v1/customers", { json: { email: "good1@example.com" } });
    await api("/v1/customers", { json: { email: "good2@example.com" } });
    const [a, b] = sent.slice(-2) as [DeliveryMessage, DeliveryMessage];
    const { result, received } = await consume([a, null as unknown as DeliveryMessage, { eventId: 5 } as unknown as DeliveryMessage, b], ok);
    expect(result.retryMessages).toEqual([]);
    expect([...result.explicitAcks].sort()).toEqual(["m0", "m1", "m2", "m3"]);
    expect(received).toHaveLength(2);
  });
});

describe("7. revoked keys are rate-limited", () => {
  it("30 requests with a revoked key at a limit of 10 get 429s, not 30 403s", async () => {
    const { key } = await newKey({ revoked: true });
    const limited = { AUTH_RATE_LIMITER: env.TEST_AUTH_RATE_LIMITER, RATE_LIMIT_PERIOD_SECONDS: "10" };
    const address = `198.51.100.${Math.floor(Math.random() * 200)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await callWithEnv(limited, "/v1/customers", { key, headers: { "CF-Connecting-IP": address } })).status);
    expect(statuses.filter((s) => s === 403).length).toBeLessThanOrEqual(10);
    expect(statuses).toContain(429);
  });
});

describe("8. an error is never much larger than its request", () => {
  it("a PATCH with 60,000 unknown keys gets a 422 naming at most 50 of them", async () => {
    const { key } = await newKey();
    const { id } = await createCustomer(key, { email: "big422@example.com" });
    const body = Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, 1]));
    const response = await call(`/v1/customers/${id}`, { method: "PATCH", key, json: body });
    const text = await response.clone().text();
    const error = await expectError(response, 422);
    expect(Object.keys(error.errors!)).toHaveLength(50);
    expect(text.length).toBeLessThan(JSON.stringify(body).length / 10);
  });
});

describe("9. PATCH metadata [] clears it", () => {
  it("as null does, for PHP clients that send an empty array", async () => {
    const { key } = await newKey();
    const { id } = await createCustomer(key, { email: "emptyarray@example.com", metadata: { a: "1", b: "2" } });
    const response = await call(`/v1/customers/${id}`, { method: "PATCH", key, json: { metadata: [] } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { metadata: object }).metadata).toEqual({});
  });
});

describe("10. the sweep drains a backlog and never doubles an attempt", () => {
  it("re-sends more than 500 overdue events in one run", async () => {
    const { accountId } = await accountWithEndpoint();
    const now = Date.now();
    const insert = env.DB.prepare(
      "INSERT INTO webhook_events (id, account_id, testmode, event_name, entity_id, body, created_at, delivery, attempts, next_attempt_at) VALUES (?, ?, 1, 'customer.created', 'cus_x', '{}', ?, 'pending', 0, ?)",
    );
    const ids = Array.from({ length: 1_200 }, (_, i) => `webhook_event_backlog${String(i).padStart(9, "0")}${accountId.slice(-1)}`);
    for (let i = 0; i < ids.length; i += 100) await env.DB.batch(ids.slice(i, i + 100).map((id) => insert.bind(id, accountId, now - 3_600_000, now - 3_600_000)));
    const swept = recordingQueue();
    await sweepUndelivered({ ...env, WEBHOOK_QUEUE: swept.queue }, now);
    expect(swept.sent.filter((m) => m.accountId === accountId)).toHaveLength(1_200);
  });

  it("a late retry and the sweep's message for the same attempt: one POST, the other message dropped", async () => {
    const { api, sent } = await accountWithEndpoint();
    await api("/v1/customers", { json: { email: "twice@example.com" } });
    const message = sent.at(-1)!;
    await consume([message], () => new Response("down", { status: 500 }));
    // The retry is more than the grace late: the sweep sends the event again, and then the retry arrives too.
    const swept = recordingQueue();
    await sweepUndelivered({ ...env, WEBHOOK_QUEUE: swept.queue }, Date.now() + 30_000 + SWEEP_GRACE_MS + 60_000);
    const again = swept.sent.filter((m) => m.eventId === message.eventId);
    expect(again).toHaveLength(1);
    const { received } = await consume([again[0]!, message], ok, {}, 2);
    expect(received).toHaveLength(1);
    expect(await eventRow(message.eventId)).toMatchObject({ delivery: "delivered", attempts: 2 });
  });
});

describe("11. unauthenticated requests are counted per IPv6 /64", () => {
  it("maps every address of one /64 to one key, and other networks apart", () => {
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe(addressKey("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    expect(addressKey("2001:0db8:0001:0002::")).toBe(addressKey("2001:db8:1:2::9"));
    expect(addressKey("2001:db8:1:3::1")).not.toBe(addressKey("2001:db8:1:2::1"));
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("203.0.113.7")).toBe("203.0.113.7");
    expect(addressKey(null)).toBe("unknown");
  });

  it("rotating through one /64 does not walk around the limit", async () => {
    const limited = { AUTH_RATE_LIMITER: env.TEST_AUTH_RATE_LIMITER, RATE_LIMIT_PERIOD_SECONDS: "10" };
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:1`;
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      statuses.push((await callWithEnv(limited, "/v1/customers", { key: `test_${"r".repeat(36)}${String(i).padStart(4, "0")}`, headers: { "CF-Connecting-IP": `${prefix}::${i + 1}` } })).status);
    }
    expect(statuses).toContain(429);
  });
});

describe("what the mutation test found unpinned", () => {
  it("one account with a test and a live endpoint: each event goes to the endpoint of its own mode only", async () => {
    const test = await newKey();
    const live = await newKey({ accountId: test.accountId, mode: "live" });
    const { sent, queue } = recordingQueue();
    const api = (key: string, path: string, json?: unknown) => callWithEnv({ WEBHOOK_QUEUE: queue }, path, { key, json });
    expect((await api(test.key, "/v1/webhook-endpoints", { url: "https://test-mode.example/h", secret: SECRET })).status).toBe(201);
    expect((await api(live.key, "/v1/webhook-endpoints", { url: "https://live-mode.example/h", secret: SECRET })).status).toBe(201);
    await api(test.key, "/v1/customers", { email: "t@example.com" });
    const testEvent = sent.at(-1)!;
    await api(live.key, "/v1/customers", { email: "l@example.com" });
    const liveEvent = sent.at(-1)!;
    expect([testEvent.testmode, liveEvent.testmode]).toEqual([true, false]);
    expect((await consume([testEvent], ok)).received.map((r) => r.url)).toEqual(["https://test-mode.example/h"]);
    expect((await consume([liveEvent], ok)).received.map((r) => r.url)).toEqual(["https://live-mode.example/h"]);
  });

  it("a write on shard 1 is delivered through the message it enqueues itself, which names shard 1", async () => {
    const { key, accountId } = await newKey({ shard: 1 });
    const { sent, queue } = recordingQueue();
    expect((await callWithEnv({ WEBHOOK_QUEUE: queue }, "/v1/webhook-endpoints", { key, json: { url: "https://shard1.example/h", secret: SECRET } })).status).toBe(201);
    await callWithEnv({ WEBHOOK_QUEUE: queue }, "/v1/customers", { key, json: { email: "s1@example.com" } });
    const message = sent.at(-1)!;
    expect(message).toMatchObject({ accountId, shard: 1 });
    const { received } = await consume([message], ok);
    expect(received).toHaveLength(1);
    const row = await env.DB_1.prepare("SELECT delivery FROM webhook_events WHERE id = ?").bind(message.eventId).first<{ delivery: string }>();
    expect(row).toEqual({ delivery: "delivered" });
  });

  it("no answer about an endpoint (create, retrieve, list, update, replay) holds the secret or its ciphertext", async () => {
    const { key, accountId } = await newKey();
    const headers = { "Idempotency-Key": "no-secret-anywhere" };
    const answers = [await call("/v1/webhook-endpoints", { key, json: { url: "https://s.example/h", secret: SECRET }, headers })];
    answers.push(await call("/v1/webhook-endpoints", { key, json: { url: "https://s.example/h", secret: SECRET }, headers }));
    const { id } = (await answers[0]!.clone().json()) as { id: string };
    answers.push(await call(`/v1/webhook-endpoints/${id}`, { key }), await call("/v1/webhook-endpoints", { key }));
    answers.push(await call(`/v1/webhook-endpoints/${id}`, { key, method: "PATCH", json: { secret: "rotated-secret-000" }, headers: { "Idempotency-Key": "rot" } }));
    answers.push(await call(`/v1/webhook-endpoints/${id}`, { key, method: "PATCH", json: { secret: "rotated-secret-000" }, headers: { "Idempotency-Key": "rot" } }));
    const row = (await env.DB.prepare("SELECT secret, previous_secret FROM webhook_endpoints WHERE account_id = ?").bind(accountId).first<{ secret: string; previous_secret: string }>())!;
    for (const answer of answers) {
      const text = await answer.text();
      for (const secret of [SECRET, "rotated-secret-000", row.secret, row.previous_secret]) expect(text).not.toContain(secret);
    }
  });

  it("events through a test key never include the same account's live events, and the reverse", async () => {
    const test = await newKey();
    const live = await newKey({ accountId: test.accountId, mode: "live" });
    await createCustomer(test.key, { email: "mode-t@example.com" });
    await createCustomer(live.key, { email: "mode-l@example.com" });
    for (const [own, other] of [[test, live], [live, test]] as const) {
      const list = (await (await call("/v1/webhook-events", { key: own.key })).json()) as { data: { id: string; testmode: boolean }[] };
      expect(list.data.length).toBeGreaterThan(0);
      expect(list.data.every((e) => e.testmode === (own.mode === "test"))).toBe(true);
      for (const event of list.data) await expectError(await call(`/v1/webhook-events/${event.id}`, { key: other.key }), 404);
    }
  });
});
