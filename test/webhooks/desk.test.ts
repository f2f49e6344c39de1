// The developer's desk: an event's delivery history (attempts with status or error, newest first, and the delivery
// state) and resend (a new attempt now, also after the event failed for good; replayed by its Idempotency-Key;
// refused for a deleted endpoint or an erased customer; counted by the rate limit).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, callWithEnv, expectError, newKey } from "../helpers";
import { accountWithEndpoint, consume } from "./helpers";

interface Attempts {
  data: { resource: string; attempt: number; endpointId: string | null; url: string; attemptedAt: string; status: number | null; error: string | null; durationMs: number }[];
  count: number;
  delivery: { state: string; nextAttemptAt: string | null };
}

const attemptsOf = async (key: string, eventId: string) => {
  const response = await call(`/v1/webhook-events/${eventId}/attempts`, { key });
  expect(response.status).toBe(200);
  return (await response.json()) as Attempts;
};

describe("GET /v1/webhook-events/:id/attempts", () => {
  it("records an attempt a receiver failed, then one it took, newest first, with the delivery state", async () => {
    const { key, api, sent, endpoint } = await accountWithEndpoint("https://desk.example/hooks");
    await api("/v1/customers", { json: { email: "history@example.com" } });
    const message = sent.at(-1)!;
    await consume([message], () => new Response("down", { status: 503 }));
    const pending = await attemptsOf(key, message.eventId);
    expect(pending.delivery.state).toBe("pending");
    expect(Date.parse(pending.delivery.nextAttemptAt!)).toBeGreaterThan(Date.now());
    expect(pending.data).toEqual([expect.objectContaining({ resource: "webhook_attempt", attempt: 1, endpointId: endpoint.id, url: "https://desk.example/hooks", status: 503, error: null })]);
    await consume([message], () => { throw new DOMException("The operation timed out.", "TimeoutError"); });
    await consume([message], () => new Response("ok"));
    const done = await attemptsOf(key, message.eventId);
    expect(done.delivery).toEqual({ state: "delivered", nextAttemptAt: null });
    expect(done.data.map((a) => [a.attempt, a.status, a.error])).toEqual([[3, 200, null], [2, null, "No answer within 10 s"], [1, 503, null]]);
    expect(done.count).toBe(3);
    for (const a of done.data) expect(a.durationMs).toBeGreaterThanOrEqual(0);
    // Another account (or mode) sees nothing of it.
    await expectError(await call(`/v1/webhook-events/${message.eventId}/attempts`, { key: (await newKey()).key }), 404);
    await expectError(await call("/v1/webhook-events/webhook_event_nope/attempts", { key }), 404);
  });
});

describe("POST /v1/webhook-events/:id/resend", () => {
  it("sends a failed event again now: 202 with the event, the attempt in the history; the same key replays without a second send", async () => {
    const { key, api, sent } = await accountWithEndpoint();
    await api("/v1/customers", { json: { email: "resend@example.com" } });
    const message = sent.at(-1)!;
    await consume([message], () => new Response("no", { status: 500 }));
    // Out of attempts, as after the whole schedule.
    await env.DB.prepare("UPDATE webhook_events SET delivery = 'failed', attempts = 10 WHERE id = ?").bind(message.eventId).run();
    const before = sent.length;
    const resent = await api(`/v1/webhook-events/${message.eventId}/resend`, { method: "POST", headers: { "Idempotency-Key": "resend-1" } });
    expect(resent.status).toBe(202);
    const event = await resent.json();
    expect(event).toEqual(await (await call(`/v1/webhook-events/${message.eventId}`, { key })).json());
    expect(sent.length).toBe(before + 1);
    expect(sent.at(-1)).toMatchObject({ eventId: message.eventId });
    const { received } = await consume([sent.at(-1)!], () => new Response("ok"));
    expect(received).toHaveLength(1);
    const history = await attemptsOf(key, message.eventId);
    expect(history.delivery.state).toBe("delivered");
    expect(history.data[0]).toMatchObject({ attempt: 11, status: 200 });
    const replay = await api(`/v1/webhook-events/${message.eventId}/resend`, { method: "POST", headers: { "Idempotency-Key": "resend-1" } });
    expect(replay.status).toBe(202);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await replay.json()).toEqual(event);
    expect(sent.length).toBe(before + 1);
  });

  it("refuses with 409 when the endpoint is gone or the customer was erased, and 404 for an event not the caller's", async () => {
    const { api, sent, endpoint } = await accountWithEndpoint();
    const created = (await (await api("/v1/customers", { json: { email: "erased@example.com" } })).json()) as { id: string };
    const createdEvent = sent.at(-1)!.eventId;
    expect((await api(`/v1/customers/${created.id}`, { method: "DELETE" })).status).toBe(204);
    const erased = await api(`/v1/webhook-events/${createdEvent}/resend`, { method: "POST" });
    expect((await expectError(erased, 409)).message).toMatch(/erased: its data is never sent again/);
    await api("/v1/customers", { json: { email: "kept@example.com" } });
    const kept = sent.at(-1)!.eventId;
    expect((await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "DELETE" })).status).toBe(204);
    const gone = await api(`/v1/webhook-events/${kept}/resend`, { method: "POST", headers: { "Idempotency-Key": "gone-1" } });
    expect((await expectError(gone, 409)).message).toMatch(/endpoint this event was for has been deleted/);
    await expectError(await call(`/v1/webhook-events/${kept}/resend`, { key: (await newKey()).key, method: "POST" }), 404);
  });

  it("counts against the account's rate limit", async () => {
    const { key, api, sent, overrides } = await accountWithEndpoint();
    await api("/v1/customers", { json: { email: "limited@example.com" } });
    const eventId = sent.at(-1)!.eventId;
    // 10 requests per 10 s (vitest.config.ts): 25 at once put more than 10 in one window, however the windows fall.
    const limited = { ...overrides, RATE_LIMITER: env.TEST_RATE_LIMITER };
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await callWithEnv(limited, `/v1/webhook-events/${eventId}/resend`, { key, method: "POST" })).status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 429 && s !== 202)).toEqual([]);
  });

  it("erases an event's attempts with its customer: nothing left links the history to the erased customer", async () => {
    const { key, api, sent } = await accountWithEndpoint();
    const created = (await (await api("/v1/customers", { json: { email: "history-erased@example.com" } })).json()) as { id: string };
    const message = sent.at(-1)!;
    await consume([message], () => new Response("down", { status: 500 }));
    expect((await attemptsOf(key, message.eventId)).count).toBe(1);
    expect((await api(`/v1/customers/${created.id}`, { method: "DELETE" })).status).toBe(204);
    const after = await attemptsOf(key, message.eventId);
    expect(after.data).toEqual([]);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM webhook_attempts WHERE event_id = ?").bind(message.eventId).first<{ n: number }>();
    expect(left!.n).toBe(0);
  });
});

