import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, newKey } from "../helpers";
import { accountWithEndpoint, SECRET } from "./helpers";

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
});
