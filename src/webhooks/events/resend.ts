// POST /v1/webhook-events/:id/resend: a new attempt now, also for an event that has failed for good. 202 with the
// event; the attempt shows up in its history. Never for an endpoint that is gone, nor for an event that would send an
// erased customer's data: only customer.deleted (it carries none) is sent again after an erasure.
import type { Env, RouteRequest } from "../../env";
import { fail } from "../../lib/errors";
import { EVENT_ID } from "../../lib/ids";
import type { Described } from "../../lib/describe";
import { replayStored } from "../../pipeline/idempotency";
import { NOT_FOUND } from "./attempts";
import { deliverLater, WebhookEventSchema } from "./event";
import { eventState, resendEvent } from "./repository";

const ENDPOINT_GONE = "The endpoint this event was for has been deleted (or there was none): there is nowhere to resend it.";
const ERASED = "The customer of this event was deleted and erased: its data is never sent again (its customer.deleted event can be resent).";

/** POST /v1/webhook-events/:id/resend */
export async function resendEventHandler(request: RouteRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
  const id = request.params.id!;
  const { caller, idempotency } = request;
  const event = EVENT_ID.test(id) ? await eventState(request.db, caller, id) : undefined;
  // The write checks again what the answer rests on (the endpoint still there, no erased data sent) and settles the
  // key: a replay answers as stored, whatever happened since.
  const outcome = await resendEvent(request.db, caller, id, event ?? { body: "", entityId: id }, idempotency, Date.now());
  const replay = replayStored(outcome.stored, idempotency);
  if (replay) return replay;
  if (!event) fail(404, "Webhook event not found.");
  if (!outcome.resent) fail(409, event.erased ? ERASED : ENDPOINT_GONE);
  deliverLater(env, ctx, caller, id);
  return new Response(event.body, { status: 202, headers: { "Content-Type": "application/json; charset=utf-8" } });
}

export const describe: Described = {
  path: "/v1/webhook-events/{id}/resend",
  method: "post",
  operation: (d) => ({
    operationId: "resendWebhookEvent",
    summary: "Resend an event now",
    description: "Queues a new delivery attempt now, also for an event that has failed for good; it shows up in the event's attempts. Counts against the account's rate limit.",
    parameters: [d.id(EVENT_ID), d.param("IdempotencyKey"), d.param("Bookmark")],
    responses: {
      "202": d.json(d.schema("WebhookEvent", WebhookEventSchema), "Queued: the event that will be sent.", d.header("X-D1-Bookmark")),
      ...d.common(),
      ...d.writeErrors(null),
      "404": d.error(NOT_FOUND),
      "409": d.error("The event's endpoint is gone, or it would send an erased customer's data (any event of an erased customer but customer.deleted): it is not sent again (or the Idempotency-Key was used for a different request)."),
    },
  }),
};
