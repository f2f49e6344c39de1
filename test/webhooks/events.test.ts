import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { deleteOldEvents, EVENT_RETENTION_MS } from "../../src/jobs/cron";
import { callWithEnv, expectError, newKey } from "../helpers";
import { accountWithEndpoint, recordingQueue } from "./helpers";

type Event = { id: string; resource: string; eventName: string; entityType: string; entityId: string; createdAt: string; testmode: boolean; object: Record<string, unknown> | null; links: { self: { href: string } } };
type EventList = { data: Event[]; count: number; links: { next: { href: string } | null; prev: { href: string } | null } };

describe("events", () => {
  it("records customer.created, customer.updated and customer.deleted with the customer as it was right after the change", async () => {
    const { api, sent } = await accountWithEndpoint();
    const created = await (await api("/v1/customers", { json: { email: "ev@example.com", name: "Ev", metadata: { a: "1" } } })).json() as { id: string };
    const updated = await (await api(`/v1/customers/${created.id}`, { method: "PATCH", json: { metadata: { b: "2" } } })).json();
    expect((await api(`/v1/customers/${created.id}`, { method: "DELETE" })).status).toBe(204);

    const list = (await (await api("/v1/webhook-events?limit=10")).json()) as EventList;
    expect(list.data.map((e) => e.eventName)).toEqual(["customer.deleted", "customer.updated", "customer.created", "webhook.setup"]);
    const [deleted, upd, cre, setup] = list.data as [Event, Event, Event, Event];
    for (const e of [deleted, upd, cre]) {
      expect(Object.keys(e)).toEqual(["id", "resource", "eventName", "entityType", "entityId", "createdAt", "testmode", "object", "links"]);
      expect(e).toMatchObject({ resource: "webhook_event", entityType: "customer", entityId: created.id, testmode: true });
      expect(e.id).toMatch(/^webhook_event_[0-9A-Za-z]{22}$/);
      expect(e.links.self.href).toBe(`http://api.test/v1/webhook-events/${e.id}`);
    }
    // Erasure: once deleted, no stored event still holds the customer.
    expect(cre.object).toBeNull();
    expect(upd.object).toBeNull();
    expect(deleted.object).toBeNull();
    expect(setup).toMatchObject({ entityType: "webhook", eventName: "webhook.setup" });
    expect(updated).toMatchObject({ metadata: { a: "1", b: "2" } });
    // Each committed event was handed to the queue after commit.
    expect(sent.map((m) => m.eventId)).toEqual([setup.id, cre.id, upd.id, deleted.id]);
  });

  it("holds the customer object in created and updated events until the customer is deleted", async () => {
    const { api } = await accountWithEndpoint();
    const customer = await (await api("/v1/customers", { json: { email: "obj@example.com" } })).json() as { id: string };
    const changed = await (await api(`/v1/customers/${customer.id}`, { method: "PATCH", json: { name: "New", metadata: { k: "v" } } })).json();
    const events = ((await (await api("/v1/webhook-events?eventName=customer.updated")).json()) as EventList).data;
    expect(events).toHaveLength(1);
    expect(events[0]!.object).toEqual(changed);
    const createdEvent = ((await (await api("/v1/webhook-events?eventName=customer.created")).json()) as EventList).data[0]!;
    expect(createdEvent.object).toEqual({ ...(changed as object), name: null, metadata: {} });
    const one = await api(`/v1/webhook-events/${createdEvent.id}`);
    expect(await one.json()).toEqual(createdEvent);
  });

  it("records events without an endpoint too (listable), but enqueues nothing", async () => {
    const { key } = await newKey();
    const { sent, queue } = recordingQueue();
    expect((await callWithEnv({ WEBHOOK_QUEUE: queue }, "/v1/customers", { key, json: { email: "noep@example.com" } })).status).toBe(201);
    const list = (await (await callWithEnv({}, "/v1/webhook-events", { key })).json()) as EventList;
    expect(list.data.map((e) => e.eventName)).toEqual(["customer.created"]);
    expect(sent).toEqual([]);
  });

  it("writes no event when the change fails", async () => {
    const { api, accountId } = await accountWithEndpoint();
    expect((await api("/v1/customers", { json: { email: "dup@example.com" } })).status).toBe(201);
    await expectError(await api("/v1/customers", { json: { email: "DUP@example.com" } }), 422);
    await expectError(await api("/v1/customers/cus_0000000000000000000000", { method: "PATCH", json: { name: "x" } }), 404);
    await expectError(await api("/v1/customers/cus_0000000000000000000000", { method: "DELETE" }), 404);
    const failing = {
      ...env.DB,
      withSession: (c?: string) => {
        const s = env.DB.withSession(c);
        return { ...s, prepare: s.prepare.bind(s), getBookmark: s.getBookmark.bind(s), batch: async () => { throw new Error("D1_ERROR: simulated"); } } as unknown as D1DatabaseSession;
      },
    } as D1Database;
    expect((await callWithEnv({ DB: failing }, "/v1/customers", { key: (await newKey({ accountId })).key, json: { email: "fail@example.com" } })).status).toBe(500);
    const names = await env.DB.prepare("SELECT event_name FROM webhook_events WHERE account_id = ? ORDER BY id").bind(accountId).all<{ event_name: string }>();
    expect(names.results.map((r) => r.event_name)).toEqual(["webhook.setup", "customer.created"]);
  });

  it("scopes events to the account and mode; lists with cursors, limits and the eventName filter", async () => {
    const { api } = await accountWithEndpoint();
    for (let i = 0; i < 4; i++) await api("/v1/customers", { json: { email: `page${i}@example.com` } });
    const first = (await (await api("/v1/webhook-events?limit=2")).json()) as EventList;
    expect(first.count).toBe(2);
    const next = first.links.next!.href.replace("http://api.test", "");
    const second = (await (await api(next)).json()) as EventList;
    expect(second.data.map((e) => e.id).some((id) => first.data.some((e) => e.id === id))).toBe(false);
    expect(second.links.prev).not.toBeNull();
    const filtered = (await (await api("/v1/webhook-events?eventName=webhook.setup")).json()) as EventList;
    expect(filtered.data.map((e) => e.eventName)).toEqual(["webhook.setup"]);
    await expectError(await api("/v1/webhook-events?eventName=customer.exploded"), 422);
    await expectError(await api("/v1/webhook-events?startingAfter=cus_0000000000000000000000"), 422);
    const other = await newKey();
    await expectError(await callWithEnv({}, `/v1/webhook-events/${first.data[0]!.id}`, { key: other.key }), 404, "Webhook event not found.");
    const live = await newKey({ mode: "live" });
    expect(((await (await callWithEnv({}, "/v1/webhook-events", { key: live.key })).json()) as EventList).count).toBe(0);
  });

  it("keeps events 30 days: the hourly cron removes older ones", async () => {
    const { api, accountId } = await accountWithEndpoint();
    await api("/v1/customers", { json: { email: "old-event@example.com" } });
    await env.DB.prepare("UPDATE webhook_events SET created_at = created_at - ? WHERE account_id = ? AND event_name = 'webhook.setup'").bind(EVENT_RETENTION_MS + 60_000, accountId).run();
    expect(await deleteOldEvents(env)).toBeGreaterThanOrEqual(1);
    const left = await env.DB.prepare("SELECT event_name FROM webhook_events WHERE account_id = ?").bind(accountId).all<{ event_name: string }>();
    expect(left.results.map((r) => r.event_name)).toEqual(["customer.created"]);
    // The same job runs from the Worker's scheduled handler.
    await env.DB.prepare("UPDATE webhook_events SET created_at = created_at - ? WHERE account_id = ?").bind(EVENT_RETENTION_MS + 60_000, accountId).run();
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ cron: "17 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM webhook_events WHERE account_id = ?").bind(accountId).first<{ n: number }>())!.n).toBe(0);
  });
});
