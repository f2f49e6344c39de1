// An erasure forgets everything that held a copy of the customer, whichever route stored it: after every keyed route
// that can answer with the customer has run, the delete leaves none of its email, name or metadata in any table of
// any shard or in KV. The scan reads every table sqlite_master lists, so a table added later is covered too.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectError } from "../helpers";
import { randomBase62 } from "../../src/lib/ids";
import { accountWithEndpoint, consume } from "../webhooks/helpers";

const SHARDS = ["DB", "DB_1", "DB_2"] as const;

/** Every row of every table of every shard, as text, and every KV key and value: where the needles are found. */
async function findEverywhere(needles: string[]): Promise<string[]> {
  const found: string[] = [];
  const decoder = new TextDecoder();
  const asText = (value: unknown) => (value instanceof ArrayBuffer || ArrayBuffer.isView(value) ? decoder.decode(value as ArrayBuffer) : String(value));
  for (const shard of SHARDS) {
    const db = env[shard];
    const tables = await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").all<{ name: string }>();
    for (const { name } of tables.results) {
      const rows = await db.prepare(`SELECT * FROM "${name}"`).raw();
      for (const row of rows) {
        const text = row.map(asText).join("\u0001").toLowerCase();
        for (const needle of needles) if (text.includes(needle.toLowerCase())) found.push(`${shard}.${name}: ${needle}`);
      }
    }
  }
  let cursor: string | undefined;
  do {
    const page = await env.API_KEYS.list({ cursor });
    for (const { name } of page.keys) {
      const text = `${name}\u0001${await env.API_KEYS.get(name)}`.toLowerCase();
      for (const needle of needles) if (text.includes(needle.toLowerCase())) found.push(`KV ${name}: ${needle}`);
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return found;
}

describe("erasure", () => {
  it("leaves none of the customer's data anywhere after every keyed route that can store a copy of it has run", async () => {
    const { api, sent } = await accountWithEndpoint();
    const tag = randomBase62(10);
    const email = `erase-me-${tag}@example.com`;
    const names = [`Zebulon ${tag}`, `Quillon ${tag}`];
    const metadata = { [`favourite_${tag}`]: `rutabaga-${tag}`, [`plan_${tag}`]: `secretplan-${tag}` };
    const keyed = (key: string) => ({ headers: { "Idempotency-Key": `${key}-${tag}` } });
    const created = await api("/v1/customers", { json: { email, name: names[0], metadata }, ...keyed("create") });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const createdEvent = sent.at(-1)!;
    const updated = await api(`/v1/customers/${id}`, { method: "PATCH", json: { name: names[1], metadata: { other: `again-${tag}` } }, ...keyed("update") });
    expect(updated.status).toBe(200);
    const updatedEvent = sent.at(-1)!;
    // An empty PATCH stores nothing new, but runs with its key like any write.
    expect((await api(`/v1/customers/${id}`, { method: "PATCH", json: {}, ...keyed("noop") })).status).toBe(200);
    await consume([createdEvent, updatedEvent], () => new Response(`receiver saw ${email}`, { status: 500 }));
    for (const event of [createdEvent, updatedEvent]) {
      const resent = await api(`/v1/webhook-events/${event.eventId}/resend`, { method: "POST", ...keyed(`resend-${event.eventId}`) });
      expect(resent.status).toBe(202);
      expect(await resent.text()).toContain(email);
    }
    const needles = [email, ...names, ...Object.keys(metadata), ...Object.values(metadata), `again-${tag}`];
    expect((await findEverywhere(needles)).length).toBeGreaterThan(0); // the scan sees the data while it exists
    expect((await api(`/v1/customers/${id}`, { method: "DELETE", ...keyed("delete") })).status).toBe(204);
    expect(await findEverywhere(needles)).toEqual([]);
    // The same keyed resends are no replay of erased data: the customer's data is never answered again.
    for (const event of [createdEvent, updatedEvent]) {
      const again = await api(`/v1/webhook-events/${event.eventId}/resend`, { method: "POST", ...keyed(`resend-${event.eventId}`) });
      expect(again.headers.get("Idempotent-Replayed")).toBeNull();
      expect((await expectError(again, 409)).message).toMatch(/erased/);
    }
    expect(await findEverywhere(needles)).toEqual([]);
  });

  it("resends customer.deleted after the erasure: it carries no data, and tells the receiver to erase its copy", async () => {
    const { api, sent } = await accountWithEndpoint();
    const { id } = (await (await api("/v1/customers", { json: { email: `gone-${randomBase62(8)}@example.com` } })).json()) as { id: string };
    expect((await api(`/v1/customers/${id}`, { method: "DELETE" })).status).toBe(204);
    const deleted = sent.at(-1)!;
    await consume([deleted], () => new Response("down", { status: 503 }));
    const before = sent.length;
    const resent = await api(`/v1/webhook-events/${deleted.eventId}/resend`, { method: "POST", headers: { "Idempotency-Key": `resend-deleted-${id}` } });
    expect(resent.status).toBe(202);
    const body = (await resent.json()) as { eventName: string; entityId: string; object: unknown };
    expect(body).toMatchObject({ eventName: "customer.deleted", entityId: id, object: null });
    expect(sent.slice(before)).toEqual([expect.objectContaining({ eventId: deleted.eventId })]);
  });
});
