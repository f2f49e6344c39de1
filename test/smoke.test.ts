import { describe, expect, it } from "vitest";
import { call, createCustomer, newKey } from "./helpers";

describe("smoke", () => {
  it("creates and gets", async () => {
    const { key } = await newKey();
    const c = await createCustomer(key, { email: "a@example.com" });
    const r = await call(`/v1/customers/${c.id}`, { key });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual(c);
    const l = await call(`/v1/customers`, { key });
    console.log(await l.text());
  });
});
