import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createCustomer, newKey, type Customer, type ListBody } from "../helpers";

const get = (key: string, id: string) => call(`/v1/customers/${id}`, { key });

describe("concurrent PATCH and DELETE", () => {
  it("50 concurrent PATCHes, each setting its own metadata key, leave all 50 keys (no lost update)", async () => {
    const { key } = await newKey();
    const { id } = await createCustomer(key, { email: "race@example.com" });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => call(`/v1/customers/${id}`, { method: "PATCH", key, json: { metadata: { [`k${i}`]: String(i) } } })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    const { metadata } = (await (await get(key, id)).json()) as Customer;
    expect(Object.keys(metadata!).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `k${i}`).sort());
  });

  it("50 concurrent PATCHes adding 2 keys each to a customer with 10 never leave more than 50 keys", async () => {
    const { key } = await newKey();
    const start = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`base${i}`, "v"]));
    const { id } = await createCustomer(key, { email: "cap@example.com", metadata: start });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => call(`/v1/customers/${id}`, { method: "PATCH", key, json: { metadata: { [`a${i}`]: "1", [`b${i}`]: "2" } } })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 422)).toHaveLength(30);
    const { metadata } = (await (await get(key, id)).json()) as Customer;
    expect(Object.keys(metadata!)).toHaveLength(50);
  });

  it("20 concurrent PATCHes with one Idempotency-Key apply once and all answer as the winner did", async () => {
    const { key } = await newKey();
    const { id } = await createCustomer(key, { email: "same-key@example.com" });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => call(`/v1/customers/${id}`, { method: "PATCH", key, json: { metadata: { n: "1" } }, headers: { "Idempotency-Key": "race-patch" } })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const etags = new Set(responses.map((r) => r.headers.get("ETag")));
    expect(etags.size).toBe(1); // one update happened; every other answer is its replay
    const bodies = new Set(await Promise.all(responses.map((r) => r.text())));
    expect(bodies.size).toBe(1);
    expect((await get(key, id)).headers.get("ETag")).toBe([...etags][0]);
  });

  it("10 concurrent DELETEs with one Idempotency-Key all answer 204: the losers replay the winner", async () => {
    const { key } = await newKey();
    const { id } = await createCustomer(key, { email: "same-delete@example.com" });
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => call(`/v1/customers/${id}`, { method: "DELETE", key, headers: { "Idempotency-Key": "race-delete" } })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(204));
    expect(responses.filter((r) => r.headers.get("Idempotent-Replayed") === null)).toHaveLength(1);
    expect((await get(key, id)).status).toBe(404);
  });

  it("10 concurrent DELETEs without a key: one 204, nine 404, and exactly one customer.deleted event", async () => {
    const { key } = await newKey();
    const { id } = await createCustomer(key, { email: "unkeyed-delete@example.com" });
    const statuses = (await Promise.all(Array.from({ length: 10 }, () => call(`/v1/customers/${id}`, { method: "DELETE", key })))).map((r) => r.status);
    expect(statuses.sort()).toEqual([204, ...Array(9).fill(404)]);
    const events = await env.DB.prepare("SELECT count(*) AS n FROM webhook_events WHERE entity_id = ? AND event_name = 'customer.deleted'").bind(id).first<{ n: number }>();
    expect(events!.n).toBe(1);
  });

  it("a PATCH racing a DELETE never resurrects the customer", async () => {
    const { key } = await newKey();
    for (let round = 0; round < 10; round++) {
      const { id } = await createCustomer(key, { email: `resurrect${round}@example.com` });
      const [patched, deleted] = await Promise.all([
        call(`/v1/customers/${id}`, { method: "PATCH", key, json: { name: "late", metadata: { x: "y" } } }),
        call(`/v1/customers/${id}`, { method: "DELETE", key }),
      ]);
      expect(deleted.status).toBe(204);
      expect([200, 404]).toContain(patched.status);
      expect((await get(key, id)).status).toBe(404);
      const row = await env.DB.prepare("SELECT count(*) AS n FROM customers WHERE id = ?").bind(id).first<{ n: number }>();
      expect(row!.n).toBe(0);
    }
  });
});

describe("erasure", () => {
  it("after a DELETE, no text column of any table holds the deleted email, name or any metadata value", async () => {
    const { key, accountId } = await newKey();
    const email = "erase-me-7f3a@example.com";
    const name = "Erase Me Name 7f3a";
    const values = ["secret-value-7f3a-1", "secret-value-7f3a-2"];
    const created = await call("/v1/customers", { key, json: { email, name, metadata: { a: values[0] } }, headers: { "Idempotency-Key": "erase-1" } });
    const { id } = (await created.json()) as Customer;
    await call(`/v1/customers/${id}`, { method: "PATCH", key, json: { metadata: { b: values[1] } }, headers: { "Idempotency-Key": "erase-2" } });
    expect((await call(`/v1/customers/${id}`, { method: "DELETE", key, headers: { "Idempotency-Key": "erase-3" } })).status).toBe(204);

    const tables = (await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").all<{ name: string }>()).results;
    expect(tables.map((t) => t.name)).toContain("idempotency_keys");
    let columnsSearched = 0;
    for (const { name: table } of tables) {
      const columns = (await env.DB.prepare(`SELECT name, type FROM pragma_table_info('${table}')`).all<{ name: string; type: string }>()).results;
      for (const column of columns.filter((c) => /text/i.test(c.type))) {
        columnsSearched++;
        for (const needle of [email, name, ...values]) {
          const hit = await env.DB.prepare(`SELECT count(*) AS n FROM "${table}" WHERE instr("${column.name}", ?) > 0`).bind(needle).first<{ n: number }>();
          expect(hit!.n, `${table}.${column.name} still holds ${needle}`).toBe(0);
        }
      }
    }
    expect(columnsSearched).toBeGreaterThan(5);
    // What remains is what pagination and audit need.
    const tombstone = await env.DB.prepare("SELECT account_id, testmode, created_at FROM customer_tombstones WHERE id = ?").bind(id).first();
    expect(tombstone).toMatchObject({ account_id: accountId, testmode: 1 });
  });
});

describe("walking pages while customers are deleted", () => {
  it("gives no 4xx and no duplicate from the first page to the end", async () => {
    const { key } = await newKey();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await createCustomer(key, { email: `walk${i}@example.com` })).id);
    const seen: string[] = [];
    let url: string | null = "/v1/customers?limit=5";
    let victim = ids.length - 1;
    while (url) {
      const response = await call(url, { key });
      expect(response.status).toBe(200);
      const page = (await response.json()) as ListBody;
      seen.push(...page.data.map((c) => c.id));
      // Delete the last customer of this page (the next cursor) and one further on, as other clients would.
      const last = page.data.at(-1);
      await Promise.all([
        last && call(`/v1/customers/${last.id}`, { method: "DELETE", key }),
        call(`/v1/customers/${ids[(victim -= 7) >= 0 ? victim : 0]}`, { method: "DELETE", key }),
      ]);
      url = page.links.next && new URL(page.links.next.href).pathname + new URL(page.links.next.href).search;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThan(10);
  });
});
