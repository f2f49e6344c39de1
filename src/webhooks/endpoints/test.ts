// POST /v1/webhook-endpoints/:id/test: sends the endpoint a webhook.setup event now, as creating it did, so a merchant
// can check their receiver at any time (the dashboard's "Send test event"). 202 with the event; it has attempts and
// can be resent like any other.
import type { Env, RouteRequest } from "../../env";
import { ENDPOINT_ID } from "../../lib/ids";
import type { Described } from "../../lib/describe";
import { replayStored } from "../../pipeline/idempotency";
import { deliverLater, eventBody, newEvent, WebhookEventSchema } from "../events/event";
import { findOr404, NOT_FOUND, notFound, toEndpoint } from "./endpoint";
import { insertTestEvent } from "./repository";

/** POST /v1/webhook-endpoints/:id/test */
export async function testEndpointHandler(request: RouteRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
  const { caller, base, idempotency, receivedAt: now } = request;
  const row = await findOr404(request);
  const event = newEvent("webhook.setup", row.id, now);
  const body = eventBody(event, caller.testmode, JSON.stringify(toEndpoint(row, caller.testmode, base)), base);
  const outcome = await insertTestEvent(request.db, caller, row.id, { eventId: event.eventId, body, now }, idempotency);
  const replay = replayStored(outcome.stored, idempotency);
  if (replay) return replay;
  if (!outcome.written) notFound(); // deleted meanwhile
  deliverLater(env, ctx, caller, event.eventId);
  return new Response(body, { status: 202, headers: { "Content-Type": "application/json; charset=utf-8" } });
}

export const describe: Described = {
  path: "/v1/webhook-endpoints/{id}/test",
  method: "post",
  operation: (d) => ({
    operationId: "testWebhookEndpoint",
    summary: "Trigger a test event",
    description: "Sends the endpoint a webhook.setup event now (its object: the endpoint), as creating it did. The event is listed, has attempts and can be resent like any other.",
    parameters: [d.id(ENDPOINT_ID), d.param("IdempotencyKey"), d.param("Bookmark")],
    responses: {
      "202": d.json(d.schema("WebhookEvent", WebhookEventSchema), "Queued: the event that will be sent.", d.header("X-D1-Bookmark")),
      ...d.common(),
      ...d.writeErrors(null),
      "404": d.error(NOT_FOUND),
    },
  }),
};
