import { json } from "itty-router";
import * as v from "valibot";
import type { RouteRequest } from "../env";
import { CUSTOMER_ID } from "../lib/ids";
import { link } from "../lib/links";
import { failValidation } from "../pipeline/errors";
import { toCustomer } from "./customer";
import { listCustomers } from "./repository";

// Query values arrive as a string, or an array when a parameter is repeated.
const single = (name: string) =>
  v.string((issue) => (Array.isArray(issue.input) ? `The ${name} parameter must be given only once.` : `The ${name} parameter must be a string.`));

const Cursor = (name: string) =>
  v.optional(v.pipe(single(name), v.regex(CUSTOMER_ID, `The ${name} parameter must be a customer id (cus_...).`)));

const DEFAULT_LIMIT = 10;
const LIMIT_MESSAGE = "The limit parameter must be an integer between 1 and 100.";
const COMBINED_MESSAGE = "The startingAfter and endingBefore parameters cannot be combined.";

export const ListCustomersQuery = v.pipe(
  v.object({
    limit: v.optional(
      v.pipe(
        single("limit"),
        v.regex(/^\d{1,9}$/, LIMIT_MESSAGE),
        v.transform(Number),
        v.number(),
        v.integer(),
        v.minValue(1, LIMIT_MESSAGE),
        v.maxValue(100, LIMIT_MESSAGE),
        v.metadata({ default: DEFAULT_LIMIT }),
      ),
    ),
    startingAfter: Cursor("startingAfter"),
    endingBefore: Cursor("endingBefore"),
    // Not in the contract: the filter behind the PHP client's listByEmail(), compared as on write (trimmed, any case).
    email: v.optional(v.pipe(single("email"), v.trim(), v.nonEmpty("The email parameter must not be blank."), v.maxLength(254, "The email parameter must not be greater than 254 characters."))),
  }),
  // Named on both parameters: either one alone would be valid.
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed || !dataset.value.startingAfter || !dataset.value.endingBefore) return;
    for (const key of ["startingAfter", "endingBefore"] as const) {
      addIssue({ message: COMBINED_MESSAGE, path: [{ type: "object", origin: "value", input: dataset.value, key, value: dataset.value[key] }] });
    }
  }),
);

/** GET /v1/customers */
export async function listCustomersHandler(request: RouteRequest): Promise<Response> {
  // An empty parameter (`?startingAfter=`) counts as absent, as a Laravel API (Vatly's error format) treats it.
  const given = Object.fromEntries(Object.entries(request.query).filter(([, value]) => value !== ""));
  const parsed = v.safeParse(ListCustomersQuery, given, { abortPipeEarly: true });
  if (!parsed.success) failValidation(parsed.issues);
  const query = { ...parsed.output, limit: parsed.output.limit ?? DEFAULT_LIMIT };
  const cursorName = query.startingAfter ? "startingAfter" : query.endingBefore ? "endingBefore" : null;

  const { rows, hasMore, cursorExists } = await listCustomers(request.db, request.caller, query);
  if (cursorName && !cursorExists) failValidation({ [cursorName]: [`No customer with the id given as ${cursorName} exists.`] });

  const { base } = request;
  const filter = query.email === undefined ? "" : `email=${encodeURIComponent(query.email)}&`;
  const page = (cursor: string | null) => link(`${base}/v1/customers?${filter}${cursor ? `${cursor}&` : ""}limit=${query.limit}`);
  const first = rows[0];
  const last = rows.at(-1);
  // Beyond the page in the direction of travel: `hasMore`. Behind it: the cursor customer itself.
  const older = query.endingBefore ? true : hasMore;
  const newer = query.endingBefore ? hasMore : Boolean(query.startingAfter);

  return json({
    data: rows.map((row) => toCustomer(row, base)),
    count: rows.length,
    links: {
      self: page(cursorName && `${cursorName}=${query[cursorName]}`),
      next: older && last ? page(`startingAfter=${last.id}`) : null,
      prev: newer && first ? page(`endingBefore=${first.id}`) : null,
    },
  });
}
