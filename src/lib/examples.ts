// The example values the OpenAPI document shows: real-looking, and one customer for every place that shows one (the
// customer, a page of them, an event that carries one). Here, below every resource, so none imports another's.
export const CUSTOMER_EXAMPLE = {
  id: "cus_0VcZ8xKq3mP7RtW2yL5nB9", resource: "customer" as const, testmode: false, email: "ada@lovelace.example", name: "Ada Lovelace",
  createdAt: "2026-11-30T09:14:03Z", metadata: { plan: "pro", crm_id: "A-1042" },
  links: { self: { href: "https://api.example.com/v1/customers/cus_0VcZ8xKq3mP7RtW2yL5nB9", type: "application/json" as const } },
};
