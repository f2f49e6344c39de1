import type { RouteRequest } from "../../env";
import { ENDPOINT_ID } from "../../lib/ids";
import type { Described } from "../../lib/describe";
import { replayStored } from "../../pipeline/idempotency";
import { NOT_FOUND, notFound } from "./endpoint";
import { deleteEndpoint } from "./repository";

/** DELETE /v1/webhook-endpoints/:id: 204; nothing more is sent to it, including retries not yet attempted. */
export async function deleteEndpointHandler(request: RouteRequest): Promise<Response> {
  const id = request.params.id!;
  if (!ENDPOINT_ID.test(id)) notFound();
  const { caller, idempotency } = request;
  // No unique index can refuse this batch: a concurrent request with the same key is seen by the batch itself.
  const deleted = await deleteEndpoint(request.db, caller, id, { idempotency, answer: { status: 204, body: "", headers: {} } });
  const replay = replayStored(deleted.stored, idempotency);
  if (replay) return replay;
  return deleted.deleted ? new Response(null, { status: 204 }) : notFound();
}

export const describe: Described = {
  path: "/v1/webhook-endpoints/{id}",
  method: "delete",
  operation: (d) => ({
    operationId: "deleteWebhookEndpoint",
    summary: "Delete the webhook endpoint",
    description: "Nothing more is sent to it, retries included.",
    parameters: [d.id(ENDPOINT_ID), d.param("IdempotencyKey"), d.param("Bookmark")],
    responses: {
      "204": d.empty("Deleted (or the replay of the delete).", d.header("X-D1-Bookmark")),
      ...d.common(),
      ...d.writeErrors(null),
      "404": d.error(NOT_FOUND),
    },
  }),
};
