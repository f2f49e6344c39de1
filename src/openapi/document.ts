// The OpenAPI 3.1 document, assembled from the operations: each operation file describes itself (`describe`), so a
// route and its description change together. `npm run openapi` writes the result to openapi.json, which the Worker
// serves; a test fails when that copy is stale, and another when a route is served but not described.
import * as createCustomer from "../customers/create";
import * as deleteCustomer from "../customers/delete";
import * as listCustomers from "../customers/list";
import * as retrieveCustomer from "../customers/retrieve";
import * as searchCustomers from "../customers/search";
import * as updateCustomer from "../customers/update";
import { BOOKMARK } from "../pipeline/database";
import { IDEMPOTENCY_KEY } from "../pipeline/idempotency";
import * as createEndpoint from "../webhooks/endpoints/create";
import * as deleteEndpoint from "../webhooks/endpoints/delete";
import * as listEndpoints from "../webhooks/endpoints/list";
import * as retrieveEndpoint from "../webhooks/endpoints/retrieve";
import * as testEndpoint from "../webhooks/endpoints/test";
import * as updateEndpoint from "../webhooks/endpoints/update";
import * as listAttempts from "../webhooks/events/attempts";
import * as listEvents from "../webhooks/events/list";
import * as recoverEvents from "../webhooks/events/recover";
import * as resendEvent from "../webhooks/events/resend";
import { describeDeliveries } from "../webhooks/events/event";
import * as retrieveEvent from "../webhooks/events/retrieve";
import { describer, type Described, type Operation } from "../lib/describe";
import { describeDocument, describeHome } from "./serve";

/** Every operation the Worker serves, in the document's order. */
export const OPERATIONS: Described[] = [
  listCustomers, createCustomer, searchCustomers, retrieveCustomer, updateCustomer, deleteCustomer,
  listEndpoints, createEndpoint, retrieveEndpoint, updateEndpoint, deleteEndpoint, testEndpoint,
  listEvents, retrieveEvent, listAttempts, resendEvent, recoverEvents,
].map((module) => module.describe).concat(describeDocument, describeHome);

/** HEAD of every GET (RFC 9110): the same status and headers, no body. Kept out of the reference's sidebar. */
function head(get: Operation): Operation & { "x-scalar-ignore": true } {
  const responses = Object.fromEntries(Object.entries(get.responses).map(([status, r]) => [status, { description: r.description, headers: r.headers }]));
  return { ...get, operationId: `${get.operationId}Head`, summary: `${get.summary} (headers only)`, responses, "x-scalar-ignore": true };
}

/** The reference's groups, by the path an operation serves. */
const TAGS = [
  { name: "Customers", description: "Customers of the merchant: create, list, search, retrieve, update, delete.", prefix: "/v1/customers" },
  { name: "Webhook endpoints", description: "Where events are delivered: one endpoint per account and mode.", prefix: "/v1/webhook-endpoints" },
  { name: "Webhook events", description: "What happened, as delivered; each event's delivery history and resend.", prefix: "/v1/webhook-events" },
  { name: "Reference", description: "This document, and where to read it.", prefix: "/" },
];
const tagOf = (path: string) => TAGS.find((t) => path === t.prefix || path.startsWith(`${t.prefix}/`) || t.prefix === "/")!.name;

export function buildOpenApiDocument() {
  const { d, components } = describer();
  const paths: Record<string, Record<string, Operation>> = {};
  for (const { path, method, operation } of OPERATIONS) {
    const described = { ...operation(d), tags: [tagOf(path)] };
    paths[path] = { ...paths[path], [method]: described, ...(method === "get" ? { head: head(described) } : {}) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Customers API",
      version: "1.0.0",
      description: "A Vatly-compatible Customers API on Cloudflare Workers. Every response carries X-Request-Id.",
    },
    // The served copy names the server it is served from; this is the one `npm run dev` starts.
    servers: [{ url: "http://127.0.0.1:8787", description: "npm run dev" }],
    security: [{ bearerAuth: [] }],
    tags: TAGS.map(({ name, description }) => ({ name, description })),
    paths,
    webhooks: describeDeliveries(d),
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
      schemas: components(),
    },
  };
}
