import { describe, expect, it } from "vitest";
import { call, expectError, newKey } from "./helpers";

const LIMIT = 600; // [[ratelimits]] in wrangler.toml: 600 requests per account and mode per 60 s

async function spend(key: string, n: number) {
  for (let i = 0; i < n; i++) {
    const response = await call("/v1/customers?limit=1", { key });
    expect(response.status).toBe(200);
  }
}

describe("rate limiting per account and mode", () => {
  it("answers 429 with Retry-After once over the limit, for that account and mode only", async () => {
    const test = await newKey();
    const live = await newKey({ accountId: test.accountId, mode: "live" });
    await spend(test.key, LIMIT);
    for (const [method, path] of [["GET", "/v1/customers"], ["GET", "/v1/customers/cus_0000000000000000000000"], ["POST", "/v1/customers"]]) {
      const response = await call(path!, { key: test.key, method, json: method === "POST" ? { email: "x@example.com" } : undefined });
      await expectError(response, 429, "Too many requests. Please try again later.");
      expect(response.headers.get("Retry-After")).toBe("60");
    }
    await spend(live.key, 1);
    await spend((await newKey()).key, 1);
  });

  it("does not count an idempotent replay, and replays it even when over the limit", async () => {
    const { key } = await newKey();
    const post = () => call("/v1/customers", { key, json: { email: "replay@example.com" }, headers: { "Idempotency-Key": "rl-replay" } });
    expect((await post()).status).toBe(201);
    await spend(key, LIMIT - 2);
    for (let i = 0; i < 5; i++) expect((await post()).headers.get("Idempotent-Replayed")).toBe("true");
    await spend(key, 1); // the 600th counted request
    await expectError(await call("/v1/customers", { key }), 429);
    expect((await post()).status).toBe(201);
  });
});
