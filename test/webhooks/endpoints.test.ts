import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, callWithEnv, expectError, newKey, type CallOptions } from "../helpers";
import { accountWithEndpoint, recordingQueue, SECRET } from "./helpers";

const create = (key: string, json: unknown, headers: Record<string, string> = {}) => call("/v1/webhook-endpoints", { key, json, headers });

describe("/v1/webhook-endpoints", () => {
  it("creates the endpoint: 201 with the WebhookEndpoint, never the secret", async () => {
    const { key } = await newKey();
    const response = await create(key, { url: "https://merchant.example/hooks", secret: SECRET });
    expect(response.status).toBe(201);
    const text = await response.clone().text();
    expect(text).not.toContain(SECRET);
    const endpoint = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(endpoint)).toEqual(["id", "resource", "testmode", "url", "createdAt", "links"]);
    expect(endpoint).toMatchObject({ resource: "webhook_endpoint", testmode: true, url: "https://merchant.example/hooks" });
    expect(endpoint.id).toMatch(/^webhook_[0-9A-Za-z]{22}$/);
    expect(response.headers.get("Location")).toBe((endpoint.links as { self: { href: string } }).self.href);
  });

  it("stores the secret encrypted, never in plain text", async () => {
    const { key, accountId } = await newKey();
    expect((await create(key, { url: "https://m.example/h", secret: SECRET })).status).toBe(201);
    const row = await env.DB.prepare("SELECT secret FROM webhook_endpoints WHERE account_id = ?").bind(accountId).first<{ secret: string }>();
    expect(row!.secret).not.toContain(SECRET);
    expect(row!.secret).not.toContain(btoa(SECRET));
    expect(row!.secret.length).toBeGreaterThan(SECRET.length);
  });

  it("allows one endpoint per account and mode: a second POST is a 422 on url", async () => {
    const { key, accountId } = await newKey();
    expect((await create(key, { url: "https://a.example/h", secret: SECRET })).status).toBe(201);
    const error = await expectError(await create(key, { url: "https://b.example/h", secret: SECRET }), 422);
    expect(Object.keys(error.errors!)).toEqual(["url"]);
    const live = await newKey({ accountId, mode: "live" });
    expect((await create(live.key, { url: "https://b.example/h", secret: SECRET })).status).toBe(201);
  });

  it("validates url and secret: absolute http(s), no user or password, at most 2048; https only in live mode; secret 10 to 255 characters", async () => {
    const { key } = await newKey();
    const live = await newKey({ mode: "live" });
    const bad = [
      [key, { url: "/relative", secret: SECRET }, "url"],
      [key, { url: "ftp://x.example/h", secret: SECRET }, "url"],
      [key, { url: "https://user:pw@x.example/h", secret: SECRET }, "url"],
      [key, { url: `https://x.example/${"a".repeat(2040)}`, secret: SECRET }, "url"],
      [key, { secret: SECRET }, "url"],
      [key, { url: "https://x.example/h", secret: "short" }, "secret"],
      [key, { url: "https://x.example/h", secret: "x".repeat(256) }, "secret"],
      [key, { url: "https://x.example/h" }, "secret"],
      [live.key, { url: "http://x.example/h", secret: SECRET }, "url"],
    ] as const;
    for (const [k, body, field] of bad) {
      const error = await expectError(await create(k, body), 422);
      expect(Object.keys(error.errors!), JSON.stringify(body)).toEqual([field]);
    }
    expect((await create(key, { url: "http://127.0.0.1:4242/hooks", secret: "🔑".repeat(10) })).status).toBe(201);
    expect((await create(live.key, { url: "https://x.example/h", secret: SECRET })).status).toBe(201);
  });

  it("lists (at most one), retrieves, updates and deletes, each scoped to the account and mode", async () => {
    const { api, endpoint } = await accountWithEndpoint();
    const list = (await (await api("/v1/webhook-endpoints")).json()) as { data: { id: string }[]; count: number };
    expect(list.data.map((e) => e.id)).toEqual([endpoint.id]);
    expect(list.count).toBe(1);
    expect((await api(`/v1/webhook-endpoints/${endpoint.id}`)).status).toBe(200);
    const other = await newKey();
    await expectError(await call(`/v1/webhook-endpoints/${endpoint.id}`, { key: other.key }), 404);
    await expectError(await call(`/v1/webhook-endpoints/${endpoint.id}`, { key: other.key, method: "DELETE" }), 404);
    expect(((await (await call("/v1/webhook-endpoints", { key: other.key })).json()) as { count: number }).count).toBe(0);

    const updated = await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { url: "https://new.example/h" } });
    expect(((await updated.json()) as { url: string }).url).toBe("https://new.example/h");
    const unchanged = await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: {} });
    expect(((await unchanged.json()) as { url: string }).url).toBe("https://new.example/h");
    const refused = await expectError(await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { testmode: false } }), 422);
    expect(refused.errors).toEqual({ testmode: ["The testmode field cannot be updated."] });

    expect((await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "DELETE" })).status).toBe(204);
    await expectError(await api(`/v1/webhook-endpoints/${endpoint.id}`), 404);
    await expectError(await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "DELETE" }), 404);
  });

  it("honours Idempotency-Key on create, update and delete", async () => {
    const { key } = await newKey();
    const headers = { "Idempotency-Key": "ep-create" };
    const first = await create(key, { url: "https://i.example/h", secret: SECRET }, headers);
    const again = await create(key, { url: "https://i.example/h", secret: SECRET }, headers);
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    const { id } = (await first.clone().json()) as { id: string };
    expect(await again.json()).toEqual(await first.json());
    await expectError(await create(key, { url: "https://other.example/h", secret: SECRET }, headers), 409);
    const patch = () => call(`/v1/webhook-endpoints/${id}`, { key, method: "PATCH", json: { url: "https://j.example/h" }, headers: { "Idempotency-Key": "ep-patch" } });
    expect((await patch()).status).toBe(200);
    expect((await patch()).headers.get("Idempotent-Replayed")).toBe("true");
    const del = () => call(`/v1/webhook-endpoints/${id}`, { key, method: "DELETE", headers: { "Idempotency-Key": "ep-del" } });
    expect((await del()).status).toBe(204);
    const replay = await del();
    expect(replay.status).toBe(204);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
  });

  it("does not store the answer of a failed update or delete with the key", async () => {
    const { key } = await newKey();
    const missing = "webhook_0000000000000000000000";
    await expectError(await call(`/v1/webhook-endpoints/${missing}`, { key, method: "DELETE", headers: { "Idempotency-Key": "k-missing" } }), 404);
    const { id } = (await (await create(key, { url: "https://k.example/h", secret: SECRET })).json()) as { id: string };
    // Nothing was recorded for the 404, so the key is free for a delete that succeeds (another path: no 409).
    const done = await call(`/v1/webhook-endpoints/${id}`, { key, method: "DELETE", headers: { "Idempotency-Key": "k-missing" } });
    expect(done.status).toBe(204);
    expect(done.headers.get("Idempotent-Replayed")).toBeNull();
  });

  // Through a recording queue: what the API enqueues is counted, and nothing reaches the local queue's consumer.
  describe("concurrent writes", () => {
    const times = <T>(n: number, f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));
    const client = (key: string) => {
      const { sent, queue } = recordingQueue();
      const api = (path: string, options: CallOptions = {}) => callWithEnv({ WEBHOOK_QUEUE: queue }, path, { key, ...options });
      return { sent, api, create: (json: unknown, headers: Record<string, string> = {}) => api("/v1/webhook-endpoints", { json, headers }) };
    };
    const rows = async (accountId: string) =>
      (await env.DB.prepare("SELECT count(*) AS n FROM webhook_endpoints WHERE account_id = ?").bind(accountId).first<{ n: number }>())!.n;
    const setups = async (accountId: string) =>
      (await env.DB.prepare("SELECT count(*) AS n FROM webhook_events WHERE account_id = ? AND event_name = 'webhook.setup'").bind(accountId).first<{ n: number }>())!.n;

    it("10 creates at once make one endpoint; the others get the 422 on url (or, with one key, the same 201)", async () => {
      const { key, accountId } = await newKey();
      const racing = client(key);
      const statuses = (await times(10, (i) => racing.create({ url: `https://race${i}.example/h`, secret: SECRET }))).map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 422)).toHaveLength(9);
      expect(await rows(accountId)).toBe(1);
      expect(racing.sent).toHaveLength(1); // one webhook.setup, for the one that committed

      const keyed = await newKey();
      const same = client(keyed.key);
      const answers = await times(10, () => same.create({ url: "https://keyed.example/h", secret: SECRET }, { "Idempotency-Key": "ep-race" }));
      expect(answers.map((r) => r.status)).toEqual(Array(10).fill(201));
      expect(new Set(await Promise.all(answers.map((r) => r.text()))).size).toBe(1);
      expect(await rows(keyed.accountId)).toBe(1);
      expect(await setups(keyed.accountId)).toBe(1);
      expect(same.sent).toHaveLength(1);
    });

    it("10 updates or deletes at once with one key apply once and all get the same answer; without a key one delete wins", async () => {
      const { key, accountId } = await newKey();
      const { api, create: make, sent } = client(key);
      const { id } = (await (await make({ url: "https://u.example/h", secret: SECRET })).json()) as { id: string };
      const path = `/v1/webhook-endpoints/${id}`;
      const patches = await times(10, () => api(path, { method: "PATCH", json: { url: "https://v.example/h" }, headers: { "Idempotency-Key": "ep-patch-race" } }));
      expect(patches.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(new Set(await Promise.all(patches.map((r) => r.text()))).size).toBe(1);
      expect(await setups(accountId)).toBe(2); // the create's and the one url change's
      expect(sent).toHaveLength(2);

      const deletes = await times(10, () => api(path, { method: "DELETE", headers: { "Idempotency-Key": "ep-delete-race" } }));
      expect(deletes.map((r) => r.status)).toEqual(Array(10).fill(204));

      const other = await newKey();
      const second = client(other.key);
      const created = (await (await second.create({ url: "https://w.example/h", secret: SECRET })).json()) as { id: string };
      const unkeyed = await times(10, () => second.api(`/v1/webhook-endpoints/${created.id}`, { method: "DELETE" }));
      const statuses = unkeyed.map((r) => r.status);
      expect(statuses.filter((s) => s === 204)).toHaveLength(1);
      expect(statuses.filter((s) => s === 404)).toHaveLength(9);
      expect(await rows(other.accountId)).toBe(0);
    });
  });
});
