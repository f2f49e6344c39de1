import { json, Router } from "itty-router";
import openApiDocument from "../openapi.json";
import { authenticate } from "./auth";
import { createCustomer } from "./customers/create";
import { baseUrl } from "./customers/customer";
import { listCustomersHandler } from "./customers/list";
import { retrieveCustomer } from "./customers/retrieve";
import { cleanUpIdempotencyKeys } from "./cron";
import type { ApiRequest, Env } from "./env";
import { fail, toErrorResponse } from "./errors";
import { logRequest, withRequestId } from "./observability";
import { enforceRateLimit } from "./rate-limit";

const methodNotAllowed = (allow: string) => () => fail(405, "The method is not allowed for this path.", { headers: { Allow: allow } });

const router = Router<ApiRequest, [Env, ExecutionContext]>({
  before: [withRequestId],
  catch: toErrorResponse,
  finally: [logRequest],
})
  .get("/v1/customers", authenticate, enforceRateLimit, listCustomersHandler)
  // The create counts against the rate limit itself, after an idempotent replay has had its chance to answer.
  .post("/v1/customers", authenticate, createCustomer)
  .get("/v1/customers/:id", authenticate, enforceRateLimit, retrieveCustomer)
  // Generated from the valibot schemas by `npm run openapi`; public, like any API description.
  .get("/v1/openapi.json", (request, env) => json({ ...openApiDocument, servers: [{ url: baseUrl(request, env) }] }))
  .all("/v1/customers", methodNotAllowed("GET, POST"))
  .all("/v1/customers/:id", methodNotAllowed("GET"))
  .all("/v1/openapi.json", methodNotAllowed("GET"))
  .all("*", () => fail(404, "Not found."));

export default {
  fetch: (request, env, ctx) => router.fetch(request as ApiRequest, env, ctx),
  scheduled: (_controller, env, ctx) => ctx.waitUntil(cleanUpIdempotencyKeys(env)),
} satisfies ExportedHandler<Env>;
