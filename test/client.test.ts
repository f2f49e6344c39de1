// The client against the Worker itself (its fetch export as the client's fetch): no server needed. customers.search()
// and its query builder (values with quotes and backslashes are quoted by the builder, so they match exactly and can
// never change what the query means); webhookEvents.attempts() and resend().
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { q, Vatly } from "../client/src/index";
import { BASE, createCustomer, newKey } from "./helpers";

const client = (apiKey: string) => new Vatly({ apiKey, baseUrl: BASE, fetch: (input, init) => exports.default.fetch(new Request(input, init)) });

describe("client customers.search()", () => {
  it("walks every page of a search built with q, newest first", async () => {
    const { key } = await newKey();
    const made = [];
    for (let i = 0; i < 7; i++) made.push(await createCustomer(key, { email: `c${i}@client-search.example`, metadata: { plan: i % 2 ? "pro" : "free" } }));
    const found = [];
    for await (const c of client(key).customers.search(q.and(q.email.contains("client-search"), q.metadata("plan").is("pro")), { limit: 2 })) found.push(c.id);
    expect(found).toEqual(made.filter((_, i) => i % 2).map((c) => c.id).reverse());
  });

  it("quotes and escapes every value: a name built to inject a clause matches only itself", async () => {
    const { key } = await newKey();
    const sly = await createCustomer(key, { email: "sly@inject.example", name: 'x" OR email~"inject' });
    const slash = await createCustomer(key, { email: "slash@inject.example", name: "back\\slash \"quoted\"" });
    await createCustomer(key, { email: "other@inject.example", name: "Other" });
    const ids = async (query: Parameters<ReturnType<typeof client>["customers"]["search"]>[0]) => {
      const out = [];
      for await (const c of client(key).customers.search(query)) out.push(c.id);
      return out;
    };
    expect(String(q.name.is('x" OR email~"inject'))).toBe('name:"x\\" OR email~\\"inject"');
    expect(await ids(q.name.is('x" OR email~"inject'))).toEqual([sly.id]);
    expect(await ids(q.name.is("back\\slash \"quoted\""))).toEqual([slash.id]);
    expect(await ids(q.or(q.name.is("Other"), q.not(q.email.contains("inject"))))).toHaveLength(1);
    expect(() => q.and(q.or(q.name.is("a"), q.name.is("b")), q.name.is("c"))).toThrow(/cannot mix AND and OR/);
    // A value that reads like a join is a value: OR of an OR whose name holds " AND " is one kind of join.
    expect(String(q.or(q.or(q.name.is("Tom AND Jerry"), q.name.is("b")), q.name.is("c")))).toBe('name:"Tom AND Jerry" OR name:"b" OR name:"c"');
  });

  it("webhookEvents.attempts() and resend(): the history of an event, and a new attempt now", async () => {
    const { key } = await newKey();
    const vatly = client(key);
    await vatly.webhookEndpoints.create({ url: "https://client-desk.example/h", secret: "whsec-client-desk-01" });
    await vatly.customers.create({ email: "desk@client.example" });
    const event = (await vatly.webhookEvents.page({ eventName: "customer.created", limit: 1 })).data[0];
    const before = await vatly.webhookEvents.attempts(event!.id);
    expect(before).toMatchObject({ data: [], count: 0, delivery: { state: "pending" } });
    expect(await vatly.webhookEvents.resend(event!.id)).toEqual(event);
  });
});
