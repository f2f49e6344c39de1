import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { call, callWithEnv, newKey } from "../helpers";

describe("secrets", () => {
  const lines: string[] = [];
  beforeEach(() => {
    lines.length = 0;
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    }
  });
  afterEach(() => vi.restoreAllMocks());

  it("never puts a bearer key in a log line, an error body or a header", async () => {
    const { key } = await newKey();
    const revoked = await newKey({ revoked: true });
    const unknown = `live_${"Q".repeat(40)}`;
    const failingKv = new Proxy(env.API_KEYS, { get: (t, p) => (p === "get" ? async () => { throw new Error("boom"); } : Reflect.get(t, p)) });
    const responses = [
      await call("/v1/customers", { key }),
      await call("/v1/customers", { key, json: { email: "s@example.com" } }),
      await call("/v1/customers", { key, json: { email: "bad" } }),
      await call("/v1/customers/cus_0000000000000000000000", { key }),
      await call("/v1/customers", { key: revoked.key }),
      await call("/v1/customers", { key: unknown }),
      await call("/v1/customers", { key: "sk_secret_value_123456789" }),
      await call("/v1/customers", { method: "DELETE", key }),
      await callWithEnv({ API_KEYS: failingKv }, "/v1/customers", { key: `test_${"W".repeat(40)}` }),
    ];
    const secrets = [key, revoked.key, unknown, "sk_secret_value_123456789", `test_${"W".repeat(40)}`];
    // Every request logged exactly one line with its request id: the capture really saw the logs.
    const requestLines = lines.filter((l) => l.includes('"requestId"') && l.includes('"status"'));
    expect(requestLines).toHaveLength(responses.length);
    for (const [i, response] of responses.entries()) {
      const requestId = response.headers.get("X-Request-Id")!;
      expect(requestLines.filter((l) => l.includes(requestId))).toHaveLength(1);
      const text = await response.text() + JSON.stringify([...response.headers]);
      for (const secret of secrets) expect(text, `response ${i}`).not.toContain(secret);
    }
    for (const line of lines) for (const secret of secrets) expect(line).not.toContain(secret);
  });
});
