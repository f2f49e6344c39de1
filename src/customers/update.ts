import { json } from "itty-router";
import * as v from "valibot";
import type { Env, RouteRequest } from "../env";
import { CUSTOMER_ID } from "../lib/ids";
import { etagHeader, ifMatch, preconditionFailed } from "../pipeline/conditional";
import { uniqueViolation } from "../pipeline/database";
import { failValidation, fieldErrors, refusedFields } from "../lib/errors";
import { replayRaceWinner, replayStored } from "../pipeline/idempotency";
import { TAKEN } from "./create";
import { deliverLater, newEvent } from "../webhooks/events/event";
import { CustomerSchema, toCustomer, type CustomerRow } from "./customer";
import { Email, MAX_METADATA_KEYS, MetadataPatch, Name } from "./fields";
import { findCustomerKeyed, updateCustomer, type CustomerChanges } from "./repository";
import { NOT_FOUND, notFound } from "./retrieve";
import type { Described } from "../lib/describe";
import { MAX_BODY_BYTES } from "../pipeline/body";

// Unknown fields are refused by name (refusedFields), so the document states the body as closed.
export const UpdateCustomerBody = v.object({ email: v.optional(Email), name: v.optional(Name), metadata: v.optional(MetadataPatch) });
const UPDATABLE = new Set(Object.keys(UpdateCustomerBody.entries));

/** PATCH /v1/customers/:id: a partial update; metadata is merged key by key (JSON Merge Patch). */
export async function updateCustomerHandler(request: RouteRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
  const id = request.params.id!;
  if (!CUSTOMER_ID.test(id)) notFound();
  const input = request.input!;
  const refused = refusedFields(input, UPDATABLE);
  const parsed = v.safeParse(UpdateCustomerBody, input, { abortPipeEarly: true });
  if (Object.keys(refused).length > 0 || !parsed.success) failValidation({ ...(parsed.success ? {} : fieldErrors(parsed.issues)), ...refused });
  const changes: CustomerChanges = parsed.output;
  // `[]` (PHP's empty array) as the whole metadata means no keys: the metadata is cleared, as null clears it.
  if (Array.isArray(input.metadata)) changes.metadata = null;
  const expected = ifMatch(request);

  let row: CustomerRow;
  if (Object.keys(changes).length === 0) {
    // Nothing to change: the customer as it is (still subject to If-Match), unless the key says otherwise.
    const found = await findCustomerKeyed(request.db, request.caller, id, request.idempotency);
    const replay = replayStored(found.stored, request.idempotency);
    if (replay) return replay;
    row = found.row ?? notFound();
    if (expected && !expected.includes(row.etag)) preconditionFailed();
  } else {
    const event = newEvent("customer.updated", id, request.receivedAt);
    let outcome;
    try {
      const { base, idempotency } = request;
      outcome = await updateCustomer(request.db, request.caller, id, changes, expected, { base, idempotency, event });
    } catch (err) {
      const winner = await replayRaceWinner(err, env, request.caller, request.idempotency);
      if (winner) return winner;
      if (uniqueViolation(err) === "customers_scope_email") failValidation({ email: [TAKEN] });
      throw err;
    }
    if ("stored" in outcome) return replayStored(outcome.stored, request.idempotency)!;
    replayStored(undefined, request.idempotency);
    if ("failed" in outcome) {
      if (outcome.failed === "not_found") notFound();
      if (outcome.failed === "precondition_failed") preconditionFailed();
      failValidation({ metadata: [`The metadata field must not have more than ${MAX_METADATA_KEYS} keys.`] });
    }
    row = outcome.ok;
    if (outcome.deliver) deliverLater(env, ctx, request.caller, event.eventId);
  }
  return json(toCustomer(row, request.base), { headers: { ETag: etagHeader(row.etag) } });
}

export const describe: Described = {
  path: "/v1/customers/{id}",
  method: "patch",
  operation: (d) => ({
    operationId: "updateCustomer",
    summary: "Update a customer",
    description: "Email, name, and metadata merged key by key (JSON Merge Patch: null removes a key). If-Match makes it conditional. Sends customer.updated.",
    parameters: [d.id(CUSTOMER_ID), d.param("IdempotencyKey"), d.param("IfMatch"), d.param("Bookmark")],
    requestBody: d.body(d.schema("UpdateCustomerRequest", v.strictObject(UpdateCustomerBody.entries)), ["application/json", "application/merge-patch+json"]),
    responses: {
      "200": d.json(d.schema("Customer", CustomerSchema), "The updated customer (or, with Idempotent-Replayed: true, the stored answer).", {
        ...d.header("X-D1-Bookmark"),
        ...d.header("ETag"),
      }),
      ...d.common(),
      ...d.writeErrors(MAX_BODY_BYTES),
      "404": d.error(NOT_FOUND),
      "412": d.error("If-Match does not name the customer's current ETag; nothing changed."),
      "422": d.validation("A field is invalid or cannot be updated, the email is taken, or the merged metadata has more than 50 keys."),
    },
  }),
};
