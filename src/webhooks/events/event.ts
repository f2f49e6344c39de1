// The WebhookEvent object, and handing a committed event to the delivery queue. Its routes: list.ts, retrieve.ts.
import * as v from "valibot";
import { CUSTOMER_EXAMPLE } from "../../lib/examples";
import type { Caller, DeliveryMessage, Env } from "../../env";
import { EVENT_ID, isoSeconds, IsoSecondsSchema, newId } from "../../lib/ids";
import { link, LinkSchema } from "../../lib/links";
import { listSchema } from "../../lib/pagination";
import type { Describer } from "../../lib/describe";

export const EVENT_NAMES = ["customer.created", "customer.updated", "customer.deleted", "webhook.setup"] as const;
export const DELIVERY_STATES = ["pending", "delivered", "failed", "none"] as const;

/** A point in time as the event routes take it: an ISO 8601 date or date-time (UTC unless it says), to epoch ms. */
export const timeSchema = (name: string) => {
  const message = `The ${name} parameter must be an ISO 8601 date or date-time, such as 2026-12-01 or 2026-12-01T09:30:00Z.`;
  return v.pipe(
    v.string(message),
    // Months, days, hours, minutes and seconds in their ranges: what the pattern (also the OpenAPI document's) admits parses.
    v.regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))?$/, message),
    v.transform((text) => Date.parse(/T/.test(text) ? text : `${text}T00:00:00Z`)),
    v.check((ms) => Number.isFinite(ms), message),
  );
};
type EventName = (typeof EVENT_NAMES)[number];

/** A new event's identity, fixed before the batch that writes it. */
export interface NewEvent {
  eventId: string;
  eventName: EventName;
  entityType: "customer" | "webhook";
  entityId: string;
  eventCreatedAt: string;
  now: number;
}

export function newEvent(eventName: EventName, entityId: string, now: number): NewEvent {
  return { eventId: newId("webhook_event_", now), eventName, entityType: eventName === "webhook.setup" ? "webhook" : "customer", entityId, eventCreatedAt: isoSeconds(now), now };
}

/**
 * The WebhookEvent as the Worker renders it (the SQL rendering in repository.ts keeps the same keys, in this order).
 * `objectJson` is the object already serialised (for the answer too), or null.
 */
export function eventBody(e: NewEvent, testmode: boolean, objectJson: string | null, base: string): string {
  const head = JSON.stringify({ id: e.eventId, resource: "webhook_event", eventName: e.eventName, entityType: e.entityType, entityId: e.entityId, createdAt: e.eventCreatedAt, testmode });
  return `${head.slice(0, -1)},"object":${objectJson ?? "null"},"links":${JSON.stringify({ self: link(`${base}/v1/webhook-events/${e.eventId}`) })}}`;
}

/** After commit: hand the event to the delivery queue without delaying the answer. A lost send is found by the sweep. */
export function deliverLater(env: Env, ctx: ExecutionContext, caller: Caller, eventId: string): void {
  ctx.waitUntil(
    env.WEBHOOK_QUEUE.send({ eventId, accountId: caller.accountId, testmode: caller.testmode, shard: caller.shard }).catch((err: unknown) => {
      console.error(JSON.stringify({ level: "error", event: "webhook_enqueue_failed", eventId, error: String(err) }));
    }),
  );
}

/** Hands deliveries to the queue, as many sends as its 100-message batch limit needs (the sweep, recover). */
export async function enqueueDeliveries(env: Env, messages: DeliveryMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 100) await env.WEBHOOK_QUEUE.sendBatch(messages.slice(i, i + 100).map((body) => ({ body })));
}

/** deliverLater for many events at once (recover); a lost send is found by the sweep. */
export function deliverAllLater(env: Env, ctx: ExecutionContext, caller: Caller, eventIds: string[]): void {
  const messages = eventIds.map((eventId) => ({ eventId, accountId: caller.accountId, testmode: caller.testmode, shard: caller.shard }));
  ctx.waitUntil(enqueueDeliveries(env, messages).catch((err: unknown) => {
    console.error(JSON.stringify({ level: "error", event: "webhook_enqueue_failed", events: eventIds.length, error: String(err) }));
  }));
}

// Response schemas, for the OpenAPI document and the tests.
export const WebhookEventSchema = v.pipe(v.object({
  id: v.pipe(v.string(), v.regex(EVENT_ID)),
  resource: v.literal("webhook_event"),
  eventName: v.picklist(EVENT_NAMES),
  entityType: v.picklist(["customer", "webhook"]),
  entityId: v.string(),
  createdAt: IsoSecondsSchema,
  testmode: v.boolean(),
  object: v.nullable(v.record(v.string(), v.unknown())),
  links: v.object({ self: LinkSchema }),
}), v.examples([{
  id: "webhook_event_0VcZ9Xy1Zw2Vu3Ts4Rq5Po", resource: "webhook_event" as const, eventName: "customer.created" as const, entityType: "customer" as const,
  entityId: "cus_0VcZ8xKq3mP7RtW2yL5nB9", createdAt: "2026-11-30T09:14:03Z", testmode: false, object: CUSTOMER_EXAMPLE,
  links: { self: { href: "https://api.example.com/v1/webhook-events/webhook_event_0VcZ9Xy1Zw2Vu3Ts4Rq5Po", type: "application/json" as const } },
}]));
export const WebhookEventListSchema = listSchema(WebhookEventSchema);

/** An answer whose JSON was rendered already (stored event bodies are spliced in as they are). */
export const jsonText = (body: string) => new Response(body, { headers: { "Content-Type": "application/json; charset=utf-8" } });

/**
 * The deliveries, for the OpenAPI document's top-level `webhooks` (OpenAPI 3.1): what each event's POST to the
 * endpoint carries, so any generated client can type incoming events too.
 */
export function describeDeliveries(d: Describer) {
  const header = (name: string, description: string) => ({ name, in: "header", required: true, description, schema: { type: "string" } });
  return Object.fromEntries(EVENT_NAMES.map((name) => [name, {
    post: {
      operationId: `deliver_${name.replace(".", "_")}`,
      summary: `The ${name} event, POSTed to the account's webhook endpoint.`,
      security: [],
      parameters: [
        header("Vatly-Signature", "Lowercase hex HMAC-SHA256 of the exact body, keyed with the endpoint's secret."),
        header("webhook-id", "The event id: the same on every retry (Standard Webhooks)."),
        header("webhook-timestamp", "Seconds since the epoch when this attempt was signed (Standard Webhooks)."),
        header("webhook-signature", "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` for each secret still valid, space-separated (Standard Webhooks)."),
      ],
      requestBody: {
        required: true,
        content: { "application/json": { schema: { allOf: [d.schema("WebhookEvent", WebhookEventSchema), { type: "object", properties: { eventName: { const: name } } }] } } },
      },
      responses: { "200": { description: "Any 2xx within 10 seconds acknowledges the delivery; anything else is retried." } },
    },
  }]));
}
