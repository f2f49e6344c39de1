import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { callWithEnv, expectError, newKey, type CallOptions } from "./helpers";

// The deployed limit is in wrangler.toml; these tests use a binding of 10 requests per 10 s (vitest.config.ts).
const LIMIT = 10;
const limited = { RATE_LIMITER: env.TEST_RATE_LIMITER, RATE_LIMIT_PERIOD_SECONDS: "10" };
const send = (path: string, options: CallOptions) => callWithEnv(limited, path, options);

async function spend(key: string, n: number) {
  for (let i = 0; i < n; i++) expect((await send("/v1/customers?limit=1", { key })).status).toBe(200);
}

// Windows are aligned to the clock: start early in one, so the tests (well under a second) never straddle two.
beforeAll(async () => {
  const into = Date.now() % 10_000;
  if (into > 5_000) await new Promise((resolve) => setTimeout(resolve, 10_000 - into + 50));
});

describe("rate limiting per account and mode", () => {
  it("is configured in wrangler.toml", () => {
    expect(env.RATE_LIMITER).toBeDefined();
    expect(env.RATE_LIMIT_PERIOD_SECONDS).toBe("10");
  });

  it("answers 429 with Retry-After once over the limit, for that account and mode only", async () => {
    const test = await newKey();
    const live = await newKey({ accountId: test.accountId, mode: "live" });
    await spend(test.key, LIMIT);
    for (const [method, path] of [["GET", "/v1/customers"], ["GET", "/v1/customers/cus_0000000000000000000000"], ["POST", "/v1/customers"]]) {
      const response = await send(path!, { key: test.key, method, json: method === "POST" ? { email: "x@example.com" } : undefined });
      await expectError(response, 429, "Too many requests. Please try again later.");
      expect(response.headers.get("Retry-After")).toBe("10");
    }
    await spend(live.key, 1);
    await spend((await newKey()).key, 1);
  });

  it("counts an idempotent replay like any request, and limits it before reading D1", async () => {
    const { key } = await newKey();
    const post = () => send("/v1/customers", { key, json: { email: "replay@example.com" }, headers: { "Idempotency-Key": "rl-replay" } });
    expect((await post()).status).toBe(201);
    for (let i = 0; i < 4; i++) expect((await post()).headers.get("Idempotent-Replayed")).toBe("true");
    await spend(key, LIMIT - 5);
    await expectError(await post(), 429);
  });

  it("does not count requests that fail authentication", async () => {
    const { key } = await newKey();
    for (let i = 0; i < LIMIT + 5; i++) await expectError(await send("/v1/customers", { headers: { Authorization: "Bearer test_unknownunknownunknownunknown" } }), 401);
    await spend(key, LIMIT);
  });
});
