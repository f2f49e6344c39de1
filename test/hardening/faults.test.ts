import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callWithEnv, expectError, newKey } from "../helpers";

const UNEXPECTED = "An unexpected error occurred. Please try again later.";

/** The binding with one method replaced. */
function withMethod<T extends object>(target: T, name: string, replacement: (...args: unknown[]) => unknown): T {
  return new Proxy(target, {
    get(t, prop) {
      if (prop === name) return replacement;
      const value = Reflect.get(t, prop);
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
}

/** D1 whose sessions (every request's queries go through one) fail in `method`. */
const failingD1 = (method: "prepare" | "batch", replacement: (...args: unknown[]) => unknown) =>
  withMethod(env.DB, "withSession", (...args: unknown[]) => withMethod(env.DB.withSession(...(args as [string])), method, replacement));

const counts = async (accountId: string) =>
  env.DB.prepare("SELECT (SELECT count(*) FROM customers WHERE account_id = ?1) AS customers, (SELECT count(*) FROM idempotency_keys WHERE account_id = ?1) AS records")
    .bind(accountId)
    .first<{ customers: number; records: number }>();

async function expectCleanFailure(response: Response) {
  const body = await expectError(response, 500, UNEXPECTED);
  expect(Object.keys(body)).toEqual(["message"]);
  expect(response.headers.get("X-Request-Id")).toMatch(/^req_/);
}

describe("faults", () => {
  it("answers a clean 500 when D1 throws, on every route", async () => {
    const { key } = await newKey();
    const DB = failingD1("prepare", () => { throw new Error("D1_ERROR: simulated outage"); });
    await expectCleanFailure(await callWithEnv({ DB }, "/v1/customers", { key }));
    await expectCleanFailure(await callWithEnv({ DB }, "/v1/customers/cus_0000000000000000000000", { key }));
    await expectCleanFailure(await callWithEnv({ DB }, "/v1/customers", { key, json: { email: "x@example.com" } }));
  });

  it("leaves no customer and no idempotency record when the write batch fails", async () => {
    const { key, accountId } = await newKey();
    const DB = failingD1("batch", async () => { throw new Error("D1_ERROR: simulated failure during batch"); });
    await expectCleanFailure(await callWithEnv({ DB }, "/v1/customers", { key, json: { email: "x@example.com" }, headers: { "Idempotency-Key": "fault-1" } }));
    expect(await counts(accountId)).toEqual({ customers: 0, records: 0 });
    // The client retries with the same key once D1 is back, and gets a fresh create.
    const retry = await callWithEnv({}, "/v1/customers", { key, json: { email: "x@example.com" }, headers: { "Idempotency-Key": "fault-1" } });
    expect(retry.status).toBe(201);
    expect(await counts(accountId)).toEqual({ customers: 1, records: 1 });
  });

  it("rolls back the idempotency record when the customer insert in the same batch fails", async () => {
    const { key, accountId } = await newKey();
    expect((await callWithEnv({}, "/v1/customers", { key, json: { email: "taken@example.com" } })).status).toBe(201);
    await expectError(await callWithEnv({}, "/v1/customers", { key, json: { email: "TAKEN@example.com" }, headers: { "Idempotency-Key": "fault-2" } }), 422);
    expect(await counts(accountId)).toEqual({ customers: 1, records: 0 });
  });

  it("answers a clean 500, and lets nobody in, when KV throws", async () => {
    const API_KEYS = withMethod(env.API_KEYS, "get", async () => { throw new Error("KV GET failed: simulated outage"); });
    const known = await newKey();
    await expectCleanFailure(await callWithEnv({ API_KEYS }, "/v1/customers", { key: known.key }));
    await expectCleanFailure(await callWithEnv({ API_KEYS }, "/v1/customers", { key: `test_${"z".repeat(40)}` }));
  });

  it("still answers correctly when KV is slow", async () => {
    const { key } = await newKey();
    const API_KEYS = withMethod(env.API_KEYS, "get", async (...args: unknown[]) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return (env.API_KEYS.get as (...a: unknown[]) => unknown)(...args);
    });
    expect((await callWithEnv({ API_KEYS }, "/v1/customers", { key })).status).toBe(200);
    await expectError(await callWithEnv({ API_KEYS }, "/v1/customers", { key: `test_${"y".repeat(40)}` }), 401);
  });
});
