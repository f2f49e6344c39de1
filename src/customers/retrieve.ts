import { json } from "itty-router";
import type { RouteRequest } from "../env";
import { CUSTOMER_ID } from "../lib/ids";
import { etagHeader, notModified } from "../pipeline/conditional";
import { fail } from "../pipeline/errors";
import { toCustomer } from "./customer";
import { findCustomer } from "./repository";

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
