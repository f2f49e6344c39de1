import * as v from "valibot";
import type { ApiRequest, Env } from "../env";
import { CUSTOMER_ID } from "../ids";

/** A customer row as the repository reads it. */
export interface CustomerRow {
  id: string;
  testmode: boolean;
  email: string;
  metadata: string; // JSON text
  createdAt: string;
}

export interface Link {
  href: string;
  type: "application/json";
}

export const link = (href: string): Link => ({ href, type: "application/json" });

/** `<base>` of every link: the configured public URL, else the origin the request came in on. */
export function baseUrl(request: ApiRequest, env: Env): string {
  return env.PUBLIC_BASE_URL ? env.PUBLIC_BASE_URL.replace(/\/+$/, "") : request.origin;
}

/** The Customer object of the contract. `metadata` is passed when the caller already has it parsed. */
export function toCustomer(row: CustomerRow, base: string, metadata: Record<string, string> = JSON.parse(row.metadata)) {
  return {
    id: row.id,
    resource: "customer" as const,
    testmode: row.testmode,
    email: row.email,
    createdAt: row.createdAt,
    metadata,
    links: { self: link(`${base}/v1/customers/${row.id}`) },
  };
}

// Response schemas: they describe what toCustomer() and the list produce, for the OpenAPI document and the tests.
export const LinkSchema = v.object({ href: v.pipe(v.string(), v.url()), type: v.literal("application/json") });

export const CustomerSchema = v.object({
  id: v.pipe(v.string(), v.regex(CUSTOMER_ID)),
  resource: v.literal("customer"),
  testmode: v.boolean(),
  email: v.string(),
  createdAt: v.pipe(v.string(), v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/), v.metadata({ format: "date-time" })),
  metadata: v.nullable(v.record(v.string(), v.string())),
  links: v.object({ self: LinkSchema }),
});

export const CustomerListSchema = v.object({
  data: v.array(CustomerSchema),
  count: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100)),
  links: v.object({ self: LinkSchema, next: v.nullable(LinkSchema), prev: v.nullable(LinkSchema) }),
});
