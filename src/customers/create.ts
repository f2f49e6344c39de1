import * as v from "valibot";
import type { Env, RouteRequest } from "../env";
import { idTime, isoSeconds, newCustomerId } from "../lib/ids";
import { etagHeader } from "../pipeline/conditional";
import { uniqueViolation } from "../pipeline/database";
import { failValidation } from "../lib/errors";
import { replayRaceWinner, replayStored } from "../pipeline/idempotency";
import { deliverLater, eventBody, newEvent } from "../webhooks/events/event";
import { CustomerSchema, toCustomer, type CustomerRow } from "./customer";
import { Email, Metadata, Name } from "./fields";
import { insertCustomer, newEtag } from "./repository";
import type { Described } from "../lib/describe";
import { MAX_BODY_BYTES } from "../pipeline/body";

export const CreateCustomerBody = v.object(
  { email: Email, name: v.optional(Name), metadata: Metadata },
  // Only reached for a missing required key: the body is known to be an object by now.
  (issue) => `The ${String(issue.path?.[0]?.key)} field is required.`,
);

export const TAKEN = "The email has already been taken.";

/** POST /v1/customers. Unknown fields are ignored, never stored. */
export async function createCustomer(request: RouteRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
  const parsed = v.safeParse(CreateCustomerBody, request.input!, { abortPipeEarly: true });
  if (!parsed.success) failValidation(parsed.issues);

  const id = newCustomerId(request.receivedAt);
  const metadata = parsed.output.metadata ?? {};
  const row: CustomerRow = {
    id,
    testmode: request.caller.testmode,
    email: parsed.output.email,
    name: parsed.output.name ?? null,
    metadata: JSON.stringify(metadata),
    createdAt: isoSeconds(idTime(id)),
    etag: newEtag(),
  };
  const customer = toCustomer(row, request.base, metadata);
  const answer = JSON.stringify(customer); // serialised once: the answer, and the object of its event
  const event = newEvent("customer.created", id, request.receivedAt);
  const { caller, base, idempotency } = request;
  let outcome;
  try {
    outcome = await insertCustomer(request.db, caller, row, eventBody(event, caller.testmode, answer, base), { base, idempotency, event });
  } catch (err) {
    const winner = await replayRaceWinner(err, env, caller, idempotency);
    if (winner) return winner;
    if (uniqueViolation(err) === "customers_scope_email") failValidation({ email: [TAKEN] });
    throw err;
  }
  if ("stored" in outcome) return replayStored(outcome.stored, idempotency)!;
  replayStored(undefined, idempotency);
  if ("deliver" in outcome && outcome.deliver) deliverLater(env, ctx, caller, event.eventId);
  return new Response(answer, {
    status: 201,
    headers: { "Content-Type": "application/json; charset=utf-8", Location: customer.links.self.href, ETag: etagHeader(row.etag) },
  });
}

export const describe: Described = {
  path: "/v1/customers",
  method: "post",
  operation: (d) => ({
    operationId: "createCustomer",
    summary: "Create a customer",
    parameters: [d.param("IdempotencyKey"), d.param("Bookmark")],
    requestBody: { ...d.body(d.schema("CreateCustomerRequest", CreateCustomerBody)), required: true },
    responses: {
      "201": d.json(d.schema("Customer", CustomerSchema), "The created customer (or, with Idempotent-Replayed: true, the stored answer).", {
        ...d.header("X-D1-Bookmark"),
        ...d.header("ETag"),
        Location: { description: "The customer's URL.", schema: { type: "string" } },
      }),
      ...d.common(),
      ...d.writeErrors(MAX_BODY_BYTES),
      "422": d.validation("A field is invalid, or the email is taken in this account and mode."),
    },
  }),
};
