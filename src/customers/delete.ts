import type { Env, RouteRequest } from "../env";
import { CUSTOMER_ID } from "../lib/ids";
import { ifMatch, preconditionFailed } from "../pipeline/conditional";
import { replayStored } from "../pipeline/idempotency";
import { deliverLater, eventBody, newEvent } from "../webhooks/events/event";
import { deleteCustomer } from "./repository";
import { NOT_FOUND, notFound } from "./retrieve";
import type { Described } from "../lib/describe";

/** DELETE /v1/customers/:id: erasure, answered with 204. Unknown or already deleted: 404. */
export async function deleteCustomerHandler(request: RouteRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
  const id = request.params.id!;
  if (!CUSTOMER_ID.test(id)) notFound();
  const { base, idempotency, caller } = request;
  const event = newEvent("customer.deleted", id, request.receivedAt);
  const outcome = await deleteCustomer(request.db, caller, id, ifMatch(request), eventBody(event, caller.testmode, null, base), { base, idempotency, event });
  // A request with the same key got there first (its batch ran before this one): answer as it did.
  if ("stored" in outcome) return replayStored(outcome.stored, idempotency)!;
  replayStored(undefined, idempotency);
  if ("failed" in outcome) return outcome.failed === "not_found" ? notFound() : preconditionFailed();
  if (outcome.deliver) deliverLater(env, ctx, caller, event.eventId);
  return new Response(null, { status: 204 });
}

export const describe: Described = {
  path: "/v1/customers/{id}",
  method: "delete",
  operation: (d) => ({
    operationId: "deleteCustomer",
    summary: "Delete a customer",
    description: "Its email, name and metadata are erased; a tombstone keeps the id and the times. Sends customer.deleted.",
    parameters: [d.id(CUSTOMER_ID), d.param("IdempotencyKey"), d.param("IfMatch"), d.param("Bookmark")],
    responses: {
      "204": d.empty("Deleted (or, with Idempotent-Replayed: true, the replay of the delete).", d.header("X-D1-Bookmark")),
      ...d.common(),
      ...d.writeErrors(null),
      "404": d.error(NOT_FOUND),
      "412": d.error("If-Match does not name the customer's current ETag; nothing changed."),
    },
  }),
};
