import { json } from "itty-router";
import * as v from "valibot";
import type { Env, RouteRequest } from "../../env";
import { failValidation, fieldErrors, refusedFields } from "../../lib/errors";
import { ENDPOINT_ID } from "../../lib/ids";
import type { Described } from "../../lib/describe";
import { MAX_BODY_BYTES } from "../../pipeline/body";
import { replayStored } from "../../pipeline/idempotency";
import { deliverLater, newEvent } from "../events/event";
import { encryptSecret } from "../secrets";
import { NOT_FOUND, notFound, PREVIOUS_SECRET_MS, requireHttpsInLive, Secret, toEndpoint, Url, WebhookEndpointSchema } from "./endpoint";
import { findEndpointKeyed, updateEndpoint } from "./repository";

// Unknown fields are refused by name (refusedFields), so the document states the body as closed.
export const UpdateEndpointBody = v.object({ url: v.optional(Url), secret: v.optional(Secret) });
const UPDATABLE = new Set(Object.keys(UpdateEndpointBody.entries));

/** PATCH /v1/webhook-endpoints/:id: url and/or secret. A new secret keeps the old one signing for 24 hours; a new url gets webhook.setup. */
export async function updateEndpointHandler(request: RouteRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
  const input = request.input!;
  const refused = refusedFields(input, UPDATABLE);
  const parsed = v.safeParse(UpdateEndpointBody, input, { abortPipeEarly: true });
  if (Object.keys(refused).length > 0 || !parsed.success) failValidation({ ...(parsed.success ? {} : fieldErrors(parsed.issues)), ...refused });
  const { caller, base, idempotency, receivedAt: now } = request;
  requireHttpsInLive(parsed.output.url, caller);

  const { url, secret } = parsed.output;
  const id = request.params.id!;
  if (!ENDPOINT_ID.test(id)) notFound();
  if (url === undefined && secret === undefined) {
    // Nothing to change: the endpoint as it is, unless the key says otherwise.
    const found = await findEndpointKeyed(request.db, caller, id, idempotency);
    return replayStored(found.stored, idempotency) ?? json(toEndpoint(found.row ?? notFound(), caller.testmode, base));
  }
  const changes = { url, secret: secret === undefined ? undefined : await encryptSecret(env, secret), previousSecretUntil: now + PREVIOUS_SECRET_MS };
  const setupEvent = newEvent("webhook.setup", id, now);
  // No unique index can refuse this batch: a concurrent request with the same key is seen by the batch itself.
  const updated = await updateEndpoint(request.db, caller, id, changes, { idempotency, base, setupEvent });
  const replay = replayStored(updated.stored, idempotency);
  if (replay) return replay;
  if (!updated.row) return notFound();
  if (updated.setupEvent) deliverLater(env, ctx, caller, setupEvent.eventId);
  return json(toEndpoint(updated.row, caller.testmode, base));
}

export const describe: Described = {
  path: "/v1/webhook-endpoints/{id}",
  method: "patch",
  operation: (d) => ({
    operationId: "updateWebhookEndpoint",
    summary: "Update the webhook endpoint",
    description: "Change the url (sends webhook.setup) and/or rotate the secret: the old one keeps signing webhook-signature for 24 hours.",
    parameters: [d.id(ENDPOINT_ID), d.param("IdempotencyKey"), d.param("Bookmark")],
    requestBody: d.body(d.schema("UpdateWebhookEndpointRequest", v.strictObject(UpdateEndpointBody.entries)), ["application/json", "application/merge-patch+json"]),
    responses: {
      "200": d.json(d.schema("WebhookEndpoint", WebhookEndpointSchema), "The updated endpoint.", d.header("X-D1-Bookmark")),
      ...d.common(),
      ...d.writeErrors(MAX_BODY_BYTES),
      "404": d.error(NOT_FOUND),
      "422": d.validation("A field is invalid or cannot be updated."),
    },
  }),
};
