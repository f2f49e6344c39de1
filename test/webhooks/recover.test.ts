// The dashboard's event tools as API routes: the list's filters (delivery state, customer, time range), recover (every
// failed event since a time sent again, previewed by a dry run) and an endpoint's test event.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectError } from "../helpers";
import { accountWithEndpoint } from "./helpers";

interface Event { id: string; eventName: string; entityId: string; createdAt: string; object: Record<string, unknown> | null }
interface Page { data: Event[]; links: { next: { href: string } | null } }

/** Marks events failed for good, as the consumer does after the last attempt. */
const fail = (ids: string[]) => env.DB.batch(ids.map((id) => env.DB.prepare("UPDATE webhook_events SET delivery = 'failed' WHERE id = ?").bind(id)));
const stateOf = async (id: string) => (await env.DB.prepare("SELECT delivery FROM webhook_events WHERE id = ?").bind(id).first<{ delivery: string }>())!.delivery;

async function accountWithEvents() {
  const account = await accountWithEndpoint();
  const customers: string[] = [];
  for (const email of ["a@example.com", "b@example.com", "c@example.com"]) {
    customers.push(((await (await account.api("/v1/customers", { json: { email } })).json()) as { id: string }).id);
  }
  await account.api(`/v1/customers/${customers[0]}`, { method: "PATCH", json: { name: "Renamed" } });
  const list = async (query: string) => {
    const response = await account.api(`/v1/webhook-events?${query}`);
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as Page;
  };
  const all = (await list("limit=100")).data; // newest first: updated a, created c, b, a, webhook.setup
  return { ...account, customers, list, all };
}

describe("GET /v1/webhook-events filters", () => {
  it("by delivery state, customer, name and time, alone and together, with the filters kept in the page links", async () => {
    const { list, all, customers } = await accountWithEvents();
    expect(all.map((e) => e.eventName)).toEqual(["customer.updated", "customer.created", "customer.created", "customer.created", "webhook.setup"]);
    await fail([all[0]!.id, all[2]!.id]);
    expect((await list("delivery=failed")).data.map((e) => e.id)).toEqual([all[0]!.id, all[2]!.id]);
    expect((await list("delivery=pending")).data.map((e) => e.id)).toEqual([all[1]!.id, all[3]!.id, all[4]!.id]);
    expect((await list("delivery=delivered")).data).toEqual([]);
    expect((await list(`entityId=${customers[0]}`)).data.map((e) => e.id)).toEqual([all[0]!.id, all[3]!.id]);
    expect((await list(`entityId=${customers[0]}&delivery=failed&eventName=customer.updated`)).data.map((e) => e.id)).toEqual([all[0]!.id]);
    expect((await list(`entityId=${customers[0]}&delivery=failed&eventName=customer.created`)).data).toEqual([]);
    const page = await list("delivery=pending&limit=1");
    expect(page.links.next!.href).toMatch(/\?delivery=pending&startingAfter=webhook_event_\w+&limit=1$/);
    // Time: ids carry their creation millisecond, so a range is exact to it.
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await list(`createdFrom=${future}`)).data).toEqual([]);
    expect((await list(`createdBefore=${future}&limit=100`)).data.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect((await list("createdBefore=2020-01-01")).data).toEqual([]);
    expect((await list("createdFrom=2020-01-01&limit=100")).data).toHaveLength(5);
  });

  it("refuses malformed filters with a 422 naming the parameter", async () => {
    const { api } = await accountWithEndpoint();
    for (const [query, field] of [["delivery=lost", "delivery"], ["entityId=bob", "entityId"], ["createdFrom=yesterday", "createdFrom"], ["createdBefore=2026-13-45", "createdBefore"], ["delivery=failed&delivery=pending", "delivery"]]) {
      const body = await expectError(await api(`/v1/webhook-events?${query}`), 422);
      expect(Object.keys(body.errors!), query).toEqual([field]);
    }
  });
});

describe("POST /v1/webhook-events/recover", () => {
  it("previews, then makes every failed event since the time due now, oldest first; the same key replays without sending again", async () => {
    const { api, all, sent, endpoint } = await accountWithEvents();
    await fail(all.map((e) => e.id));
    const since = all.at(-2)!.createdAt; // the first customer.created (whole seconds): the setup event may share its second
    const preview = await api("/v1/webhook-events/recover", { json: { since: "2020-01-01T00:00:00Z", dryRun: true } });
    expect(await preview.json()).toEqual({ resource: "webhook_event_recovery", since: "2020-01-01T00:00:00Z", endpointId: null, dryRun: true, count: 5, hasMore: false });
    for (const e of all) expect(await stateOf(e.id)).toBe("failed");
    const before = sent.length;
    const headers = { "Idempotency-Key": `recover-${crypto.randomUUID()}` };
    const run = await api("/v1/webhook-events/recover", { json: { since: "2020-01-01", endpointId: endpoint.id }, headers });
    expect(run.status).toBe(200);
    const body = await run.text();
    expect(JSON.parse(body)).toEqual({ resource: "webhook_event_recovery", since: "2020-01-01T00:00:00Z", endpointId: endpoint.id, dryRun: false, count: 5, hasMore: false });
    for (const e of all) expect(await stateOf(e.id)).toBe("pending");
    expect(sent.slice(before).map((m) => m.eventId)).toEqual(all.map((e) => e.id).reverse());
    const again = await api("/v1/webhook-events/recover", { json: { since: "2020-01-01", endpointId: endpoint.id }, headers });
    expect(await again.text()).toBe(body);
    expect(sent.length).toBe(before + 5);
    // Nothing failed is left: a new call recovers nothing.
    expect(await (await api("/v1/webhook-events/recover", { json: { since } })).json()).toMatchObject({ count: 0, hasMore: false });
  });

  it("leaves out events before the time, of a deleted endpoint, or that would send an erased customer's data", async () => {
    const { api, all, customers, sent } = await accountWithEvents();
    await api(`/v1/customers/${customers[2]}`, { method: "DELETE" }); // erases c: its customer.created is not sent again
    const deleted = ((await (await api("/v1/webhook-events?eventName=customer.deleted")).json()) as Page).data[0]!;
    await fail([...all.map((e) => e.id), deleted.id]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(await (await api("/v1/webhook-events/recover", { json: { since: future } })).json()).toMatchObject({ count: 0 });
    const before = sent.length;
    const run = (await (await api("/v1/webhook-events/recover", { json: { since: "2020-01-01" } })).json()) as { count: number };
    const erasedCreate = all.find((e) => e.entityId === customers[2])!.id;
    expect(sent.slice(before).map((m) => m.eventId).sort()).toEqual([...all.map((e) => e.id).filter((id) => id !== erasedCreate), deleted.id].sort());
    expect(run.count).toBe(5);
    expect(await stateOf(erasedCreate)).toBe("failed");
  });

  it("says hasMore past 1,000 in one call, and the next call takes the rest", async () => {
    const { api, all, sent } = await accountWithEvents();
    // 1,001 more failed events of the same account, copied from one (same customer, ids one millisecond apart).
    const seed = all[1]!.id;
    await env.DB.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1001)
      INSERT INTO webhook_events (id, account_id, testmode, event_name, entity_id, body, created_at, delivery, attempts, next_attempt_at, endpoint_id)
      SELECT substr(id, 1, 22) || printf('%014d', i), account_id, testmode, event_name, entity_id, body, created_at, 'failed', 10, next_attempt_at, endpoint_id
      FROM webhook_events, n WHERE id = ?`).bind(seed).run();
    expect(await (await api("/v1/webhook-events/recover", { json: { since: "2020-01-01", dryRun: true } })).json()).toMatchObject({ count: 1000, hasMore: true });
    const before = sent.length;
    expect(await (await api("/v1/webhook-events/recover", { json: { since: "2020-01-01" } })).json()).toMatchObject({ count: 1000, hasMore: true });
    expect(await (await api("/v1/webhook-events/recover", { json: { since: "2020-01-01" } })).json()).toMatchObject({ count: 1, hasMore: false });
    expect(new Set(sent.slice(before).map((m) => m.eventId)).size).toBe(1001);
  });

  it("refuses a missing or malformed since, an unknown endpoint or field, and other methods", async () => {
    const { api } = await accountWithEndpoint();
    expect(Object.keys((await expectError(await api("/v1/webhook-events/recover", { json: {} }), 422)).errors!)).toEqual(["since"]);
    expect(Object.keys((await expectError(await api("/v1/webhook-events/recover", { json: { since: "soon" } }), 422)).errors!)).toEqual(["since"]);
    expect(Object.keys((await expectError(await api("/v1/webhook-events/recover", { json: { since: "2026-01-01", endpointId: "webhook_0000000000000000000000" } }), 422)).errors!)).toEqual(["endpointId"]);
    expect(Object.keys((await expectError(await api("/v1/webhook-events/recover", { json: { since: "2026-01-01", all: true } }), 422)).errors!)).toEqual(["all"]);
    expect(Object.keys((await expectError(await api("/v1/webhook-events/recover", { json: { since: "2026-01-01", dryRun: "yes" } }), 422)).errors!)).toEqual(["dryRun"]);
    const get = await api("/v1/webhook-events/recover");
    await expectError(get, 405);
    expect(get.headers.get("Allow")).toBe("POST");
  });
});

describe("POST /v1/webhook-endpoints/:id/test", () => {
  it("sends the endpoint a webhook.setup event with the endpoint as its object; 404 for an endpoint not the caller's", async () => {
    const { api, endpoint, sent } = await accountWithEndpoint("https://receiver.example/test");
    const response = await api(`/v1/webhook-endpoints/${endpoint.id}/test`, { method: "POST" });
    expect(response.status).toBe(202);
    const event = (await response.json()) as Event;
    expect(event).toMatchObject({ eventName: "webhook.setup", entityType: "webhook", entityId: endpoint.id, object: { id: endpoint.id, url: "https://receiver.example/test" } });
    expect(sent.at(-1)!.eventId).toBe(event.id);
    expect(await (await api(`/v1/webhook-events/${event.id}`)).json()).toEqual(event);
    await expectError(await api("/v1/webhook-endpoints/webhook_0000000000000000000000/test", { method: "POST" }), 404);
  });
});
