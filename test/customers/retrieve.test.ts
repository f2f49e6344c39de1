import { describe, expect, it } from "vitest";
import { call, createCustomer, expectError, newKey } from "../helpers";

describe("GET /v1/customers/:id", () => {
  it("returns 200 with the customer", async () => {
    const { key } = await newKey();
    const created = await createCustomer(key, { email: "get@example.com", metadata: { a: "b" } });
    const response = await call(`/v1/customers/${created.id}`, { key });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
    expect(await response.json()).toEqual(created);
  });

  it("answers 404 Customer not found for unknown, malformed and foreign ids", async () => {
    const { key, accountId } = await newKey();
    const foreign = await createCustomer((await newKey()).key, { email: "f@example.com" });
    const otherMode = await createCustomer((await newKey({ accountId, mode: "live" })).key, { email: "f@example.com" });
    for (const id of ["cus_0000000000000000000000", "cus_abc123def456", "nope", foreign.id, otherMode.id, "%E0%A4%A", "cus_%00", foreign.id.toLowerCase()]) {
      await expectError(await call(`/v1/customers/${id}`, { key }), 404, "Customer not found.");
    }
  });
});
