// The public entry points that describe the API: `GET /` (where to look) and `GET /v1/openapi.json` (the document).
import { json } from "itty-router";
import openApiDocument from "../../openapi.json";
import type { ApiRequest } from "../env";
import { LinkSchema } from "../lib/links";
import type { Described } from "../lib/describe";

/** GET /v1/openapi.json: the committed document, naming the server it is served from. Public, like any API description. */
export const serveDocument = (request: ApiRequest) => json({ ...openApiDocument, servers: [{ url: request.base }] });

/**
 * GET /: a browser (Accept: text/html) is sent to the interactive reference at /docs; anything else gets the links to
 * it and to the document.
 */
export function home(request: ApiRequest): Response {
  const docs = `${request.base}/docs`;
  if (request.headers.get("Accept")?.includes("text/html")) return new Response(null, { status: 302, headers: { Location: docs } });
  return json({
    message: "Vatly-compatible Customers API. The reference is at /docs; the OpenAPI document at /v1/openapi.json.",
    links: { docs: { href: docs, type: "text/html" }, openapi: { href: `${request.base}/v1/openapi.json`, type: "application/json" } },
  });
}

export const describeDocument: Described = {
  path: "/v1/openapi.json",
  method: "get",
  operation: (d) => ({
    operationId: "getOpenApiDocument",
    summary: "The OpenAPI document",
    security: [],
    responses: {
      "200": d.json({ type: "object" }, "The OpenAPI description."),
      "429": d.error("Too many requests without a key from this address.", d.header("Retry-After")),
      "500": d.error("An unexpected error."),
    },
  }),
};

export const describeHome: Described = {
  path: "/",
  method: "get",
  operation: (d) => ({
    operationId: "getHome",
    summary: "API home",
    description: "A redirect to /docs for a browser, else links to /docs and this document.",
    security: [],
    responses: {
      "200": d.json({
        type: "object",
        required: ["message", "links"],
        properties: {
          message: { type: "string" },
          links: {
            type: "object",
            required: ["docs", "openapi"],
            properties: { docs: { type: "object", properties: { href: { type: "string" }, type: { const: "text/html" } } }, openapi: d.schema("Link", LinkSchema) },
          },
        },
      }, "Links to the reference and the document."),
      "302": d.empty("A browser (Accept: text/html) is sent to /docs.", { Location: { description: "The /docs URL.", schema: { type: "string" } } }),
      "429": d.error("Too many requests without a key from this address.", d.header("Retry-After")),
      "500": d.error("An unexpected error."),
    },
  }),
};
