import { json } from "itty-router";
import type { RouteRequest } from "../../env";
import { ENDPOINT_ID } from "../../lib/ids";
import { pageLinks, pageQuerySchema, parsePageQuery, requireCursor } from "../../lib/pagination";
import type { Described } from "../../lib/describe";
import { toEndpoint, WebhookEndpointListSchema } from "./endpoint";
import { listEndpoints } from "./repository";

export const ListEndpointsQuery = pageQuerySchema(ENDPOINT_ID, "a webhook endpoint id (webhook_...)", {});

/** GET /v1/webhook-endpoints: the list envelope, with at most one item. */
export async function listEndpointsHandler(request: RouteRequest): Promise<Response> {
  const query = parsePageQuery(ListEndpointsQuery, request.query);
  const rows = await listEndpoints(request.db, request.caller);
  const cursor = query.startingAfter ?? query.endingBefore;
  requireCursor(query, !cursor || rows.some((r) => r.id === cursor), "webhook endpoint");
  // With at most one endpoint, a cursor (which must name it) leaves nothing on either side.
  const page = cursor ? [] : rows.slice(0, query.limit);
  return json({
    data: page.map((row) => toEndpoint(row, request.caller.testmode, request.base)),
    count: page.length,
    links: pageLinks(`${request.base}/v1/webhook-endpoints`, "", query, page.map((r) => r.id), false),
  });
}

export const describe: Described = {
  path: "/v1/webhook-endpoints",
  method: "get",
  operation: (d) => ({
    operationId: "listWebhookEndpoints",
    summary: "List webhook endpoints",
    description: "The webhook endpoint of this account and mode (at most one).",
    parameters: [...d.query(ListEndpointsQuery), d.param("Bookmark")],
    responses: {
      "200": d.json(d.schema("WebhookEndpointList", WebhookEndpointListSchema), "The endpoint, if any, in the list envelope.", d.header("X-D1-Bookmark")),
      ...d.common(),
      "422": d.validation("A query parameter is malformed or names no endpoint of the caller."),
    },
  }),
};
