import { describe, expect, it } from "vitest";
import { BASE, call, createCustomer, newKey, type Customer, type ListBody } from "../helpers";

describe("concurrency", () => {
  it("50 concurrent POSTs with one Idempotency-Key and body create exactly one customer; every reply is it or a 409", async () => {
    const { key } = await newKey();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => call("/v1/customers", { key, json: { email: "race@example.com", metadata: { n: "1" } }, headers: { "Idempotency-Key": "race-key" } })),
    );
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<Customer>));
    const created = responses.map((r, i) => [r.status, bodies[i]!] as const).filter(([status]) => status === 201);
    expect(responses.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map(([, body]) => JSON.stringify(body))).size).toBe(1);
    const list = (await (await call("/v1/customers", { key })).json()) as ListBody;
    expect(list.count).toBe(1);
    expect(list.data[0]!.id).toBe(created[0]![1].id);
  });

  it("20 concurrent POSTs with one Idempotency-Key and different bodies create one customer; the 19 others get the 409", async () => {
    const { key } = await newKey();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call("/v1/customers", { key, json: { email: `racer${i}@example.com` }, headers: { "Idempotency-Key": "race-bodies" } })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const winner = (await responses[statuses.indexOf(201)]!.json()) as Customer;
    const list = (await (await call("/v1/customers", { key })).json()) as ListBody;
    expect(list.data.map((c) => c.id)).toEqual([winner.id]);
  });

  it("50 concurrent POSTs of one email create exactly one customer; the rest get the 422 on email", async () => {
    const { key } = await newKey();
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => call("/v1/customers", { key, json: { email: i % 2 ? "same@example.com" : "SAME@example.com" } })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 422)).toHaveLength(49);
    for (const response of responses.filter((r) => r.status === 422)) {
      expect(await response.json()).toEqual({ message: "The given data was invalid.", errors: { email: ["The email has already been taken."] } });
    }
    expect(((await (await call("/v1/customers", { key })).json()) as ListBody).count).toBe(1);
  });

  it("walking next, then prev, while customers are being created visits every earlier customer once, with no duplicate", async () => {
    const { key } = await newKey();
    const before: string[] = [];
    for (let i = 0; i < 60; i++) before.unshift((await createCustomer(key, { email: `before${i}@example.com` })).id);

    let creating = true;
    const writer = (async () => {
      for (let i = 0; creating && i < 200; i++) await createCustomer(key, { email: `during${i}@example.com` });
    })();
    const seen: string[] = [];
    let href: string | undefined = `${BASE}/v1/customers?limit=7`;
    while (href) {
      const body = (await (await call(href.slice(BASE.length), { key })).json()) as ListBody;
      seen.push(...body.data.map((c) => c.id));
      href = body.links.next?.href;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => before.includes(id))).toEqual(before);

    // And back with prev from the last page, still while creates run.
    const back: string[] = [];
    let body = (await (await call(`/v1/customers?startingAfter=${before[before.length - 8]}&limit=7`, { key })).json()) as ListBody;
    back.unshift(...body.data.map((c) => c.id));
    while (body.links.prev) {
      body = (await (await call(body.links.prev.href.slice(BASE.length), { key })).json()) as ListBody;
      back.unshift(...body.data.map((c) => c.id));
    }
    creating = false;
    await writer;
    expect(new Set(back).size).toBe(back.length);
    expect(back.filter((id) => before.includes(id))).toEqual(before);
  });
});
