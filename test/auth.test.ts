import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KEY_PREFIX } from "../src/lib/api-keys";
import { sha256Hex } from "../src/lib/crypto";
import { call, createCustomer, expectError, newKey } from "./helpers";

const routes = [
  ["GET", "/v1/customers"],
  ["POST", "/v1/customers"],
  ["GET", "/v1/customers/cus_0000000000000000000000"],
] as const;

describe("authentication", () => {
  it("answers 401 Unauthenticated with WWW-Authenticate when the header is missing, of another scheme, or the key is unknown", async () => {
    const unknown = `test_${"a".repeat(32)}`;
    const headerValues = [undefined, "", "Bearer", "Bearer ", `Basic ${btoa("test_x:")}`, `Token ${unknown}`, `Bearer ${unknown}`, `Bearer ${unknown} extra`, unknown];
    for (const [method, path] of routes) {
      for (const value of headerValues) {
        const headers: Record<string, string> = value === undefined ? {} : { Authorization: value };
        const response = await call(path, { method, headers, body: method === "POST" ? '{"email":"a@example.com"}' : undefined });
        await expectError(response, 401, "Unauthenticated.");
        expect(response.headers.get("WWW-Authenticate")).toBe("Bearer");
      }
    }
  });

  it("answers 403 when the bearer value does not start with live_ or test_", async () => {
    for (const [method, path] of routes) {
      for (const token of ["sk_test_123", "abc", "TEST_abcdefghijklmnopqrstuvwxyz", "live-abc", "_test_abc"]) {
        const response = await call(path, { method, headers: { Authorization: `Bearer ${token}` } });
        await expectError(response, 403, "Auth token must start with live_ or test_.");
        expect(response.headers.get("WWW-Authenticate")).toBeNull();
      }
    }
  });

  it("accepts the scheme in any case", async () => {
    const { key } = await newKey();
    expect((await call("/v1/customers", { headers: { Authorization: `bearer ${key}` } })).status).toBe(200);
  });

  it("answers 403 to a revoked key", async () => {
    const { key } = await newKey({ revoked: true });
    for (const [method, path] of routes) {
      await expectError(await call(path, { method, key }), 403, "This API key has been revoked.");
    }
  });

  it("refuses a key whose stored mode disagrees with its prefix", async () => {
    const { key } = await newKey({ mode: "test" });
    const liveLooking = `live_${key.slice(5)}`;
    const stored = await env.API_KEYS.get(KEY_PREFIX + (await sha256Hex(key)));
    await env.API_KEYS.put(KEY_PREFIX + (await sha256Hex(liveLooking)), stored!);
    await expectError(await call("/v1/customers", { key: liveLooking }), 401, "Unauthenticated.");
  });

  it("stores only a hash of the key in KV", async () => {
    const { key } = await newKey();
    const hash = await sha256Hex(key);
    const { keys } = await env.API_KEYS.list();
    expect(keys.map((k) => k.name)).toContain(KEY_PREFIX + hash);
    expect(keys.some((k) => k.name.includes(key))).toBe(false);
    expect(keys.some((k) => k.name === KEY_PREFIX)).toBe(false);
    for (const { name } of keys) {
      expect(name).toMatch(/^apikey:[0-9a-f]{64}$/);
      expect(await env.API_KEYS.get(name)).not.toContain(key.slice(5));
    }
  });

  it("serves a key seen in the last minute from the isolate cache, without reading KV again", async () => {
    const { key } = await newKey();
    await createCustomer(key, { email: "cached@example.com" });
    await env.API_KEYS.delete(KEY_PREFIX + (await sha256Hex(key)));
    expect((await call("/v1/customers", { key })).status).toBe(200);
  });

  it("resolves the account and mode from the key", async () => {
    const test = await newKey({ mode: "test" });
    const live = await newKey({ mode: "live", accountId: test.accountId });
    const created = await createCustomer(live.key, { email: "mode@example.com" });
    expect(created.testmode).toBe(false);
    await expectError(await call(`/v1/customers/${created.id}`, { key: test.key }), 404, "Customer not found.");
    expect((await call(`/v1/customers/${created.id}`, { key: live.key })).status).toBe(200);
  });
});
