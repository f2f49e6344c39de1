import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { KEY_PREFIX, type StoredKey } from "../src/lib/api-keys";
import { sha256Hex } from "../src/lib/crypto";
import type * as v from "valibot";
import type { CustomerListSchema, CustomerSchema } from "../src/customers/customer";
import { randomBase62 } from "../src/lib/ids";
import { expectDocumented } from "./openapi";

export const BASE = "http://api.test";

/** A fresh API key for a fresh (or given) account, stored in KV the way the CLI stores it: hash only. */
export async function newKey(options: { accountId?: string; mode?: "test" | "live"; revoked?: boolean; shard?: number } = {}) {
  const mode = options.mode ?? "test";
  const accountId = options.accountId ?? `acct_${randomBase62(12)}`;
  const key = `${mode}_${randomBase62(32)}`;
  const stored: StoredKey = {
    accountId, mode, createdAt: new Date().toISOString(), revokedAt: options.revoked ? new Date().toISOString() : null,
    ...(options.shard === undefined ? {} : { shard: options.shard }),
  };
  await env.API_KEYS.put(KEY_PREFIX + (await sha256Hex(key)), JSON.stringify(stored));
  return { key, accountId, mode };
}

export interface CallOptions {
  method?: string;
  key?: string;
  headers?: Record<string, string>;
  body?: BodyInit | null;
  json?: unknown;
}

export function buildRequest(path: string, options: CallOptions = {}): Request {
  const headers = new Headers(options.headers);
  if (options.key) headers.set("Authorization", `Bearer ${options.key}`);
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  }
  return new Request(BASE + path, { method: options.method ?? (body != null ? "POST" : "GET"), headers, body });
}

/** Calls the Worker's fetch export with a real Request, as a client would, and checks the answer against openapi.json. */
export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const request = buildRequest(path, options);
  const response = await exports.default.fetch(request);
  await expectDocumented(request, response);
  return response;
}

/** Calls the Worker's handler with some bindings replaced (fault injection, configuration). */
export async function callWithEnv(overrides: Partial<Cloudflare.Env>, path: string, options: CallOptions = {}): Promise<Response> {
  const { default: worker } = await import("../src/index");
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  const request = buildRequest(path, options);
  const response = await worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, { ...env, ...overrides }, ctx);
  await expectDocumented(request, response);
  return response;
}

export async function createCustomer(key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await call("/v1/customers", { key, json: body, headers });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as Customer;
}

// The response shapes, as the OpenAPI document describes them.
export type Customer = v.InferOutput<typeof CustomerSchema>;
export type ListBody = v.InferOutput<typeof CustomerListSchema>;

/** Asserts the contract's error shape and returns the body. */
export async function expectError(response: Response, status: number, message?: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
  expect(response.headers.get("X-Request-Id")).toBeTruthy();
  const body = (await response.json()) as { message: string; errors?: Record<string, string[]> };
  expect(typeof body.message).toBe("string");
  if (message !== undefined) expect(body.message).toBe(message);
  return body;
}
