import * as v from "valibot";
import type { RouteRequest } from "../../env";
import { EVENT_ID } from "../../lib/ids";
import { pageLinks, pageQuerySchema, parsePageQuery, requireCursor, single } from "../../lib/pagination";
import type { Described } from "../../lib/describe";
import { EVENT_NAMES, jsonText, WebhookEventListSchema } from "./event";
import { listEvents } from "./repository";

export const ListEventsQuery = pageQuerySchema(EVENT_ID, "a webhook event id (webhook_event_...)", {
  eventName: v.optional(v.pipe(single("eventName"), v.picklist(EVENT_NAMES, `The eventName parameter must be one of ${EVENT_NAMES.join(", ")}.`))),
});

/** GET /v1/webhook-events: newest first, with the customers list's envelope, cursors and limits. */
export async function listEventsHandler(request: RouteRequest): Promise<Response> {
  const query = parsePageQuery(ListEventsQuery, request.query);
  const { rows, hasMore, cursorExists } = await listEvents(request.db, request.caller, query);
  requireCursor(query, cursorExists, "webhook event");
  const filters = query.eventName === undefined ? "" : `eventName=${encodeURIComponent(query.eventName)}`;
  const links = pageLinks(`${request.base}/v1/webhook-events`, filters, query, rows.map((r) => r.id), hasMore);
  // The stored bodies are the events as delivered; spliced in as they are.
  return jsonText(`{"data":[${rows.map((r) => r.body).join(",")}],"count":${rows.length},"links":${JSON.stringify(links)}}`);
}

export const describe: Described = {
  path: "/v1/webhook-events",
  method: "get",
  operation: (d) => ({
    operationId: "listWebhookEvents",
    summary: "List events",
    description: "Events of the last 30 days, newest first, optionally of one eventName.",
    parameters: [...d.query(ListEventsQuery), d.param("Bookmark")],
    responses: {
      "200": d.json(d.schema("WebhookEventList", WebhookEventListSchema), "A page of events.", d.header("X-D1-Bookmark")),
      ...d.common(),
      "422": d.validation("A query parameter is malformed, out of range, or names no event of the caller."),
    },
  }),
};
