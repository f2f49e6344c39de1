import * as v from "valibot";
import type { RouteRequest } from "../../env";
import { EVENT_ID } from "../../lib/ids";
import { pageLinks, pageQuerySchema, parsePageQuery, requireCursor, single } from "../../lib/pagination";
import type { Described } from "../../lib/describe";
import { DELIVERY_STATES, EVENT_NAMES, jsonText, timeSchema, WebhookEventListSchema } from "./event";
import { listEvents } from "./repository";

export const ListEventsQuery = pageQuerySchema(EVENT_ID, "a webhook event id (webhook_event_...)", {
  eventName: v.optional(v.pipe(single("eventName"), v.picklist(EVENT_NAMES, `The eventName parameter must be one of ${EVENT_NAMES.join(", ")}.`))),
  delivery: v.optional(v.pipe(single("delivery"), v.picklist(DELIVERY_STATES, `The delivery parameter must be one of ${DELIVERY_STATES.join(", ")}.`),
    v.description("Only events in this delivery state: pending (an attempt is due), delivered, failed (out of attempts), none (no endpoint)."))),
  entityId: v.optional(v.pipe(single("entityId"), v.regex(/^(cus|webhook)_[0-9A-Za-z]{22}$/, "The entityId parameter must be a customer id (cus_...) or a webhook endpoint id (webhook_...)."),
    v.description("Only the events of this customer (or endpoint)."))),
  createdFrom: v.optional(v.pipe(single("createdFrom"), timeSchema("createdFrom"), v.description("Only events created at this time or later (ISO 8601)."))),
  createdBefore: v.optional(v.pipe(single("createdBefore"), timeSchema("createdBefore"), v.description("Only events created before this time (ISO 8601)."))),
});
const FILTER_NAMES = ["eventName", "delivery", "entityId", "createdFrom", "createdBefore"] as const;

/** GET /v1/webhook-events: newest first, with the customers list's envelope, cursors and limits. */
export async function listEventsHandler(request: RouteRequest): Promise<Response> {
  const query = parsePageQuery(ListEventsQuery, request.query);
  const { rows, hasMore, cursorExists } = await listEvents(request.db, request.caller, query);
  requireCursor(query, cursorExists, "webhook event");
  const given = new URLSearchParams(request.query as Record<string, string>);
  const filters = FILTER_NAMES.filter((name) => query[name] !== undefined).map((name) => `${name}=${encodeURIComponent(given.get(name)!)}`).join("&");
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
    description: "Events of the last 30 days, newest first; optionally only those of one eventName, delivery state, customer (entityId) or time range (createdFrom, createdBefore), any of them together.",
    parameters: [...d.query(ListEventsQuery), d.param("Bookmark")],
    responses: {
      "200": d.json(d.schema("WebhookEventList", WebhookEventListSchema), "A page of events.", d.header("X-D1-Bookmark")),
      ...d.common(),
      "422": d.validation("A query parameter is malformed, out of range, or names no event of the caller."),
    },
  }),
};
