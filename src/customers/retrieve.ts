import { json } from "itty-router";
import type { RouteRequest } from "../env";
import { CUSTOMER_ID } from "../lib/ids";
import { etagHeader, notModified } from "../pipeline/conditional";
import { fail } from "../lib/errors";
import { CustomerSchema, toCustomer } from "./customer";
import { findCustomer } from "./repository";
import type { Described } from "../lib/describe";

/** Documented for every route of one customer: a malformed id is not found either. */
export const NOT_FOUND = "No customer with this id in the caller's account and mode (or it was deleted).";

export function notFound(): never {
  fail(404, "Customer not found.");
}

/** GET /v1/customers/:id. A malformed id, or one outside the caller's account and mode, is simply not found. */
export async function retrieveCustomer(request: RouteRequest): Promise<Response> {
  const id = request.params.id!;
  const row = CUSTOMER_ID.test(id) ? await findCustomer(request.db, request.caller, id) : undefined;
  if (!row) notFound();
  const headers = { ETag: etagHeader(row.etag) };
  if (notModified(request, row.etag)) return new Response(null, { status: 304, headers });
  return json(toCustomer(row, request.base), { headers });
}

export const describe: Described = {
  path: "/v1/customers/{id}",
  method: "get",
  operation: (d) => ({
    operationId: "getCustomer",
    summary: "Retrieve a customer",
    parameters: [d.id(CUSTOMER_ID), d.param("Bookmark"), d.param("IfNoneMatch")],
    responses: {
      "200": d.json(d.schema("Customer", CustomerSchema), "The customer.", { ...d.header("X-D1-Bookmark"), ...d.header("ETag") }),
      "304": d.empty("If-None-Match named the current ETag: the client's copy is current.", d.header("ETag")),
      ...d.common(),
      "404": d.error(NOT_FOUND),
    },
  }),
};
