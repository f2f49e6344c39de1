import type { RouteRequest } from "../../env";
import { fail } from "../../lib/errors";
import { EVENT_ID } from "../../lib/ids";
import type { Described } from "../../lib/describe";
import { jsonText, WebhookEventSchema } from "./event";
import { findEvent } from "./repository";

/** GET /v1/webhook-events/:id */
export async function retrieveEvent(request: RouteRequest): Promise<Response> {
  const id = request.params.id!;
  const body = EVENT_ID.test(id) ? await findEvent(request.db, request.caller, id) : undefined;
  if (!body) fail(404, "Webhook event not found.");
  return jsonText(body);
}

export const describe: Described = {
  path: "/v1/webhook-events/{id}",
  method: "get",
  operation: (d) => ({
    operationId: "getWebhookEvent",
    summary: "Retrieve an event",
    description: "The event exactly as its deliveries carry it.",
    parameters: [d.id(EVENT_ID), d.param("Bookmark")],
    responses: {
      "200": d.json(d.schema("WebhookEvent", WebhookEventSchema), "The event.", d.header("X-D1-Bookmark")),
      ...d.common(),
      "404": d.error("No event with this id in the caller's account and mode (or older than 30 days)."),
    },
  }),
};
