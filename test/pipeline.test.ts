// The router's cross-cutting stages, each safety rule guarded by a second, independent test.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUpIdempotencyKeys } from "../src/jobs/cron";
import { KEY_CACHE_MS } from "../src/pipeline/auth";
import { IDEMPOTENCY_WINDOW_MS } from "../src/pipeline/idempotency.repository";
import { KEY_PREFIX } from "../src/lib/api-keys";
import { sha256Hex } from "../src/lib/crypto";
import { call, callWithEnv, createCustomer, expectError, newKey } from "./helpers";

afterEach(() => void vi.useRealTimers());

describe("key cache", () => {
  it("stops honouring a revoked key once the cache lifetime has passed", async () => {
    const { key } = await newKey();
    expect((await callWithEnv({}, "/v1/customers", { key })).status).toBe(200);
    const name = KEY_PREFIX + (await sha256Hex(key));
    const stored = (await env.API_KEYS.get(name, "json")) as Record<string, unknown>;
    await env.API_KEYS.put(name, JSON.stringify({ ...stored, revokedAt: new Date().toISOString() }));
    // Within the lifetime the isolate still trusts its cached answer ...
    expect((await callWithEnv({}, "/v1/customers", { key })).status).toBe(200);
    // ... and past it, KV is asked again.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + KEY_CACHE_MS + 1_000);
    await expectError(await callWithEnv({}, "/v1/customers", { key }), 403, "This API key has been revoked.");
  });

  it("forgets an unknown key after its lifetime, so a key created later works", async () => {
    const { key } = await newKey();
    const name = KEY_PREFIX + (await sha256Hex(key));
    const stored = await env.API_KEYS.get(name);
    await env.API_KEYS.delete(name);
    await expectError(await callWithEnv({}, "/v1/customers", { key }), 401);
    await env.API_KEYS.put(name, stored!);
    await expectError(await callWithEnv({}, "/v1/customers", { key }), 401);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + KEY_CACHE_MS + 1_000);
    expect((await callWithEnv({}, "/v1/customers", { key })).status).toBe(200);
  });
});

describe("key cache under a flood of guessed keys", () => {
  it("keeps serving a known key from the isolate cache while a thousand unknown ones are tried", async () => {
    const { key } = await newKey();
    expect((await callWithEnv({}, "/v1/customers", { key })).status).toBe(200);
    await env.API_KEYS.delete(KEY_PREFIX + (await sha256Hex(key))); // from now on only the cache knows it
    for (let i = 0; i < 1_100; i++) await callWithEnv({}, "/v1/customers", { key: `test_${"f".repeat(30)}${String(i).padStart(6, "0")}` });
    expect((await callWithEnv({}, "/v1/customers", { key })).status).toBe(200);
  });
});

describe("mode and prefix", () => {
  it("refuses a live-prefixed key whose record says test, and a test-prefixed key whose record says live", async () => {
    for (const [prefix, recorded] of [["live", "test"], ["test", "live"]] as const) {
      const { key } = await newKey({ mode: recorded });
      const swapped = `${prefix}_${key.slice(5)}`;
      await env.API_KEYS.put(KEY_PREFIX + (await sha256Hex(swapped)), (await env.API_KEYS.get(KEY_PREFIX + (await sha256Hex(key))))!);
      await expectError(await call("/v1/customers", { key: swapped, json: { email: "m@example.com" } }), 401, "Unauthenticated.");
    }
  });
});

describe("idempotency scope", () => {
  it("lets the live key of an account reuse a test request's key for a different body (no 409)", async () => {
    const test = await newKey();
    const live = await newKey({ accountId: test.accountId, mode: "live" });
    const headers = { "Idempotency-Key": "mode-scoped" };
    expect((await call("/v1/customers", { key: test.key, json: { email: "t@example.com" }, headers })).status).toBe(201);
    const other = await call("/v1/customers", { key: live.key, json: { email: "different@example.com" }, headers });
    expect(other.status).toBe(201);
    expect(((await other.json()) as { testmode: boolean }).testmode).toBe(false);
  });

  it("fingerprints the canonical path: /v1/customers/ replays what /v1/customers created", async () => {
    const { key } = await newKey();
    const headers = { "Idempotency-Key": "slash" };
    const first = await call("/v1/customers", { key, json: { email: "slash@example.com" }, headers });
    const again = await call("/v1/customers/", { key, json: { email: "slash@example.com" }, headers });
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.headers.get("Location")).toBe(first.headers.get("Location"));
    expect(again.headers.get("ETag")).toBe(first.headers.get("ETag"));
    expect(await again.json()).toEqual(await first.json());
  });

  it("settles a key inside the write's own batch: a keyed create, its replay and its 409 each cost one D1 round trip", async () => {
    const { key } = await newKey();
    let trips = 0;
    // Every round trip a session makes: a batch, or a single statement's first/all/run/raw.
    const counting = (session: D1DatabaseSession) => ({
      getBookmark: () => session.getBookmark(),
      batch: (statements: D1PreparedStatement[]) => (trips++, session.batch(statements)),
      prepare: (sql: string) => {
        const wrap = (statement: D1PreparedStatement): D1PreparedStatement => new Proxy(statement, {
          get: (target, prop) => {
            if (prop === "bind") return (...args: unknown[]) => wrap(target.bind(...args));
            if (["first", "all", "run", "raw"].includes(String(prop))) return (...args: unknown[]) => (trips++, (target as never as Record<string, (...a: unknown[]) => unknown>)[String(prop)]!(...args));
            return Reflect.get(target, prop);
          },
        });
        return wrap(session.prepare(sql));
      },
    });
    const DB = { ...env.DB, withSession: (constraint?: string) => counting(env.DB.withSession(constraint)) as unknown as D1DatabaseSession } as D1Database;
    const headers = { "Idempotency-Key": "one-trip" };
    const tripsOf = async (json: unknown) => {
      trips = 0;
      const response = await callWithEnv({ DB }, "/v1/customers", { key, json, headers });
      return { status: response.status, replayed: response.headers.get("Idempotent-Replayed"), trips };
    };
    expect(await tripsOf({ email: "one-trip@example.com" })).toEqual({ status: 201, replayed: null, trips: 1 });
    expect(await tripsOf({ email: "one-trip@example.com" })).toEqual({ status: 201, replayed: "true", trips: 1 });
    expect(await tripsOf({ email: "other-trip@example.com" })).toEqual({ status: 409, replayed: null, trips: 1 });
  });
});

describe("rate limits before any work", () => {
  const limited = { RATE_LIMITER: env.TEST_RATE_LIMITER, AUTH_RATE_LIMITER: env.TEST_AUTH_RATE_LIMITER, RATE_LIMIT_PERIOD_SECONDS: "10" };

  it("counts per account and mode: two live keys of one account share a limit, its test key does not", async () => {
    const live1 = await newKey({ mode: "live" });
    const live2 = await newKey({ mode: "live", accountId: live1.accountId });
    const test = await newKey({ accountId: live1.accountId });
    let answered429 = false;
    for (let i = 0; i < 25 && !answered429; i++) {
      answered429 = (await callWithEnv(limited, "/v1/customers", { key: i % 2 ? live1.key : live2.key })).status === 429;
    }
    expect(answered429).toBe(true);
    await expectError(await callWithEnv(limited, "/v1/customers", { key: live2.key }), 429);
    expect((await callWithEnv(limited, "/v1/customers", { key: test.key })).status).toBe(200);
  });

  it("limits requests without a valid key per client address before KV is read, leaving other addresses alone", async () => {
    let kvReads = 0;
    const API_KEYS = new Proxy(env.API_KEYS, {
      get: (target, prop) => (prop === "get" ? (...args: unknown[]) => (kvReads++, (target.get as (...a: unknown[]) => unknown)(...args)) : Reflect.get(target, prop).bind(target)),
    });
    const address = `198.51.100.${Math.floor(Math.random() * 200)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const guess = `test_${"g".repeat(30)}${String(i).padStart(4, "0")}`;
      statuses.push((await callWithEnv({ ...limited, API_KEYS }, "/v1/customers", { key: guess, headers: { "CF-Connecting-IP": address } })).status);
    }
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(10);
    expect(kvReads).toBe(statuses.filter((s) => s === 401).length);
    const { key } = await newKey();
    expect((await callWithEnv(limited, "/v1/customers", { key, headers: { "CF-Connecting-IP": "203.0.113.9" } })).status).toBe(200);
  });
});

describe("the public OpenAPI document", () => {
  it("is limited per client address like any request without a key", async () => {
    const limited = { AUTH_RATE_LIMITER: env.TEST_AUTH_RATE_LIMITER, RATE_LIMIT_PERIOD_SECONDS: "10" };
    const address = `192.0.2.${Math.floor(Math.random() * 200)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) statuses.push((await callWithEnv(limited, "/v1/openapi.json", { headers: { "CF-Connecting-IP": address } })).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses).toContain(429);
    expect((await callWithEnv(limited, "/v1/openapi.json", { headers: { "CF-Connecting-IP": "192.0.2.250" } })).status).toBe(200);
  });
});

describe("list email filter", () => {
  it("refuses a whitespace-only email filter with a 422 on email", async () => {
    const { key } = await newKey();
    await createCustomer(key, { email: "w@example.com" });
    const error = await expectError(await call("/v1/customers?email=%20%20", { key }), 422);
    expect(Object.keys(error.errors!)).toEqual(["email"]);
  });
});

describe("cron cutoff", () => {
  it("removes records older than 24 hours at the scheduled time and keeps those younger, to the minute", async () => {
    const { accountId } = await newKey();
    const now = Date.now();
    for (const [key, age] of [["just-expired", IDEMPOTENCY_WINDOW_MS + 60_000], ["just-kept", IDEMPOTENCY_WINDOW_MS - 60_000]] as const) {
      await env.DB.prepare("INSERT INTO idempotency_keys (account_id, testmode, key, fingerprint, status, body, created_at) VALUES (?, 1, ?, 'f', 201, '{}', ?)")
        .bind(accountId, key, now - age).run();
    }
    await cleanUpIdempotencyKeys(env, now);
    const left = await env.DB.prepare("SELECT key FROM idempotency_keys WHERE account_id = ?").bind(accountId).all<{ key: string }>();
    expect(left.results.map((r) => r.key)).toEqual(["just-kept"]);
  });
});
