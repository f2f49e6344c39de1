import * as v from "valibot";
import type { Env, RouteRequest } from "../../env";
import { failValidation } from "../../lib/errors";
import { isoSeconds, newId } from "../../lib/ids";
import type { Described } from "../../lib/describe";
import { MAX_BODY_BYTES } from "../../pipeline/body";
import { uniqueViolation } from "../../pipeline/database";
import { replayRaceWinner, replayStored } from "../../pipeline/idempotency";
import { deliverLater, eventBody, newEvent } from "../events/event";
import { encryptSecret } from "../secrets";
import { requireHttpsInLive, Secret, toEndpoint, Url, WebhookEndpointSchema } from "./endpoint";
import { insertEndpoint } from "./repository";

export const CreateEndpointBody = v.object({ url: Url, secret: Secret }, (issue) => `The ${String(issue.path?.[0]?.key)} field is required.`);

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
  let stored;
  try {
    stored = await insertEndpoint(request.db, caller, row, { idempotency, answer: { status: 201, body: answer, headers: { Location: endpoint.links.self.href } }, setupEvent });
  } catch (err) {
    const winner = await replayRaceWinner(err, env, caller, idempotency);
    if (winner) return winner;
    // The unique index on (account, mode) reports its columns' table.
    if (uniqueViolation(err) === "webhook_endpoints") {
      failValidation({ url: ["A webhook endpoint already exists for this account and mode. Update or delete it instead."] });
    }
    throw err;
  }
  const replay = replayStored(stored, idempotency);
  if (replay) return replay;
  deliverLater(env, ctx, caller, event.eventId);
  return new Response(answer, { status: 201, headers: { "Content-Type": "application/json; charset=utf-8", Location: endpoint.links.self.href } });
}

export const describe: Described = {
  path: "/v1/webhook-endpoints",
  method: "post",
  operation: (d) => ({
    operationId: "createWebhookEndpoint",
    summary: "Create the webhook endpoint",
    description: "Registers the webhook endpoint of this account and mode (one per account and mode); it receives webhook.setup first.",
    parameters: [d.param("IdempotencyKey"), d.param("Bookmark")],
    requestBody: { ...d.body(d.schema("CreateWebhookEndpointRequest", CreateEndpointBody)), required: true },
    responses: {
      "201": d.json(d.schema("WebhookEndpoint", WebhookEndpointSchema), "The endpoint (the secret is never returned).", {
        ...d.header("X-D1-Bookmark"),
        Location: { description: "The endpoint's URL.", schema: { type: "string" } },
      }),
      ...d.common(),
      ...d.writeErrors(MAX_BODY_BYTES),
      "422": d.validation("A field is invalid (live mode requires https), or the account and mode already have an endpoint."),
    },
  }),
};
