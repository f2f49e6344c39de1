// Each request's log line says what it cost D1 (round trips, rows read and written, as D1 meters them), and every
// route stays within the platform's per-invocation budget: at most 10 calls to D1 (Free plan: 50 queries).
import { describe, expect, it, vi } from "vitest";
import { call, createCustomer, newKey } from "./helpers";

interface Line { method: string; path: string; status: number; d1?: { calls: number; rowsRead: number; rowsWritten: number } }

async function logged(run: () => Promise<unknown>): Promise<Line[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return lines.map((l) => JSON.parse(l) as Line);
}

describe("the D1 cost of each request, in its log line", () => {
  it("a create writes in one call, a read reads in one, and each says how many rows", async () => {
    const { key } = await newKey();
    let id = "";
    const [created] = await logged(async () => (id = (await createCustomer(key, { email: "budget@example.com", metadata: { a: "1" } })).id));
    expect(created).toMatchObject({ method: "POST", path: "/v1/customers", status: 201, d1: { calls: 1 } });
    expect(created!.d1!.rowsWritten).toBeGreaterThan(0);
    const [read] = await logged(() => call(`/v1/customers/${id}`, { key }));
    expect(read).toMatchObject({ status: 200, d1: { calls: 1, rowsWritten: 0 } });
    expect(read!.d1!.rowsRead).toBeGreaterThan(0);
    // A request refused before it reaches D1 carries no d1 field.
    const [refused] = await logged(() => call("/v1/customers", { key: "test_" + "x".repeat(40) }));
    expect(refused!.status).toBe(401);
    expect(refused!.d1).toBeUndefined();
  });

  it("every route of the API stays within 10 calls to D1", async () => {
    const { key } = await newKey();
    const lines = await logged(async () => {
      const { id } = await createCustomer(key, { email: "every@example.com", name: "Every Route" });
      await call("/v1/customers?limit=100", { key });
      await call(`/v1/customers/${id}`, { key, method: "PATCH", json: { name: "Changed" } });
      await call(`/v1/customers/search?query=${encodeURIComponent('name~"chang"')}`, { key });
      await call("/v1/webhook-endpoints", { key, method: "POST", json: { url: "https://merchant.example/hooks", secret: "s".repeat(32) } });
      await call("/v1/webhook-events?limit=100", { key });
      await call(`/v1/customers/${id}`, { key, method: "DELETE" });
    });
    expect(lines.map((l) => l.status)).toEqual([201, 200, 200, 200, 201, 200, 204]);
    for (const line of lines) {
      expect(line.d1, `${line.method} ${line.path}`).toBeDefined();
      expect(line.d1!.calls, `${line.method} ${line.path}`).toBeLessThanOrEqual(10);
    }
  });
});
