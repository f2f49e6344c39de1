import { describe, expect, it } from "vitest";
import { call, expectError, newKey, type Customer } from "../helpers";

const ETAG = /^"[0-9a-f]{24}"$/;

async function createWithEtag(key: string, email: string) {
  const response = await call("/v1/customers", { key, json: { email } });
  expect(response.status).toBe(201);
  return { customer: (await response.json()) as Customer, etag: response.headers.get("ETag")! };
}

describe("ETag and conditional requests", () => {
  it("sends a strong ETag on POST, GET and PATCH that changes exactly when the customer changes", async () => {
    const { key } = await newKey();
    const { customer, etag } = await createWithEtag(key, "etag@example.com");
    expect(etag).toMatch(ETAG);
    const got = await call(`/v1/customers/${customer.id}`, { key });
    expect(got.headers.get("ETag")).toBe(etag);
    const updated = await call(`/v1/customers/${customer.id}`, { method: "PATCH", key, json: { name: "X" } });
    const next = updated.headers.get("ETag")!;
    expect(next).toMatch(ETAG);
    expect(next).not.toBe(etag);
    expect((await call(`/v1/customers/${customer.id}`, { key })).headers.get("ETag")).toBe(next);
    // Different customers never share one.
    expect((await createWithEtag(key, "etag2@example.com")).etag).not.toBe(etag);
  });

  it("applies PATCH only when If-Match names the current ETag (or *); a stale one is a 412 and changes nothing", async () => {
    const { key } = await newKey();
    const { customer, etag } = await createWithEtag(key, "match@example.com");
    const ok = await call(`/v1/customers/${customer.id}`, { method: "PATCH", key, json: { name: "A" }, headers: { "If-Match": `"other", ${etag}` } });
    expect(ok.status).toBe(200);
    for (const stale of [etag, `W/${ok.headers.get("ETag")}`, '"nope"']) {
      await expectError(await call(`/v1/customers/${customer.id}`, { method: "PATCH", key, json: { name: "B" }, headers: { "If-Match": stale } }), 412);
    }
    await expectError(await call(`/v1/customers/${customer.id}`, { method: "PATCH", key, json: {}, headers: { "If-Match": etag } }), 412);
    expect(((await (await call(`/v1/customers/${customer.id}`, { key })).json()) as Customer).name).toBe("A");
    expect((await call(`/v1/customers/${customer.id}`, { method: "PATCH", key, json: { name: "C" }, headers: { "If-Match": "*" } })).status).toBe(200);
    // Without If-Match the last writer wins.
    expect((await call(`/v1/customers/${customer.id}`, { method: "PATCH", key, json: { name: "D" } })).status).toBe(200);
  });

  it("applies DELETE only when If-Match is current; a stale one is a 412 and the customer stays", async () => {
    const { key } = await newKey();
    const { customer, etag } = await createWithEtag(key, "del-match@example.com");
    await call(`/v1/customers/${customer.id}`, { method: "PATCH", key, json: { name: "changed" } });
    await expectError(await call(`/v1/customers/${customer.id}`, { method: "DELETE", key, headers: { "If-Match": etag } }), 412);
    const current = (await call(`/v1/customers/${customer.id}`, { key })).headers.get("ETag")!;
    expect((await call(`/v1/customers/${customer.id}`, { method: "DELETE", key, headers: { "If-Match": current } })).status).toBe(204);
    await expectError(await call(`/v1/customers/${customer.id}`, { method: "DELETE", key, headers: { "If-Match": "*" } }), 404);
  });

  it("answers GET with If-None-Match naming the current ETag (weakly, or *) with 304 and no body", async () => {
    const { key } = await newKey();
    const { customer, etag } = await createWithEtag(key, "inm@example.com");
    for (const value of [etag, `W/${etag}`, `"x", ${etag}`, "*"]) {
      const response = await call(`/v1/customers/${customer.id}`, { key, headers: { "If-None-Match": value } });
      expect(response.status).toBe(304);
      expect(await response.text()).toBe("");
      expect(response.headers.get("ETag")).toBe(etag);
    }
    expect((await call(`/v1/customers/${customer.id}`, { key, headers: { "If-None-Match": '"old"' } })).status).toBe(200);
  });
});

describe("HEAD", () => {
  it("answers like GET without a body, wherever GET works", async () => {
    const { key } = await newKey();
    const { customer, etag } = await createWithEtag(key, "head@example.com");
    for (const path of ["/v1/customers", `/v1/customers/${customer.id}`, "/v1/openapi.json", "/v1/customers/cus_0000000000000000000000"]) {
      const [head, get] = [await call(path, { method: "HEAD", key }), await call(path, { key })];
      expect(head.status).toBe(get.status);
      expect(await head.text()).toBe("");
      for (const name of ["Content-Type", "ETag", "Cache-Control"]) expect(head.headers.get(name)).toBe(get.headers.get(name));
    }
    expect((await call(`/v1/customers/${customer.id}`, { method: "HEAD", key })).headers.get("ETag")).toBe(etag);
    expect((await call("/v1/customers", { method: "HEAD" })).status).toBe(401);
  });

  it("is listed in Allow", async () => {
    const { key } = await newKey();
    expect((await call("/v1/customers", { method: "PUT", key })).headers.get("Allow")).toContain("HEAD");
    expect((await call("/v1/customers/cus_0000000000000000000000", { method: "PUT", key })).headers.get("Allow")).toContain("HEAD");
  });
});
