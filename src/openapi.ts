// Builds the OpenAPI 3.1 description from the same valibot schemas the Worker validates with.
// `npm run openapi` writes it to openapi.json, which the Worker serves; a test fails when that copy is stale.
import { toJsonSchema, toJsonSchemaDefs, type ConversionConfig } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { CreateCustomerBody } from "./customers/create";
import { CustomerListSchema, CustomerSchema } from "./customers/customer";
import { LinkSchema } from "./lib/links";
import { ListCustomersQuery } from "./customers/list";
import { UpdateCustomerBody } from "./customers/update";
import { CUSTOMER_ID, ENDPOINT_ID, EVENT_ID } from "./lib/ids";
import { MAX_BODY_BYTES } from "./pipeline/body";
import { BOOKMARK } from "./pipeline/database";
import { ErrorSchema, ValidationErrorSchema } from "./pipeline/errors";
import { IDEMPOTENCY_KEY } from "./pipeline/idempotency";
import { CreateEndpointBody, ListEndpointsQuery, UpdateEndpointBody, WebhookEndpointListSchema, WebhookEndpointSchema } from "./webhooks/endpoint";
import { ListEventsQuery, WebhookEventListSchema, WebhookEventSchema } from "./webhooks/event";

type Schema = v.GenericSchema;

const definitions: Record<string, Schema> = {
  Customer: CustomerSchema,
  CustomerList: CustomerListSchema,
  Link: LinkSchema,
  Error: ErrorSchema,
  ValidationError: ValidationErrorSchema,
  CreateCustomerRequest: CreateCustomerBody,
  UpdateCustomerRequest: UpdateCustomerBody,
  WebhookEndpoint: WebhookEndpointSchema,
  WebhookEndpointList: WebhookEndpointListSchema,
  CreateWebhookEndpointRequest: CreateEndpointBody,
  UpdateWebhookEndpointRequest: UpdateEndpointBody,
  WebhookEvent: WebhookEventSchema,
  WebhookEventList: WebhookEventListSchema,
};

// Actions without a JSON Schema form (trimming, transforms, custom checks) are left out, unless a check states its
// own (see `characters()` in customers/fields.ts).
const WITHOUT_FORM = ["check", "raw_check", "trim", "transform"];
const config: Omit<ConversionConfig, "definitions"> = {
  target: "draft-2020-12",
  // Pipelines describe what they produce (e.g. the limit's integer), not the raw query string.
  typeMode: "output",
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
  overrideSchema: ({ valibotSchema, jsonSchema }) => {
    const alsoAccepts = (valibotSchema as { alsoAccepts?: object }).alsoAccepts;
    return alsoAccepts && { anyOf: [...((jsonSchema.anyOf as object[] | undefined) ?? [jsonSchema]), alsoAccepts] };
  },
  overrideAction: ({ valibotAction, jsonSchema }) => {
    if (!WITHOUT_FORM.includes(valibotAction.type)) return undefined;
    return { ...jsonSchema, ...((valibotAction as { jsonSchema?: object }).jsonSchema ?? {}) };
  },
};

function jsonSchema(schema: Schema): Record<string, unknown> {
  const { $schema: _, $defs: __, ...rest } = toJsonSchema(schema, { ...config, definitions }) as Record<string, unknown>;
  return rest;
}

const ref = (name: keyof typeof definitions) => ({ $ref: `#/components/schemas/${name}` });
const header = (name: string) => ({ [name]: { $ref: `#/components/headers/${name}` } });
const param = (name: string) => ({ $ref: `#/components/parameters/${name}` });
const json = (schema: object, description: string, headers: object = {}) => ({
  description,
  headers: { ...header("X-Request-Id"), ...headers },
  content: { "application/json": { schema } },
});
const error = (description: string, headers: object = {}) => json(ref("Error"), description, headers);
const validation = (description: string) => json(ref("ValidationError"), description);
const empty = (description: string, headers: object = {}) => ({ description, headers: { ...header("X-Request-Id"), ...headers } });

const common = {
  "400": error("The X-D1-Bookmark header is not a bookmark this API returned."),
  "401": error("Missing, malformed or unknown API key.", { "WWW-Authenticate": { schema: { type: "string", const: "Bearer" } } }),
  "403": error("The token does not start with live_ or test_, or the key was revoked."),
  "429": error("Too many requests for this account and mode (or, without a valid key, from this address).", header("Retry-After")),
  "500": error("An unexpected error."),
};
const writeErrors = {
  "400": error("The body is not a JSON object, or the Idempotency-Key or X-D1-Bookmark header is malformed."),
  "409": error("The Idempotency-Key was used for a different request."),
  "413": error(`The body is larger than ${MAX_BODY_BYTES} bytes.`),
  "415": error("The Content-Type is not JSON."),
  "503": error("The account is being moved between databases: retry after Retry-After seconds (reads still work).", header("Retry-After")),
};
const notFound = error("No customer with this id in the caller's account and mode (or it was deleted).");
const endpointNotFound = error("No webhook endpoint with this id in the caller's account and mode.");
const bodyOf = (schema: object, types = ["application/json"]) => ({
  required: false,
  content: Object.fromEntries(types.map((type) => [type, { schema }])),
});

/** HEAD of every GET (RFC 9110): the same status and headers, no body. */
function withHead(get: { operationId: string; summary: string; parameters?: object[]; security?: object[]; responses: Record<string, { description: string; headers?: object }> }) {
  const responses = Object.fromEntries(Object.entries(get.responses).map(([status, r]) => [status, { description: r.description, headers: r.headers }]));
  return { get, head: { ...get, operationId: `${get.operationId}Head`, summary: `${get.summary} Headers only.`, responses } };
}

/** The query parameters of a list, from its valibot schema. */
const queryParameters = (schema: Schema) =>
  Object.entries((jsonSchema(schema) as { properties: Record<string, object> }).properties).map(([name, s]) => ({ name, in: "query", required: false, schema: s }));

export function buildOpenApiDocument() {
  const customerEtag = header("ETag");

  return {
    openapi: "3.1.0",
    info: {
      title: "Customers API",
      version: "1.0.0",
      description: "A Vatly-compatible Customers API on Cloudflare Workers. Every response carries X-Request-Id.",
      license: { name: "UNLICENSED", identifier: "UNLICENSED" },
    },
    // The served copy names the server it is served from; this is the one `npm run dev` starts.
    servers: [{ url: "http://127.0.0.1:8787", description: "npm run dev" }],
    security: [{ bearerAuth: [] }],
    paths: {
      "/v1/customers": {
        ...withHead({
          operationId: "listCustomers",
          summary: "List customers, newest first, with ID cursors.",
          parameters: [...queryParameters(ListCustomersQuery), param("Bookmark")],
          responses: {
            "200": json(ref("CustomerList"), "A page of customers.", header("X-D1-Bookmark")),
            ...common,
            "422": validation("A query parameter is malformed, out of range, or names no customer of the caller."),
          },
        }),
        post: {
          operationId: "createCustomer",
          summary: "Create a customer.",
          parameters: [param("IdempotencyKey"), param("Bookmark")],
          requestBody: { ...bodyOf(ref("CreateCustomerRequest")), required: true },
          responses: {
            "201": json(ref("Customer"), "The created customer (or, with Idempotent-Replayed: true, the stored answer).", {
              ...header("X-D1-Bookmark"),
              ...customerEtag,
              Location: { description: "The customer's URL.", schema: { type: "string" } },
            }),
            ...common,
            ...writeErrors,
            "404": error("Replay of a key whose customer has since been deleted: its stored answer was erased."),
            "422": validation("A field is invalid, or the email is taken in this account and mode."),
          },
        },
      },
      "/v1/customers/{id}": {
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", pattern: CUSTOMER_ID.source } }],
        ...withHead({
          operationId: "getCustomer",
          summary: "Retrieve a customer.",
          parameters: [param("Bookmark"), param("IfNoneMatch")],
          responses: {
            "200": json(ref("Customer"), "The customer.", { ...header("X-D1-Bookmark"), ...customerEtag }),
            "304": empty("If-None-Match named the current ETag: the client's copy is current.", customerEtag),
            ...common,
            "404": notFound,
          },
        }),
        patch: {
          operationId: "updateCustomer",
          summary: "Update a customer: email, name, and metadata merged key by key (JSON Merge Patch).",
          parameters: [param("IdempotencyKey"), param("IfMatch"), param("Bookmark")],
          requestBody: bodyOf(ref("UpdateCustomerRequest"), ["application/json", "application/merge-patch+json"]),
          responses: {
            "200": json(ref("Customer"), "The updated customer (or, with Idempotent-Replayed: true, the stored answer).", {
              ...header("X-D1-Bookmark"),
              ...customerEtag,
            }),
            ...common,
            ...writeErrors,
            "404": notFound,
            "412": error("If-Match does not name the customer's current ETag; nothing changed."),
            "422": validation("A field is invalid or cannot be updated, the email is taken, or the merged metadata has more than 50 keys."),
          },
        },
        delete: {
          operationId: "deleteCustomer",
          summary: "Delete a customer: its email, name and metadata are erased.",
          parameters: [param("IdempotencyKey"), param("IfMatch"), param("Bookmark")],
          responses: {
            "204": empty("Deleted (or, with Idempotent-Replayed: true, the replay of the delete).", header("X-D1-Bookmark")),
            ...common,
            "400": writeErrors["400"],
            "404": notFound,
            "409": writeErrors["409"],
            "412": error("If-Match does not name the customer's current ETag; nothing changed."),
            "503": writeErrors["503"],
          },
        },
      },
      "/v1/webhook-endpoints": {
        ...withHead({
          operationId: "listWebhookEndpoints",
          summary: "List the webhook endpoint of this account and mode (at most one).",
          parameters: [...queryParameters(ListEndpointsQuery), param("Bookmark")],
          responses: {
            "200": json(ref("WebhookEndpointList"), "The endpoint, if any, in the list envelope.", header("X-D1-Bookmark")),
            ...common,
            "422": validation("A query parameter is malformed or names no endpoint of the caller."),
          },
        }),
        post: {
          operationId: "createWebhookEndpoint",
          summary: "Register the webhook endpoint of this account and mode; it receives webhook.setup.",
          parameters: [param("IdempotencyKey"), param("Bookmark")],
          requestBody: { ...bodyOf(ref("CreateWebhookEndpointRequest")), required: true },
          responses: {
            "201": json(ref("WebhookEndpoint"), "The endpoint (the secret is never returned).", {
              ...header("X-D1-Bookmark"),
              Location: { description: "The endpoint's URL.", schema: { type: "string" } },
            }),
            ...common,
            ...writeErrors,
            "422": validation("A field is invalid (live mode requires https), or the account and mode already have an endpoint."),
          },
        },
      },
      "/v1/webhook-endpoints/{id}": {
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", pattern: ENDPOINT_ID.source } }],
        ...withHead({
          operationId: "getWebhookEndpoint",
          summary: "Retrieve the webhook endpoint.",
          parameters: [param("Bookmark")],
          responses: { "200": json(ref("WebhookEndpoint"), "The endpoint.", header("X-D1-Bookmark")), ...common, "404": endpointNotFound },
        }),
        patch: {
          operationId: "updateWebhookEndpoint",
          summary: "Change the url (sends webhook.setup) and/or rotate the secret (the old one signs for 24 more hours).",
          parameters: [param("IdempotencyKey"), param("Bookmark")],
          requestBody: bodyOf(ref("UpdateWebhookEndpointRequest"), ["application/json", "application/merge-patch+json"]),
          responses: {
            "200": json(ref("WebhookEndpoint"), "The updated endpoint.", header("X-D1-Bookmark")),
            ...common,
            ...writeErrors,
            "404": endpointNotFound,
            "422": validation("A field is invalid or cannot be updated."),
          },
        },
        delete: {
          operationId: "deleteWebhookEndpoint",
          summary: "Delete the endpoint: nothing more is sent to it, retries included.",
          parameters: [param("IdempotencyKey"), param("Bookmark")],
          responses: {
            "204": empty("Deleted (or the replay of the delete).", header("X-D1-Bookmark")),
            ...common,
            "400": writeErrors["400"],
            "404": endpointNotFound,
            "409": writeErrors["409"],
            "503": writeErrors["503"],
          },
        },
      },
      "/v1/webhook-events": {
        ...withHead({
          operationId: "listWebhookEvents",
          summary: "List events of the last 30 days, newest first, optionally of one eventName.",
          parameters: [...queryParameters(ListEventsQuery), param("Bookmark")],
          responses: {
            "200": json(ref("WebhookEventList"), "A page of events.", header("X-D1-Bookmark")),
            ...common,
            "422": validation("A query parameter is malformed, out of range, or names no event of the caller."),
          },
        }),
      },
      "/v1/webhook-events/{id}": {
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", pattern: EVENT_ID.source } }],
        ...withHead({
          operationId: "getWebhookEvent",
          summary: "Retrieve an event: the body of its deliveries.",
          parameters: [param("Bookmark")],
          responses: {
            "200": json(ref("WebhookEvent"), "The event.", header("X-D1-Bookmark")),
            ...common,
            "404": error("No event with this id in the caller's account and mode (or older than 30 days)."),
          },
        }),
      },
      "/v1/openapi.json": {
        ...withHead({
          operationId: "getOpenApiDocument",
          summary: "This document.",
          security: [],
          responses: {
            "200": json({ type: "object" }, "The OpenAPI description."),
            "429": error("Too many requests without a key from this address.", header("Retry-After")),
            "500": error("An unexpected error."),
          },
        }),
      },
    },
    components: {
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", description: "An API key: live_... or test_..." },
      },
      parameters: {
        Bookmark: {
          name: "X-D1-Bookmark",
          in: "header",
          required: false,
          description: "The X-D1-Bookmark of an earlier response: this request then reads data at least as new as that response saw.",
          schema: { type: "string", pattern: BOOKMARK.source },
        },
        IdempotencyKey: {
          name: "Idempotency-Key",
          in: "header",
          required: false,
          description: "1 to 64 printable ASCII characters, not starting or ending with a space (HTTP trims header values). Replays the stored answer of the same request for 24 hours.",
          schema: { type: "string", minLength: 1, maxLength: 64, pattern: IDEMPOTENCY_KEY.source },
        },
        IfMatch: {
          name: "If-Match",
          in: "header",
          required: false,
          description: "ETags (or *): the write applies only if the customer's current ETag is among them, else 412.",
          schema: { type: "string" },
        },
        IfNoneMatch: {
          name: "If-None-Match",
          in: "header",
          required: false,
          description: "ETags (or *): 304 without a body if the customer's current ETag is among them.",
          schema: { type: "string" },
        },
      },
      headers: {
        "X-Request-Id": { description: "The request's id, also in the server's log line.", schema: { type: "string" } },
        "X-D1-Bookmark": { description: "A D1 session bookmark to send back as X-D1-Bookmark for read-your-writes.", schema: { type: "string" } },
        ETag: { description: "The customer's strong entity tag; it changes whenever the customer changes.", schema: { type: "string" } },
        "Retry-After": { description: "Seconds to wait.", schema: { type: "string" } },
      },
      schemas: toJsonSchemaDefs(definitions, config),
    },
  };
}
