// /v1/webhook-endpoints: the WebhookEndpoint object, its validation and its five operations.
import { json } from "itty-router";
import * as v from "valibot";
import type { Caller, Env, RouteRequest } from "../env";
import { ENDPOINT_ID, isoSeconds, IsoSecondsSchema, newId } from "../lib/ids";
import { link, LinkSchema } from "../lib/links";
import { characters } from "../lib/text";
import { listSchema, pageLinks, pageQuerySchema, parsePageQuery, requireCursor } from "../lib/pagination";
import { uniqueViolation } from "../pipeline/database";
import { fail, failValidation, fieldErrors, refusedFields } from "../pipeline/errors";
import { replayRaceWinner, replayWinner } from "../pipeline/idempotency";
import { deliverLater, eventBody, newEvent } from "./event";
import { deleteEndpoint, findEndpoint, insertEndpoint, listEndpoints, updateEndpoint, type EndpointRow } from "./repository";
import { encryptSecret } from "./secrets";

/** How long the previous secret still signs (the Standard Webhooks header) after a rotation. */
const PREVIOUS_SECRET_MS = 24 * 60 * 60 * 1000;

const Url = v.pipe(
  v.string((issue) => (issue.input == null ? "The url field is required." : "The url field must be a string.")),
  v.trim(),
  v.nonEmpty("The url field is required."),
  v.maxLength(2048, "The url field must not be greater than 2048 characters."),
  v.check((s) => URL.canParse(s) && ["http:", "https:"].includes(new URL(s).protocol), "The url field must be an absolute http or https URL."),
  v.check((s) => !URL.canParse(s) || (!new URL(s).username && !new URL(s).password), "The url field must not contain a user name or password."),
  v.description("Absolute; https only in live mode (test mode also accepts http)."),
);
const Secret = v.pipe(
  v.string((issue) => (issue.input == null ? "The secret field is required." : "The secret field must be a string.")),
  characters(10, 255, "The secret field must be between 10 and 255 characters."),
  v.check((s) => s.isWellFormed(), "The secret field must be valid Unicode text."),
  v.description("Write-only: never returned. Signs every delivery (Vatly-Signature and webhook-signature)."),
);

export const CreateEndpointBody = v.object({ url: Url, secret: Secret }, (issue) => `The ${String(issue.path?.[0]?.key)} field is required.`);
export const UpdateEndpointBody = v.object({ url: v.optional(Url), secret: v.optional(Secret) });
const UPDATABLE = new Set(Object.keys(UpdateEndpointBody.entries));
export const ListEndpointsQuery = pageQuerySchema(ENDPOINT_ID, "a webhook endpoint id (webhook_...)", {});

export const WebhookEndpointSchema = v.object({
  id: v.pipe(v.string(), v.regex(ENDPOINT_ID)),
  resource: v.literal("webhook_endpoint"),
  testmode: v.boolean(),
  url: v.string(),
  createdAt: IsoSecondsSchema,
  links: v.object({ self: LinkSchema }),
});
export const WebhookEndpointListSchema = listSchema(WebhookEndpointSchema, 1);

const toEndpoint = (row: Pick<EndpointRow, "id" | "url" | "createdAt">, testmode: boolean, base: string) => ({
  id: row.id,
  resource: "webhook_endpoint" as const,
  testmode,
  url: row.url,
  createdAt: row.createdAt,
  links: { self: link(`${base}/v1/webhook-endpoints/${row.id}`) },
});

const notFound = (): never => fail(404, "Webhook endpoint not found.");

/** Live endpoints receive customer data over the internet: https only. */
function requireHttpsInLive(url: string | undefined, caller: Caller): void {
  if (url !== undefined && !caller.testmode && new URL(url).protocol !== "https:") {
    failValidation({ url: ["The url field must use https in live mode."] });
  }
}

/** POST /v1/webhook-endpoints: one per account and mode; sends webhook.setup to it. */
export async function createEndpoint(request: RouteRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
  const parsed = v.safeParse(CreateEndpointBody, request.input!, { abortPipeEarly: true });
  if (!parsed.success) failValidation(parsed.issues);
  const { caller, base, idempotency, receivedAt: now } = request;
  requireHttpsInLive(parsed.output.url, caller);

  const row = { id: newId("webhook_", now), url: parsed.output.url, secret: await encryptSecret(env, parsed.output.secret), createdAt: isoSeconds(now) };
  const endpoint = toEndpoint(row, caller.testmode, base);
  const answer = JSON.stringify(endpoint);
  const event = newEvent("webhook.setup", row.id, now);
  const setupEvent = { eventId: event.eventId, body: eventBody(event, caller.testmode, answer, base), now };
  try {
    await insertEndpoint(request.db, caller, row, { idempotency, answer: { status: 201, body: answer, headers: { Location: endpoint.links.self.href } }, setupEvent });
  } catch (err) {
    const winner = await replayRaceWinner(err, env, caller, idempotency);
    if (winner) return winner;
    // The unique index on (account, mode) reports its columns' table.
    if (uniqueViolation(err) === "webhook_endpoints") {
      failValidation({ url: ["A webhook endpoint already exists for this account and mode. Update or delete it instead."] });
    }
    throw err;
  }
  deliverLater(env, ctx, caller, event.eventId);
  return new Response(answer, { status: 201, headers: { "Content-Type": "application/json; charset=utf-8", Location: endpoint.links.self.href } });
}

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

async function findOr404(request: RouteRequest): Promise<EndpointRow> {
  const id = request.params.id!;
  return (ENDPOINT_ID.test(id) && (await findEndpoint(request.db, request.caller, id))) || notFound();
}

/** GET /v1/webhook-endpoints/:id */
export async function retrieveEndpoint(request: RouteRequest): Promise<Response> {
  return json(toEndpoint(await findOr404(request), request.caller.testmode, request.base));
}

/** PATCH /v1/webhook-endpoints/:id: url and/or secret. A new secret keeps the old one signing for 24 hours; a new url gets webhook.setup. */
export async function updateEndpointHandler(request: RouteRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
  const input = request.input!;
  const refused = refusedFields(input, UPDATABLE);
  const parsed = v.safeParse(UpdateEndpointBody, input, { abortPipeEarly: true });
  if (Object.keys(refused).length > 0 || !parsed.success) failValidation({ ...(parsed.success ? {} : fieldErrors(parsed.issues)), ...refused });
  const { caller, base, idempotency, receivedAt: now } = request;
  requireHttpsInLive(parsed.output.url, caller);

  const current = await findOr404(request);
  const { url, secret } = parsed.output;
  if (url === undefined && secret === undefined) return json(toEndpoint(current, caller.testmode, base));
  const next: EndpointRow = {
    ...current,
    url: url ?? current.url,
    ...(secret === undefined ? {} : { secret: await encryptSecret(env, secret), previousSecret: current.secret, previousSecretUntil: now + PREVIOUS_SECRET_MS }),
  };
  const endpoint = toEndpoint(next, caller.testmode, base);
  const answer = JSON.stringify(endpoint);
  const event = url !== undefined && url !== current.url ? newEvent("webhook.setup", current.id, now) : undefined;
  const setupEvent = event && { eventId: event.eventId, body: eventBody(event, caller.testmode, answer, base), now };
  let updated: boolean;
  try {
    updated = await updateEndpoint(request.db, caller, next, { idempotency, answer: { status: 200, body: answer, headers: {} }, setupEvent });
  } catch (err) {
    const winner = await replayRaceWinner(err, env, caller, idempotency);
    if (winner) return winner;
    throw err;
  }
  if (!updated) notFound();
  if (event) deliverLater(env, ctx, caller, event.eventId);
  return new Response(answer, { headers: { "Content-Type": "application/json; charset=utf-8" } });
}

/** DELETE /v1/webhook-endpoints/:id: 204; nothing more is sent to it, including retries not yet attempted. */
export async function deleteEndpointHandler(request: RouteRequest, env: Env): Promise<Response> {
  const id = request.params.id!;
  if (!ENDPOINT_ID.test(id)) notFound();
  const { caller, idempotency } = request;
  let deleted: boolean;
  try {
    deleted = await deleteEndpoint(request.db, caller, id, { idempotency, answer: { status: 204, body: "", headers: {} } });
  } catch (err) {
    const winner = await replayRaceWinner(err, env, caller, idempotency);
    if (winner) return winner;
    throw err;
  }
  if (!deleted) {
    const winner = idempotency && (await replayWinner(env, caller, idempotency));
    return winner || notFound();
  }
  return new Response(null, { status: 204 });
}
