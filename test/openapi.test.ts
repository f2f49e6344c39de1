import { describe, expect, it } from "vitest";
import openapi from "../openapi.json";
import { buildOpenApiDocument } from "../src/openapi/document";
import { BASE, buildRequest, call, expectError } from "./helpers";
import { expectDocumented } from "./openapi";

describe("OpenAPI", () => {
  it("the committed openapi.json is what the valibot schemas generate (run `npm run openapi` if not)", () => {
    expect(JSON.parse(JSON.stringify(buildOpenApiDocument()))).toEqual(openapi);
  });

  it("is served at GET /v1/openapi.json without a key, with this server's URL", async () => {
    const response = await call("/v1/openapi.json");
    expect(response.status).toBe(200);
    const served = (await response.json()) as typeof openapi & { servers: { url: string }[] };
    expect(served.servers).toEqual([{ url: BASE }]);
    expect({ ...served, servers: undefined }).toEqual({ ...openapi, servers: undefined });
    await expectError(await call("/v1/openapi.json", { method: "POST", body: "{}" }), 405);
  });

  it("documents the request schemas the Worker validates with", () => {
    const body = openapi.components.schemas.CreateCustomerRequest;
    expect(body.required).toEqual(["email"]);
    expect(body.properties.email.maxLength).toBe(254);
    expect(body.properties.metadata.anyOf[0]).toMatchObject({ maxProperties: 50, propertyNames: { minLength: 1, maxLength: 40 }, additionalProperties: { maxLength: 500 } });
    const limit = openapi.paths["/v1/customers"].get.parameters.find((p) => p.name === "limit");
    expect(limit?.schema).toEqual({ type: "integer", minimum: 1, maximum: 100, default: 10 });
  });

  it("the response check used by every test rejects what the document does not allow", async () => {
    const request = buildRequest("/v1/customers/cus_0000000000000000000000", { key: "test_x" });
    const customer = { id: "cus_0000000000000000000000", resource: "customer", testmode: true, email: "a@example.com", name: null, createdAt: "2024-01-15T10:30:00Z", metadata: {}, links: { self: { href: `${BASE}/v1/customers/cus_0000000000000000000000`, type: "application/json" } } };
    const headers = { "X-Request-Id": "req_1", ETag: '"abc"' };
    await expectDocumented(request, Response.json(customer, { headers }));
    await expect(expectDocumented(request, Response.json(customer, { headers: { "X-Request-Id": "req_1" } }))).rejects.toThrow(/lacks ETag/);
    await expect(expectDocumented(request, Response.json({ ...customer, name: undefined }, { headers }))).rejects.toThrow();
    await expect(expectDocumented(request, Response.json({ ...customer, resource: "subscription" }, { headers }))).rejects.toThrow();
    await expect(expectDocumented(request, Response.json({ ...customer, createdAt: undefined }, { headers }))).rejects.toThrow();
    await expect(expectDocumented(request, Response.json({ message: "x" }, { status: 418 }))).rejects.toThrow(/does not document/);
    await expect(expectDocumented(request, Response.json({ error: "x" }, { status: 404 }))).rejects.toThrow();
  });
});
