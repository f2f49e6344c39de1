import { describe, expect, it } from "vitest";
import { call, createCustomer, expectError, newKey } from "../helpers";

/** JSON as PHP's json_encode writes it by default: every non-ASCII UTF-16 unit as a \uXXXX escape. */
const phpJson = (value: unknown) =>
  JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
const emoji = (i: number) => String.fromCodePoint(0x1f600 + (i % 80));

describe("lengths count characters (code points), as Laravel does", () => {
  it("accepts a 40-emoji key, a 500-emoji value and a 255-emoji name, and refuses one more of each", async () => {
    const { key } = await newKey();
    const ok = await createCustomer(key, { email: "emoji@example.com", name: "😀".repeat(255), metadata: { ["🎉".repeat(40)]: "😀".repeat(500) } });
    expect(ok.name).toBe("😀".repeat(255));
    expect(ok.metadata).toEqual({ ["🎉".repeat(40)]: "😀".repeat(500) });
    const error = await expectError(
      await call("/v1/customers", { key, json: { email: "emoji2@example.com", name: "😀".repeat(256), metadata: { ["🎉".repeat(41)]: "a", b: "😀".repeat(501) } } }),
      422,
    );
    expect(Object.keys(error.errors!).sort()).toEqual(["metadata.b", `metadata.${"🎉".repeat(41)}`, "name"]);
  });

  it("accepts the largest body the contract allows, as the PHP client escapes it (about 330 KB), on create and update", async () => {
    const { key } = await newKey();
    const metadata = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [emoji(i) + "😀".repeat(39), emoji(i + 1).repeat(500)]));
    const body = phpJson({ email: "biggest@example.com", name: "😀".repeat(255), metadata });
    expect(body.length).toBeGreaterThan(320_000);
    expect(body).not.toMatch(/[^\x00-\x7f]/);
    const response = await call("/v1/customers", { key, body, headers: { "Content-Type": "application/json" } });
    expect(response.status, await response.clone().text()).toBe(201);
    const customer = (await response.json()) as { id: string; metadata: Record<string, string>; name: string };
    expect(customer.metadata).toEqual(metadata);
    expect(customer.name).toBe("😀".repeat(255));
    const replaced = Object.fromEntries(Object.keys(metadata).map((k) => [k, "🎉".repeat(500)]));
    const update = await call(`/v1/customers/${customer.id}`, { method: "PATCH", key, body: phpJson({ name: "😀".repeat(255), metadata: replaced }), headers: { "Content-Type": "application/json" } });
    expect(update.status).toBe(200);
    expect(((await update.json()) as { metadata: object }).metadata).toEqual(replaced);
  });
});
