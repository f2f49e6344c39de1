import { json } from "itty-router";
import type { RouteRequest } from "../../env";
import { ENDPOINT_ID } from "../../lib/ids";
import type { Described } from "../../lib/describe";
import { findOr404, NOT_FOUND, toEndpoint, WebhookEndpointSchema } from "./endpoint";

/** GET /v1/webhook-endpoints/:id */
export async function retrieveEndpoint(request: RouteRequest): Promise<Response> {
  return json(toEndpoint(await findOr404(request), request.caller.testmode, request.base));
}

export const describe: Described = {
  path: "/v1/webhook-endpoints/{id}",
  method: "get",
  operation: (d) => ({
    operationId: "getWebhookEndpoint",
    summary: "Retrieve the webhook endpoint",
    parameters: [d.id(ENDPOINT_ID), d.param("Bookmark")],
    responses: {
      "200": d.json(d.schema("WebhookEndpoint", WebhookEndpointSchema), "The endpoint.", d.header("X-D1-Bookmark")),
      ...d.common(),
      "404": d.error(NOT_FOUND),
    },
  }),
};
