import { json } from "itty-router";
import * as v from "valibot";
import type { RouteRequest } from "../env";
import { CUSTOMER_ID } from "../lib/ids";
import { pageLinks, pageQuerySchema, parsePageQuery, requireCursor, single } from "../lib/pagination";
import { CustomerListSchema, toCustomer } from "./customer";
import { listCustomers } from "./repository";
import type { Described } from "../lib/describe";

export const ListCustomersQuery = pageQuerySchema(CUSTOMER_ID, "a customer id (cus_...)", {
  // Not in the contract: the filter behind the PHP client's listByEmail(), compared as on write (trimmed, any case).
  email: v.optional(
    v.pipe(
      single("email"),
      v.regex(/\S/, "The email parameter must not be blank."),
      v.trim(),
      v.maxLength(254, "The email parameter must not be greater than 254 characters."),
    ),
  ),
});

/** GET /v1/customers */
export async function listCustomersHandler(request: RouteRequest): Promise<Response> {
  const query = parsePageQuery(ListCustomersQuery, request.query);
  const { rows, hasMore, cursorExists } = await listCustomers(request.db, request.caller, query);
  requireCursor(query, cursorExists, "customer");
  const filters = query.email === undefined ? "" : `email=${encodeURIComponent(query.email)}`;
  return json({
    data: rows.map((row) => toCustomer(row, request.base)),
    count: rows.length,
    links: pageLinks(`${request.base}/v1/customers`, filters, query, rows.map((row) => row.id), hasMore),
  });
}

export const describe: Described = {
  path: "/v1/customers",
  method: "get",
  operation: (d) => ({
    operationId: "listCustomers",
    summary: "List customers",
    description: "Newest first, with id cursors (`startingAfter`, `endingBefore`) and an optional exact `email` filter.",
    parameters: [...d.query(ListCustomersQuery), d.param("Bookmark")],
    responses: {
      "200": d.json(d.schema("CustomerList", CustomerListSchema), "A page of customers.", d.header("X-D1-Bookmark")),
      ...d.common(),
      "422": d.validation("A query parameter is malformed, out of range, or names no customer of the caller."),
    },
  }),
};
