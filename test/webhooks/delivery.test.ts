import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_DELAYS, retryDelays } from "../../src/jobs/deliver";
import { SWEEP_GRACE_MS, sweepUndelivered } from "../../src/jobs/cron";
import type { DeliveryMessage } from "../../src/env";
import { verifyWebhook } from "../../client/src/webhooks";
import { standardWebhooksSecret } from "../../src/webhooks/signature";
import { callWithEnv } from "../helpers";
import { accountWithEndpoint, consume, eventRow, hmacBase64, hmacHex, recordingQueue, SECRET } from "./helpers";

const ok = () => new Response("ok");

describe("delivery (the queue consumer)", () => {
  it("POSTs the event body with a Vatly-Signature an independent HMAC agrees with, and Standard Webhooks headers", async () => {
    const { api, sent } = await accountWithEndpoint();
    await api("/v1/customers", { json: { email: "signed@example.com" } });
    const message = sent.at(-1)!;
    const { result, received } = await consume([message], ok);
    expect(result.explicitAcks).toEqual(["m0"]);
    const [request] = received as [Request];
    expect(request.method).toBe("POST");
    expect(request.url).toBe("https://receiver.example/hooks");
    expect(request.headers.get("Content-Type")).toBe("application/json");
    const body = await request.text();
    const event = JSON.parse(body) as { id: string; eventName: string; object: { email: string } };
    expect(event).toMatchObject({ id: message.eventId, eventName: "customer.created", object: { email: "signed@example.com" } });
    expect(request.headers.get("Vatly-Signature")).toBe(await hmacHex(SECRET, body));
    expect(request.headers.get("Vatly-Signature")).toMatch(/^[0-9a-f]{64}$/);
    const id = request.headers.get("webhook-id")!;
    const timestamp = request.headers.get("webhook-timestamp")!;
    expect(id).toBe(event.id);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    expect(request.headers.get("webhook-signature")).toBe(`v1,${await hmacBase64(SECRET, `${id}.${timestamp}.${body}`)}`);
    // The body is the event as the API serves it.
    expect(JSON.parse(body)).toEqual(await (await api(`/v1/webhook-events/${event.id}`)).json());
    expect(await eventRow(message.eventId)).toMatchObject({ delivery: "delivered", attempts: 1 });
  });

  it("records every attempt (time, status or error) and never the secret", async () => {
    const { api, sent } = await accountWithEndpoint();
    await api("/v1/customers", { json: { email: "attempts@example.com" } });
    const message = sent.at(-1)!;
    await consume([message], () => new Response("no", { status: 503 }));
    await consume([message], () => { throw new TypeError("connection refused"); });
    await consume([message], ok);
    const attempts = await env.DB.prepare("SELECT * FROM webhook_attempts WHERE event_id = ? ORDER BY attempt").bind(message.eventId).all();
    expect(attempts.results).toMatchObject([
      { attempt: 1, status: 503, error: null },
      { attempt: 2, status: null, error: "connection refused" },
      { attempt: 3, status: 200, error: null },
    ]);
    expect(JSON.stringify(attempts.results)).not.toContain(SECRET);
  });

  it("retries failures with growing delays chosen by the consumer, then dead-letters; the event stays retrievable", async () => {
    const { api, sent, dead } = await accountWithEndpoint();
    await api("/v1/customers", { json: { email: "retry@example.com" } });
    const message = sent.at(-1)!;
    const delays: number[] = [];
    for (let attempt = 1; attempt <= DEFAULT_RETRY_DELAYS.length; attempt++) {
      const { result } = await consume([message], () => new Response("down", { status: 500 }), { WEBHOOK_DEAD_LETTERS: recordingQueue().queue }, attempt);
      expect(result.retryMessages).toHaveLength(1);
      delays.push(result.retryMessages[0]!.delaySeconds!);
    }
    expect(delays).toEqual(DEFAULT_RETRY_DELAYS);
    expect(delays.length + 1).toBeGreaterThanOrEqual(8);
    expect(delays.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(24 * 3600);
    for (let i = 1; i < delays.length; i++) expect(delays[i]!).toBeGreaterThanOrEqual(delays[i - 1]!);
    // The last attempt fails too: dead-lettered, acknowledged, marked failed, still in the API.
    const deadLetters = recordingQueue();
    const { result } = await consume([message], () => new Response("down", { status: 500 }), { WEBHOOK_DEAD_LETTERS: deadLetters.queue });
    expect(result.explicitAcks).toEqual(["m0"]);
    expect(deadLetters.sent).toEqual([message]);
    expect(await eventRow(message.eventId)).toMatchObject({ delivery: "failed", attempts: DEFAULT_RETRY_DELAYS.length + 1 });
    expect((await api(`/v1/webhook-events/${message.eventId}`)).status).toBe(200);
    expect(dead).toEqual([]);
  });

  it("treats a timeout, a redirect and a connection error as failures", async () => {
    const { api, sent } = await accountWithEndpoint();
    await api("/v1/customers", { json: { email: "timeout@example.com" } });
    const message = sent.at(-1)!;
    const timeout = await consume([message], () => { throw new DOMException("The operation timed out.", "TimeoutError"); });
    expect(timeout.result.retryMessages.map((m) => m.delaySeconds)).toEqual([DEFAULT_RETRY_DELAYS[0]]);
    const redirect = await consume([message], () => new Response(null, { status: 302, headers: { Location: "https://elsewhere.example" } }));
    expect(redirect.result.retryMessages).toHaveLength(1);
    // workerd's error for a closed port (connection refused), as it reports it.
    await consume([message], () => { throw new Error("Network connection lost."); });
    const row = await env.DB.prepare("SELECT error, status FROM webhook_attempts WHERE event_id = ? ORDER BY attempt").bind(message.eventId).all();
    expect(row.results).toMatchObject([{ error: "No answer within 10 s", status: null }, { status: 302 }, {
      error: "Connection refused or lost before an answer: is anything listening at receiver.example? (Network connection lost.)", status: null,
    }]);
  });

  it("sends nothing to a deleted endpoint, and a changed url takes effect for deliveries not yet attempted", async () => {
    const { api, sent, endpoint } = await accountWithEndpoint();
    await api("/v1/customers", { json: { email: "moved@example.com" } });
    const pending = sent.at(-1)!;
    await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { url: "https://moved.example/hooks" } });
    const moved = await consume([pending], ok);
    expect(moved.received.map((r) => r.url)).toEqual(["https://moved.example/hooks"]);

    await api("/v1/customers", { json: { email: "orphan@example.com" } });
    const orphan = sent.at(-1)!;
    expect((await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "DELETE" })).status).toBe(204);
    const none = await consume([orphan], ok);
    expect(none.received).toEqual([]);
    expect(none.result.explicitAcks).toEqual(["m0"]);
    expect(await eventRow(orphan.eventId)).toMatchObject({ delivery: "none" });
  });

  it("signs with both secrets for 24 hours after a rotation; Vatly-Signature uses the new one", async () => {
    const { api, sent, endpoint } = await accountWithEndpoint();
    const rotated = "whsec-rotated-secret-456";
    expect((await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { secret: rotated } })).status).toBe(200);
    await api("/v1/customers", { json: { email: "rotate@example.com" } });
    const { received } = await consume([sent.at(-1)!], ok);
    const request = received[0]!;
    const body = await request.text();
    const signed = `${request.headers.get("webhook-id")}.${request.headers.get("webhook-timestamp")}.${body}`;
    expect(request.headers.get("Vatly-Signature")).toBe(await hmacHex(rotated, body));
    expect(request.headers.get("webhook-signature")).toBe(`v1,${await hmacBase64(rotated, signed)} v1,${await hmacBase64(SECRET, signed)}`);
    // The rotation's promise, in the project's own verifier: the old secret alone and the new one alone both verify;
    // a secret that signed nothing, or a signature cut short or emptied, never does.
    const event = JSON.parse(body) as { id: string };
    expect((await verifyWebhook(body, request.headers, { secrets: SECRET })).id).toBe(event.id);
    expect((await verifyWebhook(body, request.headers, { secrets: rotated })).id).toBe(event.id);
    await expect(verifyWebhook(body, request.headers, { secrets: "whsec-never-configured-0" })).rejects.toThrow(/webhook-signature does not match/);
    const tampered = (signature: string) => {
      const headers = new Headers(request.headers);
      headers.set("webhook-signature", signature);
      return headers;
    };
    const full = request.headers.get("webhook-signature")!.split(" ")[1]!;
    for (const cut of [full.slice(0, -4), "v1,", "", full.slice(0, 3 + 10)]) {
      await expect(verifyWebhook(body, tampered(cut), { secrets: SECRET }), cut).rejects.toThrow(/does not match|Missing/);
    }
    await expect(verifyWebhook(`${body} `, request.headers, { secrets: SECRET })).rejects.toThrow();
    // Past the 24 hours, only the new secret signs.
    await env.DB.prepare("UPDATE webhook_endpoints SET previous_secret_until = ? WHERE id = ?").bind(Date.now() - 1, endpoint.id).run();
    await api("/v1/customers", { json: { email: "rotate2@example.com" } });
    const later = (await consume([sent.at(-1)!], ok)).received[0]!;
    expect(later.headers.get("webhook-signature")!.split(" ")).toHaveLength(1);
  });

  it("verifyWebhook refuses a replay made by dropping the Standard Webhooks headers, unless replays are accepted by name; it takes the whsec_ form of the secret too", async () => {
    const { api, sent } = await accountWithEndpoint();
    await api("/v1/customers", { json: { email: "replayed@example.com" } });
    const request = (await consume([sent.at(-1)!], ok)).received[0]!;
    const body = await request.text();
    const event = JSON.parse(body) as { id: string };
    // A copy of a genuine delivery, sent again a week later without webhook-id, webhook-timestamp and webhook-signature.
    const replay = new Headers({ "Content-Type": "application/json", "Vatly-Signature": request.headers.get("Vatly-Signature")! });
    await expect(verifyWebhook(body, replay, { secrets: SECRET })).rejects.toThrow(/Missing the Standard Webhooks headers .* cannot be told from a replay/);
    await expect(verifyWebhook(body, replay, { secrets: SECRET, now: Math.floor(Date.now() / 1000) + 7 * 86400 })).rejects.toThrow(/replay/);
    // Accepted only when asked for by that name, and still only with the right secret.
    expect((await verifyWebhook(body, replay, { secrets: SECRET, acceptReplayableVatlySignature: true })).id).toBe(event.id);
    await expect(verifyWebhook(body, replay, { secrets: "another-secret-000", acceptReplayableVatlySignature: true })).rejects.toThrow(/Vatly-Signature does not match/);
    // The whsec_ form webhooks:listen prints (the same key, base64) verifies like the secret itself; a wrong one does not.
    const whsec = standardWebhooksSecret(SECRET);
    expect(whsec).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    expect((await verifyWebhook(body, request.headers, { secrets: whsec })).id).toBe(event.id);
    expect((await verifyWebhook(body, replay, { secrets: whsec, acceptReplayableVatlySignature: true })).id).toBe(event.id);
    await expect(verifyWebhook(body, request.headers, { secrets: standardWebhooksSecret("another-secret-000") })).rejects.toThrow(/does not match/);
  });

  it("takes its retry schedule from WEBHOOK_RETRY_DELAYS (what the end-to-end run shortens), ignoring a malformed one", () => {
    expect(retryDelays({ ...env, WEBHOOK_RETRY_DELAYS: "1,2,3" })).toEqual([1, 2, 3]);
    expect(retryDelays({ ...env, WEBHOOK_RETRY_DELAYS: "1,x" })).toEqual(DEFAULT_RETRY_DELAYS);
    expect(retryDelays({ ...env, WEBHOOK_RETRY_DELAYS: "1,,2" })).toEqual(DEFAULT_RETRY_DELAYS);
    expect(retryDelays({ ...env, WEBHOOK_RETRY_DELAYS: "50000" })).toEqual(DEFAULT_RETRY_DELAYS);
    expect(retryDelays({ ...env, WEBHOOK_RETRY_DELAYS: "" })).toEqual(DEFAULT_RETRY_DELAYS);
    expect(retryDelays(env)).toEqual(DEFAULT_RETRY_DELAYS); // wrangler.toml states the default
  });
});

describe("the API and failing deliveries", () => {
  it("a queue send that fails after commit changes nothing in the answer, and the sweep re-sends the event", async () => {
    const { key, api } = await accountWithEndpoint();
    const broken = { send: async () => { throw new Error("queue unavailable"); } } as unknown as Queue;
    const response = await callWithEnv({ WEBHOOK_QUEUE: broken }, "/v1/customers", { key, json: { email: "lost@example.com" } });
    expect(response.status).toBe(201);
    const event = ((await (await api("/v1/webhook-events?eventName=customer.created")).json()) as { data: { id: string }[] }).data[0]!;
    expect(await eventRow(event.id)).toMatchObject({ delivery: "pending", attempts: 0 });

    const swept = recordingQueue();
    const sweepEnv = { ...env, WEBHOOK_QUEUE: swept.queue };
    // Not yet overdue: in flight as far as the sweep can tell.
    await sweepUndelivered(sweepEnv, Date.now());
    expect(swept.sent.map((m) => m.eventId)).not.toContain(event.id);
    await sweepUndelivered(sweepEnv, Date.now() + SWEEP_GRACE_MS + 60_000);
    expect(swept.sent.filter((m) => m.eventId === event.id)).toHaveLength(1);
    // Claimed: the next sweep right after does not send it again.
    await sweepUndelivered(sweepEnv, Date.now() + SWEEP_GRACE_MS + 61_000);
    expect(swept.sent.filter((m) => m.eventId === event.id)).toHaveLength(1);
    const { result } = await consume(swept.sent.filter((m) => m.eventId === event.id), ok);
    expect(result.explicitAcks).toEqual(["m0"]);
    expect(await eventRow(event.id)).toMatchObject({ delivery: "delivered" });
  });

  it("answers without waiting for a queue that hangs: delivery never sits on the request's path", async () => {
    const { key } = await accountWithEndpoint();
    const hanging = { send: () => new Promise(() => {}) } as unknown as Queue;
    const started = Date.now();
    const response = await callWithEnv({ WEBHOOK_QUEUE: hanging }, "/v1/customers", { key, json: { email: "fast@example.com" } });
    expect(response.status).toBe(201);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("never re-sends an event once it is delivered or dead: the sweep takes pending ones only", async () => {
    const { api, sent } = await accountWithEndpoint();
    for (const email of ["done@example.com", "dead@example.com", "waiting@example.com"]) await api("/v1/customers", { json: { email } });
    const [done, dead, waiting] = sent.slice(-3) as [DeliveryMessage, DeliveryMessage, DeliveryMessage];
    await consume([done], ok);
    // With one retry configured, two failures exhaust the attempts.
    const oneRetry = { WEBHOOK_RETRY_DELAYS: "5", WEBHOOK_DEAD_LETTERS: recordingQueue().queue };
    for (let i = 0; i < 2; i++) await consume([dead], () => new Response("down", { status: 500 }), oneRetry);
    expect(await eventRow(done.eventId)).toMatchObject({ delivery: "delivered" });
    expect(await eventRow(dead.eventId)).toMatchObject({ delivery: "failed" });

    const swept = recordingQueue();
    await sweepUndelivered({ ...env, WEBHOOK_QUEUE: swept.queue }, Date.now() + SWEEP_GRACE_MS * 10);
    const ids = swept.sent.map((m) => m.eventId);
    expect(ids).toContain(waiting.eventId);
    expect(ids).not.toContain(done.eventId);
    expect(ids).not.toContain(dead.eventId);
  });
});
