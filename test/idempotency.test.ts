import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../src/index";
import { describe, expect, it } from "vitest";
import { cleanUpIdempotencyKeys } from "../src/jobs/cron";
import { IDEMPOTENCY_WINDOW_MS } from "../src/pipeline/idempotency.repository";
import { call, expectError, newKey, type ListBody } from "./helpers";

const post = (key: string, idempotencyKey: string | undefined, json: unknown) =>
  call("/v1/customers", { key, json, headers: idempotencyKey === undefined ? {} : { "Idempotency-Key": idempotencyKey } });
/** Makes every idempotency record of the account older than the 24-hour window. */
const agePastWindow = (accountId: string) =>
  env.DB.prepare("UPDATE idempotency_keys SET created_at = created_at - ? WHERE account_id = ?").bind(IDEMPOTENCY_WINDOW_MS + 1000, accountId).run();
const recordsOf = async (accountId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM idempotency_keys WHERE account_id = ?").bind(accountId).first<{ n: number }>())!.n;
const count = async (key: string) => ((await (await call("/v1/customers", { key })).json()) as ListBody).count;

describe("Idempotency-Key on POST /v1/customers", () => {
  it("replays the stored status and body for the same key and request, creating one customer", async () => {
    const { key } = await newKey();
    const first = await post(key, "abcDEF0123456789", { email: "idem@example.com", metadata: { a: "b" } });
    expect(first.status).toBe(201);
    const created = await first.json();
    const again = await post(key, "abcDEF0123456789", { email: "idem@example.com", metadata: { a: "b" } });
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await again.json()).toEqual(created);
    expect(await count(key)).toBe(1);
  });

  it("answers 409 when the key is reused with a different body", async () => {
    const { key } = await newKey();
    expect((await post(key, "reuse-key", { email: "one@example.com" })).status).toBe(201);
    const error = await expectError(await post(key, "reuse-key", { email: "two@example.com" }), 409);
    expect(error.message).toMatch(/different request/);
    expect(await count(key)).toBe(1);
  });

  it("answers 409 to a reused key before validating the new body", async () => {
    const { key } = await newKey();
    expect((await post(key, "reuse-invalid", { email: "valid@example.com" })).status).toBe(201);
    await expectError(await post(key, "reuse-invalid", { email: "not an email" }), 409);
  });

  it("scopes keys to the account and mode", async () => {
    const a = await newKey();
    const aLive = await newKey({ accountId: a.accountId, mode: "live" });
    const b = await newKey();
    const ids = new Set<string>();
    for (const { key } of [a, aLive, b]) {
      const response = await post(key, "shared-key", { email: "scoped@example.com" });
      expect(response.status).toBe(201);
      expect(response.headers.get("Idempotent-Replayed")).toBeNull();
      ids.add(((await response.json()) as { id: string }).id);
    }
    expect(ids.size).toBe(3);
  });

  it("does not store failed requests, so the client may retry with the same key", async () => {
    const { key } = await newKey();
    await expectError(await post(key, "retry-key", { email: "not-an-email" }), 422);
    expect((await post(key, "retry-key", { email: "retry@example.com" })).status).toBe(201);

    await expectError(await post(key, "dup-key", { email: "retry@example.com" }), 422);
    const ok = await post(key, "dup-key", { email: "other@example.com" });
    expect(ok.status).toBe(201);
  });

  it("accepts 1 to 64 printable characters and refuses anything else with 400", async () => {
    const { key } = await newKey();
    expect((await post(key, "k", { email: "k1@example.com" })).status).toBe(201);
    expect((await post(key, "~".repeat(64), { email: "k64@example.com" })).status).toBe(201);
    expect((await post(key, "a b+/=:!", { email: "k3@example.com" })).status).toBe(201);
    // Only spaces arrives empty (HTTP trims header values): no key a client could have meant.
    for (const bad of ["x".repeat(65), "tab\tkey", "   "]) {
      await expectError(await post(key, bad, { email: "bad@example.com" }), 400, "The Idempotency-Key header must be 1 to 64 printable ASCII characters.");
    }
    expect(await count(key)).toBe(3);
  });

  it("forgets a key after 24 hours: the record expires and the cron removes it", async () => {
    const { key, accountId } = await newKey();
    expect((await post(key, "old-key", { email: "old@example.com" })).status).toBe(201);
    await agePastWindow(accountId);
    const reused = await post(key, "old-key", { email: "new@example.com" });
    expect(reused.status).toBe(201);
    expect(reused.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await count(key)).toBe(2);

    await agePastWindow(accountId);
    expect(await cleanUpIdempotencyKeys(env)).toBeGreaterThanOrEqual(1);
    expect(await recordsOf(accountId)).toBe(0);
  });

  it("runs the cleanup from the Worker's scheduled handler (the Cron Trigger in wrangler.toml)", async () => {
    const { key, accountId } = await newKey();
    expect((await post(key, "cron-key", { email: "cron@example.com" })).status).toBe(201);
    await agePastWindow(accountId);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "17 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await recordsOf(accountId)).toBe(0);
  });

  it("keeps records younger than 24 hours when the cron runs", async () => {
    const { key, accountId } = await newKey();
    expect((await post(key, "young-key", { email: "young@example.com" })).status).toBe(201);
    await cleanUpIdempotencyKeys(env);
    expect(await recordsOf(accountId)).toBe(1);
  });

  it("writes the customer and its record together", async () => {
    const { key, accountId } = await newKey();
    expect((await post(key, "pair-key", { email: "pair@example.com" })).status).toBe(201);
    const rows = await env.DB.prepare(
      "SELECT (SELECT count(*) FROM customers WHERE account_id = ?1) AS customers, (SELECT count(*) FROM idempotency_keys WHERE account_id = ?1) AS records",
    ).bind(accountId).first<{ customers: number; records: number }>();
    expect(rows).toEqual({ customers: 1, records: 1 });
  });
});
