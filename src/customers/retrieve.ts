import { json } from "itty-router";
import { openDatabase } from "../db/client";
import type { ApiRequest, Env } from "../env";
import { fail } from "../errors";
import { CUSTOMER_ID } from "../ids";
import { baseUrl, toCustomer } from "./customer";
import { findCustomer } from "./repository";

/** GET /v1/customers/:id. A malformed id, or one outside the caller's account and mode, is simply not found. */
export async function retrieveCustomer(request: ApiRequest, env: Env): Promise<Response> {
  const id = request.params.id!;
  const row = CUSTOMER_ID.test(id) ? await findCustomer(openDatabase(request, env), request.caller!, id) : undefined;
  if (!row) fail(404, "Customer not found.");
  return json(toCustomer(row, baseUrl(request, env)));
}
