import { json, Router, type RequestHandler } from "itty-router";
import openApiDocument from "../openapi.json";
import { createCustomer } from "./customers/create";
import { deleteCustomerHandler } from "./customers/delete";
import { listCustomersHandler } from "./customers/list";
import { retrieveCustomer } from "./customers/retrieve";
import { updateCustomerHandler } from "./customers/update";
import type { ApiRequest, Env, RouteRequest } from "./env";
import { runCron } from "./jobs/cron";
import { deliverBatch } from "./jobs/deliver";
import { authenticate } from "./pipeline/auth";
import { readBody } from "./pipeline/body";
import { openSession } from "./pipeline/database";
import { fail } from "./lib/errors";
import { toErrorResponse } from "./pipeline/errors";
import { idempotency } from "./pipeline/idempotency";
import { limitAddress, limitCaller } from "./pipeline/rate-limit";
import { finishResponse, startRequest } from "./pipeline/request";
import { createEndpoint } from "./webhooks/endpoints/create";
import { deleteEndpointHandler } from "./webhooks/endpoints/delete";
import { listEndpointsHandler } from "./webhooks/endpoints/list";
import { retrieveEndpoint } from "./webhooks/endpoints/retrieve";
import { updateEndpointHandler } from "./webhooks/endpoints/update";
import { listEventsHandler } from "./webhooks/events/list";
import { retrieveEvent } from "./webhooks/events/retrieve";

// Every API route runs these stages in this order: who is calling, may they (before any D1 read), their D1 session.
type Stage = RequestHandler<RouteRequest, [Env, ExecutionContext]>;
const api: Stage[] = [authenticate, limitCaller, openSession];
// Writes then read the JSON body and settle Idempotency-Key (a replay answers here).
const write: Stage[] = [...api, readBody, idempotency];

const methodNotAllowed = (allow: string) => () => fail(405, "The method is not allowed for this path.", { headers: { Allow: allow } });

const router = Router<ApiRequest, [Env, ExecutionContext]>({
  before: [startRequest],
  catch: toErrorResponse,
  finally: [finishResponse],
})
  .get("/v1/customers", ...api, listCustomersHandler)
  .post("/v1/customers", ...write, createCustomer)
  .get("/v1/customers/:id", ...api, retrieveCustomer)
  .patch("/v1/customers/:id", ...write, updateCustomerHandler)
  .delete("/v1/customers/:id", ...api, idempotency, deleteCustomerHandler)
  .get("/v1/webhook-endpoints", ...api, listEndpointsHandler)
  .post("/v1/webhook-endpoints", ...write, createEndpoint)
  .get("/v1/webhook-endpoints/:id", ...api, retrieveEndpoint)
  .patch("/v1/webhook-endpoints/:id", ...write, updateEndpointHandler)
  .delete("/v1/webhook-endpoints/:id", ...api, idempotency, deleteEndpointHandler)
  .get("/v1/webhook-events", ...api, listEventsHandler)
  .get("/v1/webhook-events/:id", ...api, retrieveEvent)
  // Generated from the valibot schemas by `npm run openapi`; public, like any API description.
  .get("/v1/openapi.json", limitAddress, (request) => json({ ...openApiDocument, servers: [{ url: request.base }] }))
  .all("/v1/customers", methodNotAllowed("GET, HEAD, POST"))
  .all("/v1/customers/:id", methodNotAllowed("GET, HEAD, PATCH, DELETE"))
  .all("/v1/webhook-endpoints", methodNotAllowed("GET, HEAD, POST"))
  .all("/v1/webhook-endpoints/:id", methodNotAllowed("GET, HEAD, PATCH, DELETE"))
  .all("/v1/webhook-events", methodNotAllowed("GET, HEAD"))
  .all("/v1/webhook-events/:id", methodNotAllowed("GET, HEAD"))
  .all("/v1/openapi.json", methodNotAllowed("GET, HEAD"))
  .all("*", () => fail(404, "Not found."));

export default {
  async fetch(request, env, ctx) {
    if (request.method !== "HEAD") return router.fetch(request as unknown as ApiRequest, env, ctx);
    // HEAD is GET without the body (RFC 9110), wherever GET works; the log line still says HEAD.
    const asGet = Object.assign(new Request(request, { method: "GET" }), { sentMethod: "HEAD" }) as unknown as ApiRequest;
    const response = await router.fetch(asGet, env, ctx);
    return new Response(null, response);
  },
  // Background work: the Cron Triggers (clean-up, the delivery sweep) and the webhook delivery queue's consumer.
  scheduled: (controller, env, ctx) => ctx.waitUntil(runCron(controller, env)),
  queue: (batch, env) => deliverBatch(batch, env),
} satisfies ExportedHandler<Env>;
