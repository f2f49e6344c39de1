import type { Env, RouteRequest } from "../env";
import { CUSTOMER_ID } from "../lib/ids";
import { ifMatch, preconditionFailed } from "../pipeline/conditional";
import { replayWinner } from "../pipeline/idempotency";
import { deleteCustomer } from "./repository";
import { notFound } from "./retrieve";

/** DELETE /v1/customers/:id: erasure, answered with 204. Unknown or already deleted: 404. */
export async function deleteCustomerHandler(request: RouteRequest, env: Env): Promise<Response> {
  const id = request.params.id!;
  if (!CUSTOMER_ID.test(id)) notFound();
  const { base, idempotency, receivedAt: now } = request;
  const outcome = await deleteCustomer(request.db, request.caller, id, ifMatch(request), { base, idempotency, now });
  if ("failed" in outcome) {
    // A concurrent delete with the same key got there first: answer as it did.
    const winner = idempotency && (await replayWinner(env, request.caller, idempotency));
    if (winner) return winner;
    return outcome.failed === "not_found" ? notFound() : preconditionFailed();
  }
  return new Response(null, { status: 204 });
}
