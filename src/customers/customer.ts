import * as v from "valibot";
import { CUSTOMER_ID, IsoSecondsSchema } from "../lib/ids";
import { link, LinkSchema } from "../lib/links";
import { listSchema } from "../lib/pagination";
import { CUSTOMER_EXAMPLE } from "../lib/examples";

/** A customer row as the repository reads it. */
export interface CustomerRow {
  id: string;
  testmode: boolean;
  email: string;
  name: string | null;
  metadata: string; // JSON text
  createdAt: string;
  etag: string;
}

/** The Customer object of the contract. `metadata` is passed when the caller already has it parsed. */
export function toCustomer(row: CustomerRow, base: string, metadata: Record<string, string> = JSON.parse(row.metadata)) {
  return {
    id: row.id,
    resource: "customer" as const,
    testmode: row.testmode,
    email: row.email,
    name: row.name,
    createdAt: row.createdAt,
    metadata,
    links: { self: link(`${base}/v1/customers/${row.id}`) },
  };
}

// Response schemas: they describe what toCustomer() and the list produce, for the OpenAPI document and the tests.

/** What the reference shows: a customer as the API answers it. */

export const CustomerSchema = v.pipe(v.object({
  id: v.pipe(v.string(), v.regex(CUSTOMER_ID)),
  resource: v.literal("customer"),
  testmode: v.boolean(),
  email: v.string(),
  name: v.nullable(v.string()),
  createdAt: IsoSecondsSchema,
  // Always an object: no metadata is {} (null in a request clears it to that).
  metadata: v.record(v.string(), v.string()),
  links: v.object({ self: LinkSchema }),
}), v.examples([CUSTOMER_EXAMPLE]));

export const CustomerListSchema = v.pipe(listSchema(CustomerSchema), v.examples([{
  data: [CUSTOMER_EXAMPLE],
  count: 1,
  links: {
    self: { href: "https://api.example.com/v1/customers?limit=1", type: "application/json" as const },
    next: { href: "https://api.example.com/v1/customers?startingAfter=cus_0VcZ8xKq3mP7RtW2yL5nB9&limit=1", type: "application/json" as const },
    prev: null,
  },
}]));
