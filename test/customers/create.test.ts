import { describe, expect, it } from "vitest";
import { BASE, call, callWithEnv, createCustomer, expectError, newKey } from "../helpers";

const invalid = async (body: unknown, key?: string) => {
  key ??= (await newKey()).key;
  const response = await call("/v1/customers", { key, json: body });
  const error = await expectError(response, 422, "The given data was invalid.");
  return error.errors!;
};

describe("POST /v1/customers: success", () => {
  it("returns 201 with the Customer object of the contract", async () => {
    const { key } = await newKey();
    const response = await call("/v1/customers", { key, json: { email: "john@example.com" } });
    expect(response.status).toBe(201);
    expect(response.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
    const customer = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(customer)).toEqual(["id", "resource", "testmode", "email", "name", "createdAt", "metadata", "links"]);
    expect(customer).toMatchObject({ resource: "customer", testmode: true, email: "john@example.com", name: null, metadata: {} });
    expect(customer.id).toMatch(/^cus_[0-9A-Za-z]{22}$/);
    expect(customer.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Math.abs(Date.parse(customer.createdAt as string) - Date.now())).toBeLessThan(60_000);
    expect(customer.links).toEqual({ self: { href: `${BASE}/v1/customers/${customer.id}`, type: "application/json" } });
    expect(response.headers.get("Location")).toBe(`${BASE}/v1/customers/${customer.id}`);
  });

  it("marks customers created with a live key as testmode false", async () => {
    const { key } = await newKey({ mode: "live" });
    expect((await createCustomer(key, { email: "live@example.com" })).testmode).toBe(false);
  });

  it("trims the email and keeps its case", async () => {
    const { key } = await newKey();
    expect((await createCustomer(key, { email: "  John.Doe@Example.COM \n" })).email).toBe("John.Doe@Example.COM");
  });

  it("stores metadata and returns it on create and on get", async () => {
    const { key } = await newKey();
    const metadata = { plan: "pro", "order.ref": "A-1", emoji: "héllo 🎉", empty: "" };
    const customer = await createCustomer(key, { email: "meta@example.com", metadata });
    expect(customer.metadata).toEqual(metadata);
    const fetched = await (await call(`/v1/customers/${customer.id}`, { key })).json();
    expect(fetched).toEqual(customer);
  });

  it("accepts an empty JSON array as empty metadata, as PHP's json_encode sends it", async () => {
    const { key } = await newKey();
    expect((await createCustomer(key, { email: "php@example.com", metadata: [] })).metadata).toEqual({});
  });

  it("accepts null metadata and returns it as {}", async () => {
    const { key } = await newKey();
    expect((await createCustomer(key, { email: "null@example.com", metadata: null })).metadata).toEqual({});
  });

  it("accepts metadata at the limits: 50 keys, 40-character keys, 500-character values", async () => {
    const { key } = await newKey();
    const metadata = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`.padEnd(40, "x"), "v".repeat(500)]));
    expect((await createCustomer(key, { email: "limits@example.com", metadata })).metadata).toEqual(metadata);
  });

  it("accepts an email of exactly 254 characters and Punycode domains", async () => {
    const { key } = await newKey();
    const long = `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(57)}.com`;
    expect(long).toHaveLength(254);
    expect((await createCustomer(key, { email: long })).email).toBe(long);
    expect((await createCustomer(key, { email: "user@xn--mller-kva.de" })).email).toBe("user@xn--mller-kva.de");
    expect((await createCustomer(key, { email: "o'brien+tag@sub.example.xn--p1ai" })).email).toBe("o'brien+tag@sub.example.xn--p1ai");
  });

  it("ignores unknown fields instead of storing them", async () => {
    const { key } = await newKey();
    const customer = await createCustomer(key, { email: "extra@example.com", id: "cus_forged", testmode: false, nickname: "x" });
    expect(customer.id).not.toBe("cus_forged");
    expect(customer.testmode).toBe(true);
    expect(customer).not.toHaveProperty("nickname");
  });

  it("uses the configured public base URL in links when one is set", async () => {
    const { key } = await newKey();
    const response = await callWithEnv({ PUBLIC_BASE_URL: "https://api.example.com/" }, "/v1/customers", { key, json: { email: "public@example.com" } });
    const customer = (await response.json()) as { id: string; links: { self: { href: string } } };
    expect(customer.links.self.href).toBe(`https://api.example.com/v1/customers/${customer.id}`);
  });
});

describe("POST /v1/customers: email validation (422)", () => {
  it("requires the email", async () => {
    expect(await invalid({})).toEqual({ email: ["The email field is required."] });
    expect(await invalid({ email: null })).toEqual({ email: ["The email field is required."] });
    expect(await invalid({ email: "   " })).toEqual({ email: ["The email field is required."] });
  });

  it("requires a string", async () => {
    for (const email of [42, true, ["a@example.com"], { a: 1 }]) {
      expect(await invalid({ email })).toEqual({ email: ["The email field must be a string."] });
    }
  });

  it("rejects addresses that are not valid", async () => {
    for (const email of ["plainaddress", "@example.com", "a@", "a@b", "a@@example.com", "a b@example.com", ".a@example.com", "a..b@example.com", "a@-example.com", "a@example..com", "a@example.c", "a@123.456", "a@example.com.", "x".repeat(65) + "@example.com"]) {
      expect(await invalid({ email }), email).toEqual({ email: ["The email field must be a valid email address."] });
    }
  });

  it("rejects more than 254 characters", async () => {
    const email = `${"a".repeat(60)}@${"b".repeat(190)}.com`;
    expect(await invalid({ email })).toEqual({ email: ["The email field must not be greater than 254 characters."] });
  });

  it("rejects non-ASCII addresses and points at Punycode", async () => {
    for (const email of ["user@müller.de", "üser@example.com", "user@例え.jp"]) {
      const errors = await invalid({ email });
      expect(errors.email).toHaveLength(1);
      expect(errors.email![0]).toContain("Punycode");
    }
  });

  it("rejects a second customer with the same email, case-insensitively, in the same account and mode", async () => {
    const { key } = await newKey();
    await createCustomer(key, { email: "dup@example.com" });
    expect(await invalid({ email: "DUP@Example.com" }, key)).toEqual({ email: ["The email has already been taken."] });
    expect(await invalid({ email: " dup@example.com " }, key)).toEqual({ email: ["The email has already been taken."] });
  });

  it("allows the same email in another account and in the other mode", async () => {
    const { key, accountId } = await newKey();
    await createCustomer(key, { email: "shared@example.com" });
    await createCustomer((await newKey()).key, { email: "shared@example.com" });
    await createCustomer((await newKey({ accountId, mode: "live" })).key, { email: "shared@example.com" });
  });
});

describe("POST /v1/customers: metadata validation (422)", () => {
  const email = "m@example.com";

  it("requires an object", async () => {
    for (const metadata of ["x", 1, true, ["a"], [{}]]) {
      expect(await invalid({ email, metadata })).toEqual({ metadata: ["The metadata field must be an object."] });
    }
  });

  it("allows at most 50 keys", async () => {
    const metadata = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]));
    expect(await invalid({ email, metadata })).toEqual({ metadata: ["The metadata field must not have more than 50 keys."] });
  });

  it("requires keys of 1 to 40 characters", async () => {
    const long = "k".repeat(41);
    expect(await invalid({ email, metadata: { [long]: "v", "": "v" } })).toEqual({
      [`metadata.${long}`]: ["Metadata keys must be between 1 and 40 characters."],
      "metadata.": ["Metadata keys must be between 1 and 40 characters."],
    });
  });

  it("requires string values of at most 500 characters", async () => {
    expect(await invalid({ email, metadata: { plan: 1, tier: null, nested: { a: "b" }, long: "v".repeat(501), ok: "fine" } })).toEqual({
      "metadata.plan": ["Each metadata value must be a string."],
      "metadata.tier": ["Each metadata value must be a string."],
      "metadata.nested": ["Each metadata value must be a string."],
      "metadata.long": ["Each metadata value must not be greater than 500 characters."],
    });
  });

  it("refuses prototype-related keys rather than dropping them, naming the key", async () => {
    for (const reserved of ["__proto__", "constructor", "prototype"]) {
      const { key } = await newKey();
      const body = `{"email":"m@example.com","metadata":{"ok":"1","${reserved}":"x"}}`;
      const response = await call("/v1/customers", { key, body, headers: { "Content-Type": "application/json" } });
      const error = await expectError(response, 422);
      expect(Object.keys(error.errors!)).toEqual([`metadata.${reserved}`]);
    }
  });

  it("refuses unpaired surrogates, which could not be stored as sent", async () => {
    const { key } = await newKey();
    const body = '{"email":"m@example.com","metadata":{"a":"\\ud800"}}';
    const error = await expectError(await call("/v1/customers", { key, body, headers: { "Content-Type": "application/json" } }), 422);
    expect(error.errors).toEqual({ "metadata.a": ["Each metadata value must be valid Unicode text."] });
  });

  it("names a field whose key is not valid Unicode with U+FFFD in its place", async () => {
    const { key } = await newKey();
    const body = '{"email":"m@example.com","metadata":{"\\ud800":1}}';
    const error = await expectError(await call("/v1/customers", { key, body, headers: { "Content-Type": "application/json" } }), 422);
    expect(Object.keys(error.errors!)).toEqual(["metadata.\ufffd"]);
  });

  it("reports every failing field at once", async () => {
    const errors = await invalid({ email: "nope", metadata: { a: 1 } });
    expect(Object.keys(errors).sort()).toEqual(["email", "metadata.a"]);
  });

  it("stores nothing when validation fails", async () => {
    const { key } = await newKey();
    await invalid({ email: "stored@example.com", metadata: { a: 1 } }, key);
    const list = (await (await call("/v1/customers", { key })).json()) as { count: number };
    expect(list.count).toBe(0);
  });
});

describe("POST /v1/customers: malformed requests", () => {
  const post = async (init: { body?: BodyInit; headers?: Record<string, string> }) => {
    const { key } = await newKey();
    return call("/v1/customers", { key, method: "POST", ...init });
  };

  it("answers 400 to a body that is not JSON", async () => {
    for (const body of ["", "{", "{'email': 'a@b.co'}", "email=a@b.co", "\u0000"]) {
      const error = await expectError(await post({ body, headers: { "Content-Type": "application/json" } }), 400, "The request body is not valid JSON.");
      expect(error.errors).toBeUndefined();
    }
  });

  it("answers 400 to invalid UTF-8", async () => {
    const body = new Uint8Array([0x7b, 0x22, 0x65, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
    await expectError(await post({ body, headers: { "Content-Type": "application/json" } }), 400, "The request body is not valid JSON.");
  });

  it("answers 400 to JSON that is not an object", async () => {
    for (const body of ["[]", '[{"email":"a@example.com"}]', "null", '"a@example.com"', "42", "true"]) {
      await expectError(await post({ body, headers: { "Content-Type": "application/json" } }), 400, "The request body must be a JSON object.");
    }
  });

  it("reads a POST with no body and no content type as {}: a 422 naming the email", async () => {
    const { key } = await newKey();
    const error = await expectError(await call("/v1/customers", { key, method: "POST" }), 422);
    expect(error.errors).toEqual({ email: ["The email field is required."] });
  });

  it("answers 415 to another content type or none", async () => {
    for (const headers of [{ "Content-Type": "text/plain" }, { "Content-Type": "application/x-www-form-urlencoded" }, { "Content-Type": "application/jsonx" }, {}] as Record<string, string>[]) {
      await expectError(await post({ body: '{"email":"a@example.com"}', headers }), 415, "The Content-Type must be application/json.");
    }
  });

  it("accepts a charset parameter and any case in the content type", async () => {
    const response = await post({ body: '{"email":"ct@example.com"}', headers: { "Content-Type": "Application/JSON; charset=utf-8" } });
    expect(response.status).toBe(201);
  });

  it("answers 413 to a body over the 1 MiB cap, declared or streamed", async () => {
    const big = JSON.stringify({ email: "big@example.com", metadata: { a: "x".repeat(1024 * 1024) } });
    await expectError(await post({ body: big, headers: { "Content-Type": "application/json" } }), 413);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 300; i++) controller.enqueue(new TextEncoder().encode(" ".repeat(4096)));
        controller.close();
      },
    });
    await expectError(await post({ body: stream, headers: { "Content-Type": "application/json" } }), 413);
  });
});
