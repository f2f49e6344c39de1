import type { ApiRequest, Env } from "../env";

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
  return env.PUBLIC_BASE_URL ? env.PUBLIC_BASE_URL.replace(/\/+$/, "") : new URL(request.url).origin;
}

/** The Customer object of the contract. */
export function toCustomer(row: CustomerRow, base: string) {
  return {
    id: row.id,
    resource: "customer" as const,
    testmode: row.testmode,
    email: row.email,
    createdAt: row.createdAt,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    links: { self: link(`${base}/v1/customers/${row.id}`) },
  };
}

export type Customer = ReturnType<typeof toCustomer>;
