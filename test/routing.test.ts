import { describe, expect, it, vi } from "vitest";
import { call, callWithEnv, expectError, newKey } from "./helpers";

describe("routing and errors", () => {
  it("answers 404 JSON to unknown paths", async () => {
    const { key } = await newKey();
    for (const path of ["/v1", "/v1/customer", "/v2/customers", "/v1/customers/cus_x/extra", "/favicon.ico"]) {
      await expectError(await call(path, { key }), 404);
    }
  });

  it("points GET / to the reference: a browser is redirected to /docs, anything else gets links, no key needed", async () => {
    // The handler itself (call() would follow the redirect into the static assets).
    const browser = await callWithEnv({}, "/", { headers: { Accept: "text/html,application/xhtml+xml" } });
    expect(browser.status).toBe(302);
    expect(browser.headers.get("Location")).toBe("http://api.test/docs");
    const client = await call("/");
    expect(client.status).toBe(200);
    const body = (await client.json()) as { links: { docs: { href: string }; openapi: { href: string } } };
    expect(body.links.docs.href).toBe("http://api.test/docs");
    expect(body.links.openapi.href).toBe("http://api.test/v1/openapi.json");
    expect((await call("/", { method: "POST", json: {} })).status).toBe(405);
  });

  it("answers 405 with Allow to another method on a known path", async () => {
    const { key } = await newKey();
    for (const method of ["PUT", "PATCH", "DELETE", "OPTIONS"]) {
      const list = await call("/v1/customers", { key, method });
      expect(list.status).toBe(405);
      expect(list.headers.get("Allow")).toBe("GET, HEAD, POST");
    }
    for (const method of ["PUT", "OPTIONS"]) {
      const one = await call("/v1/customers/cus_0000000000000000000000", { key, method });
      expect(one.status).toBe(405);
      expect(one.headers.get("Allow")).toBe("GET, HEAD, PATCH, DELETE");
      expect(((await one.json()) as { message: string }).message).toBeTruthy();
    }
    await expectError(await call("/v1/customers/cus_0000000000000000000000", { key, method: "POST", json: {} }), 405);
  });

  it("forbids caching and content sniffing on every response", async () => {
    const { key } = await newKey();
    for (const response of [await call("/v1/customers", { key }), await call("/v1/customers"), await call("/nowhere"), await call("/v1/customers", { key, json: { email: "c@example.com" } })]) {
      expect(response.headers.get("Cache-Control")).toBe("no-store");
      expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    }
  });

  it("puts a request id on every response, honouring a sane incoming one", async () => {
    const generated = await call("/nowhere");
    expect(generated.headers.get("X-Request-Id")).toMatch(/^req_[0-9a-f]{32}$/);
    const honoured = await call("/v1/customers", { headers: { "X-Request-Id": "client-id-12345" } });
    expect(honoured.headers.get("X-Request-Id")).toBe("client-id-12345");
    const replaced = await call("/v1/customers", { headers: { "X-Request-Id": "<script>" } });
    expect(replaced.headers.get("X-Request-Id")).toMatch(/^req_/);
  });

  it("logs one line per request with the method the client sent, HEAD included", async () => {
    const { key } = await newKey();
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      for (const method of ["HEAD", "GET"]) await call("/v1/customers", { key, method });
    } finally {
      spy.mockRestore();
    }
    expect(lines.map((line) => (JSON.parse(line) as { method: string; path: string; status: number }))).toMatchObject([
      { method: "HEAD", path: "/v1/customers", status: 200 },
      { method: "GET", path: "/v1/customers", status: 200 },
    ]);
  });
});
