// The ceiling: a Worker that answers with a JSON body the size of one customer and touches neither D1 nor KV.
const body = JSON.stringify({
  id: "cus_0Vc1jUg5MufEFy1yp38Rq5",
  resource: "customer",
  testmode: true,
  email: "john@example.com",
  createdAt: "2026-11-25T22:32:49Z",
  metadata: { plan: "pro" },
  links: { self: { href: "http://127.0.0.1:8787/v1/customers/cus_0Vc1jUg5MufEFy1yp38Rq5", type: "application/json" } },
});

export function baselineResponse(): Response {
  return new Response(body, { headers: { "Content-Type": "application/json; charset=utf-8" } });
}

export default { fetch: () => baselineResponse() } satisfies ExportedHandler;
