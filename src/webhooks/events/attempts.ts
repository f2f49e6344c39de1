// GET /v1/webhook-events/:id/attempts: what happened to an event's deliveries, newest attempt first, and where its
// delivery stands. The event object itself stays as Vatly defines it; this is the history beside it.
import { json } from "itty-router";
import * as v from "valibot";
import type { RouteRequest } from "../../env";
import { fail } from "../../lib/errors";
import { EVENT_ID } from "../../lib/ids";
import { link, LinkSchema } from "../../lib/links";
import type { Described } from "../../lib/describe";
import { eventAttempts, type AttemptRow, type EventState } from "./repository";

export const NOT_FOUND = "No event with this id in the caller's account and mode (or older than 30 days).";
const iso = (ms: number) => new Date(ms).toISOString();

export const AttemptSchema = v.object({
  resource: v.literal("webhook_attempt"),
  attempt: v.pipe(v.number(), v.integer(), v.minValue(1), v.description("1 for the first delivery, then one more for each retry or resend.")),
  endpointId: v.nullable(v.string()),
  url: v.string(),
  attemptedAt: v.pipe(v.string(), v.isoTimestamp()),
  status: v.pipe(v.nullable(v.number()), v.description("The receiver's HTTP status; null when there was no answer (see error).")),
  error: v.pipe(v.nullable(v.string()), v.description("Why there was no answer: a timeout, a DNS, TLS or connection failure, a redirect (never followed), or a secret that could not be decrypted.")),
  durationMs: v.pipe(v.number(), v.integer(), v.minValue(0)),
});

export const AttemptListSchema = v.object({
  data: v.array(AttemptSchema),
  count: v.pipe(v.number(), v.integer(), v.minValue(0)),
  delivery: v.object({
    state: v.pipe(v.picklist(["pending", "delivered", "failed", "none"]), v.description("none: there was no endpoint to deliver to, or it was deleted.")),
    nextAttemptAt: v.pipe(v.nullable(v.pipe(v.string(), v.isoTimestamp())), v.description("When the next attempt is due (pending only).")),
  }),
  links: v.object({ self: LinkSchema, next: v.null(), prev: v.null() }),
});

export function toAttempts(id: string, event: EventState, attempts: AttemptRow[], base: string) {
  return {
    data: attempts.map((a) => ({
      resource: "webhook_attempt" as const, attempt: a.attempt, endpointId: event.endpointId, url: a.url, attemptedAt: iso(a.at), status: a.status, error: a.error, durationMs: a.durationMs,
    })),
    count: attempts.length,
    delivery: { state: event.delivery, nextAttemptAt: event.delivery === "pending" ? iso(event.nextAttemptAt) : null },
    links: { self: link(`${base}/v1/webhook-events/${id}/attempts`), next: null, prev: null },
  };
}

/** GET /v1/webhook-events/:id/attempts */
export async function listAttemptsHandler(request: RouteRequest): Promise<Response> {
  const id = request.params.id!;
  const { event, attempts } = EVENT_ID.test(id) ? await eventAttempts(request.db, request.caller, id) : { event: undefined, attempts: [] };
  if (!event) fail(404, "Webhook event not found.");
  return json(toAttempts(id, event, attempts, request.base));
}

export const describe: Described = {
  path: "/v1/webhook-events/{id}/attempts",
  method: "get",
  operation: (d) => ({
    operationId: "listWebhookEventAttempts",
    summary: "List delivery attempts",
    description: "Every attempt to deliver the event, newest first (each with its endpoint, time, the receiver's status or the error, and duration), and the event's delivery state with the time of its next attempt. Erased with the event after 30 days.",
    parameters: [d.id(EVENT_ID), d.param("Bookmark")],
    responses: {
      "200": d.json(d.schema("WebhookAttemptList", AttemptListSchema), "The attempts and the delivery state.", d.header("X-D1-Bookmark")),
      ...d.common(),
      "404": d.error(NOT_FOUND),
    },
  }),
};
