// GET /v1/customers/search: customers found by a query in Stripe's search language (search-query.ts), answered from
// indexes on the caller's shard (one D1 round trip for a common page, at most 8 for any), newest first, reading its
// own writes (search.repository.ts).
import { json } from "itty-router";
import * as v from "valibot";
import type { RouteRequest } from "../env";
import { fromBase64, hmacSha256, toBase64 } from "../lib/crypto";
import { failValidation } from "../lib/errors";
import { link } from "../lib/links";
import { DEFAULT_LIMIT, parsePageQuery, single } from "../lib/pagination";
import { CustomerListSchema, toCustomer } from "./customer";
import { parseSearchQuery, SearchSyntaxError } from "./search-query";
import { searchCustomers, type SearchCursor } from "./search.repository";
import type { Described } from "../lib/describe";

const LIMIT_MESSAGE = "The limit parameter must be an integer between 1 and 100.";
const PAGE_MESSAGE = "The page parameter is not a page token of this query (tokens belong to one query, account and mode).";

export const SearchCustomersQuery = v.object({
  query: v.pipe(
    single("query"),
    v.description('The search, e.g. `email~"acme" AND metadata["plan"]:"pro"` (README, "Searching customers").'),
    v.maxLength(2000, "The query parameter must not be greater than 2000 characters."),
  ),
  limit: v.optional(v.pipe(
    single("limit"), v.regex(/^\d{1,9}$/, LIMIT_MESSAGE), v.transform(Number), v.number(), v.integer(),
    v.minValue(1, LIMIT_MESSAGE), v.maxValue(100, LIMIT_MESSAGE), v.metadata({ default: DEFAULT_LIMIT }),
  )),
  page: v.optional(v.pipe(single("page"), v.description("The opaque token of `links.next`: the page after the one it came with."), v.maxLength(200, PAGE_MESSAGE))),
});

/**
 * The grammar as far as a pattern can say it (search-query.ts), for the OpenAPI document: up to 10 clauses of a field,
 * an operator and a double-quoted value (or createdAt's unix seconds), joined by AND or OR. Not checked against the
 * query itself: the parser's errors say what is wrong and where, which a pattern cannot.
 */
/** A createdAt time the parser takes: a date, or a date-time to the minute or more with a zone; fields in range. */
const TIME = String.raw`\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d))?`;
const CHAR = String.raw`(?:[^"\\]|\\["\\])`;
const VALUE = String.raw`"${CHAR}*"`;
// An exact value is not empty, a substring is 3 characters or more, a createdAt bound a value or unix seconds.
const TEXT_FIELD = String.raw`(?:email|name|metadata\[${VALUE}\])`;
const CLAUSE = String.raw`-?(?:${TEXT_FIELD}:"${CHAR}+"|(?:email|name)~"${CHAR}{3,}"|createdAt(?:>=?|<=?)(?:"(?:${TIME}|\d{1,12})"|\d{1,12}))`;
const JOINED = (word: string) => String.raw`(?:\s+${word}\s+${CLAUSE}){0,9}`;
export const QUERY_PATTERN = String.raw`^\s*${CLAUSE}(?:${JOINED("[Aa][Nn][Dd]")}|${JOINED("[Oo][Rr]")})\s*$`;

/** What a page token is bound to: the query, the account and the mode (a tag of 16 bytes, keyed by a server secret). */
const tokenTag = (secret: string, accountId: string, testmode: boolean, query: string) =>
  toBase64(hmacSha256(`search-page:${secret}`, `${accountId}\n${testmode ? 1 : 0}\n${query}`).slice(0, 16));
const toUrl = (b64: string) => b64.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const fromUrl = (s: string) => s.replaceAll("-", "+").replaceAll("_", "/");

/** A page token: the tag, and where the page ended (the last row's rowid and createdAt). */
function pageToken(tag: string, last: SearchCursor) {
  return toUrl(btoa(JSON.stringify([tag, last.rid, last.createdAt, last.seen ?? 0])));
}

function readPageToken(token: string, tag: string): SearchCursor {
  try {
    const [t, rid, createdAt, seen] = JSON.parse(new TextDecoder().decode(fromBase64(fromUrl(token)))) as [string, number, string, number];
    if (t === tag && Number.isSafeInteger(rid) && typeof createdAt === "string" && createdAt.length <= 40 && Number.isSafeInteger(seen) && seen >= 0) return { rid, createdAt, seen };
  } catch {}
  failValidation({ page: [PAGE_MESSAGE] });
}

/** GET /v1/customers/search */
export async function searchCustomersHandler(request: RouteRequest, env: { IDEMPOTENCY_SECRET?: string }): Promise<Response> {
  const raw = request.query as Record<string, unknown>;
  if (raw.query === undefined || raw.query === "") failValidation({ query: ["The query parameter is required: a search such as email:\"jo@example.com\"."] });
  const q = parsePageQuery(SearchCustomersQuery, raw);
  let parsed;
  try {
    parsed = parseSearchQuery(q.query);
  } catch (err) {
    if (err instanceof SearchSyntaxError) failValidation({ query: [err.message] });
    throw err;
  }
  const { caller } = request;
  const tag = tokenTag(env.IDEMPOTENCY_SECRET ?? "", caller.accountId, caller.testmode, q.query);
  const after = q.page === undefined ? null : readPageToken(q.page, tag);
  const { rows, stopped } = await searchCustomers(request.db, caller, parsed, after, q.limit);
  const page = rows.slice(0, q.limit);
  // The next page starts after the last row shown, or, on a page that ran out of calls, where its reading stopped.
  const next = rows.length > q.limit ? { rid: page.at(-1)!.rid, createdAt: page.at(-1)!.createdAt, seen: (after?.seen ?? 0) + page.length } : stopped;
  const url = (token: string | null) => link(`${request.base}/v1/customers/search?query=${encodeURIComponent(q.query)}&limit=${q.limit}${token ? `&page=${token}` : ""}`);
  return json({
    data: page.map((row) => toCustomer(row, request.base)),
    count: page.length,
    links: { self: url(q.page ?? null), next: next ? url(pageToken(tag, next)) : null, prev: null },
  });
}

export const describe: Described = {
  path: "/v1/customers/search",
  method: "get",
  operation: (d) => ({
    operationId: "searchCustomers",
    summary: "Search customers",
    description: [
      "Stripe's search language with Vatly's field names, newest first, seeing every write before it.",
      'Clauses: `email:"a@b.c"` (exact, any case) and `name:"Ann Smith"` (exact), `email~"acme"` and `name~"smi"`',
      '(substring, 3+ characters, any case, Unicode-wide), `metadata["key"]:"value"`, `createdAt>"2026-01-01T00:00:00Z"`',
      '(also >=, <, <=; a date alone is midnight UTC, and Stripe\'s unix seconds work too).',
      "A leading `-` negates a clause; clauses join with AND or OR (not both), at most 10. Values are double-quoted;",
      '`\\"` and `\\\\` escape. Follow `links.next` (an opaque `page` token) for the next page: a page may hold fewer',
      "customers than `limit`, even none, and still have a next one (a page reads a bounded number of candidates; a rare",
      "match or a negated clause on a large account takes several pages). The end is `links.next: null`.",
    ].join(" "),
    parameters: [...d.query(SearchCustomersQuery).map((p) => (p.name === "query" ? { ...p, required: true, schema: { ...p.schema, pattern: QUERY_PATTERN } } : p)), d.param("Bookmark")],
    responses: {
      "200": d.json(d.schema("CustomerList", CustomerListSchema), "A page of the customers the query finds.", d.header("X-D1-Bookmark")),
      ...d.common(),
      "422": d.validation("The query is missing or malformed (errors.query says what and at which character), the limit is out of range, or the page token belongs to another query, account or mode."),
    },
  }),
};
