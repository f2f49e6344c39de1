import { describe, expect, it, vi } from "vitest";
import { call, callWithEnv, expectError, newKey } from "../helpers";

describe("absurd sizes and slow bodies", () => {
  it("answers a huge Authorization header with 401, and a huge non-key one with 403", async () => {
    await expectError(await call("/v1/customers", { key: `test_${"a".repeat(60_000)}` }), 401);
    await expectError(await call("/v1/customers", { headers: { Authorization: `Bearer ${"a".repeat(60_000)}` } }), 403);
  });

  it("answers huge paths and query strings with a clean 4xx", async () => {
    const { key } = await newKey();
    await expectError(await call(`/v1/customers/cus_${"a".repeat(50_000)}`, { key }), 404);
    await expectError(await call(`/${"x/".repeat(20_000)}`, { key }), 404);
    await expectError(await call(`/v1/customers?limit=${"9".repeat(50_000)}`, { key }), 422);
    await expectError(await call(`/v1/customers?startingAfter=cus_${"a".repeat(50_000)}`, { key }), 422);
    const many = Array.from({ length: 5_000 }, (_, i) => `p${i}=${i}`).join("&");
    expect((await call(`/v1/customers?${many}`, { key })).status).toBe(200);
  });

  it("accepts a slow, chunked body that stays under the limit", async () => {
    const { key } = await newKey();
    const bytes = new TextEncoder().encode(JSON.stringify({ email: "slow@example.com", metadata: { a: "b" } }));
    const body = new ReadableStream({
      async start(controller) {
        for (const byte of bytes) {
          controller.enqueue(new Uint8Array([byte]));
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        controller.close();
      },
    });
    const response = await call("/v1/customers", { key, body, headers: { "Content-Type": "application/json" } });
    expect(response.status).toBe(201);
  });

  it("refuses a chunked body that grows past the cap with 413, without a Content-Length", async () => {
    const { key } = await newKey();
    const body = new ReadableStream({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode(`{"email":"a@example.com","metadata":{"a":"${"x".repeat(10_000)}`));
      },
    });
    await expectError(await call("/v1/customers", { key, body, headers: { "Content-Type": "application/json" } }), 413);
  });

  it("answers a body whose sender breaks off mid-way with a 400, not a 500 and an error log, and writes nothing", async () => {
    const { key } = await newKey();
    const errors: unknown[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args) => void errors.push(args));
    try {
      for (const declared of [undefined, "200"]) {
        let sent = false;
        const body = new ReadableStream({
          pull(controller) {
            if (sent) return controller.error(new Error("Network connection lost."));
            sent = true;
            controller.enqueue(new TextEncoder().encode('{"email":"broken-off@example.com","meta'));
          },
        });
        const headers = { "Content-Type": "application/json", ...(declared ? { "Content-Length": declared } : {}) };
        // Called directly: through the fetch export, a broken stream reaches the Worker as a short body instead.
        const response = await callWithEnv({}, "/v1/customers", { key, body, headers });
        await expectError(response, 400, "The request body ended before it was complete.");
      }
    } finally {
      spy.mockRestore();
    }
    expect(errors).toEqual([]);
    const list = (await (await call("/v1/customers", { key })).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });

  it("refuses a declared Content-Length over the limit before reading", async () => {
    const { key } = await newKey();
    const response = await call("/v1/customers", { key, body: "{}", headers: { "Content-Type": "application/json", "Content-Length": "10000000" } });
    await expectError(response, 413);
  });
});
