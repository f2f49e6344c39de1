// How every repository runs drizzle: each query is built once per isolate by the query builder, with placeholders
// for the values, and bound per request on that request's D1 session. Building SQL is most of an ORM's cost per
// request, and a session cannot reuse drizzle's own prepared queries (they belong to one connection).
import { asc, desc, fillPlaceholders, gt, lt, sql, type Query, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { drizzle } from "drizzle-orm/d1";
import type { Caller } from "../env";
import type { PageQuery } from "../lib/pagination";

/** What repositories run their queries on: a request's D1 session, or the database itself (cron, queue consumer). */
export type Database = Pick<D1Database, "prepare" | "batch">;

/** What a request's D1 session cost: round trips (a batch is one) and D1's own `rows_read` / `rows_written`. */
export interface D1Usage { calls: number; rowsRead: number; rowsWritten: number }

/** Adds one round trip's results to a usage record. */
export function meter(usage: D1Usage, results: readonly { meta?: { rows_read?: number; rows_written?: number } }[]) {
  usage.calls++;
  for (const r of results) {
    usage.rowsRead += r.meta?.rows_read ?? 0;
    usage.rowsWritten += r.meta?.rows_written ?? 0;
  }
}

/** What scopes a row: the account and the mode. */
export type Scope = Pick<Caller, "accountId" | "testmode">;

/** A query builder that is never connected: only its `.toSQL()` is used. Start every query from it afresh (builders mutate). */
export const build = drizzle({} as D1Database);
export const p = sql.placeholder;

export const bind = (db: Database, query: Query, values: Record<string, unknown>) =>
  db.prepare(query.sql).bind(...fillPlaceholders(query.params, values));

/**
 * Whether a statement that touches at most one row changed it. D1's `meta.changes` also counts the rows a table's
 * triggers wrote (a move's change log, the search index), so "changed" is 1 or more, never exactly 1.
 */
export const changedRow = (result: D1Result) => result.meta.changes > 0;

/** The placeholders `accountId` and `testmode` of a caller's rows. */
export const scope = (caller: Scope) => ({ accountId: caller.accountId, testmode: caller.testmode ? 1 : 0 });

/**
 * Keyset pagination, shared by every list: the page queries are built once per direction (and filter) by
 * `pageQueries`, and `fetchPage` runs one in a single round trip, batched with the check that the cursor names a row
 * of the caller. Ids order rows by creation, so "older than the cursor" is `id < cursor`, newest first.
 */
type PageDirection = "newest" | "olderThan" | "newerThan";

export function pageQueries<F extends string>(
  id: SQLiteColumn,
  page: (where: SQL | undefined, order: SQL, filter: F | undefined) => Query,
  filters: F[],
) {
  const build = (direction: PageDirection, filter?: F) => {
    const cursor = { newest: undefined, olderThan: lt(id, p("cursor")), newerThan: gt(id, p("cursor")) }[direction];
    return page(cursor, direction === "newerThan" ? asc(id) : desc(id), filter);
  };
  const directions: PageDirection[] = ["newest", "olderThan", "newerThan"];
  return Object.fromEntries(directions.map((d) => [d, { all: build(d), ...Object.fromEntries(filters.map((f) => [f, build(d, f)])) }])) as Record<
    PageDirection,
    Record<"all" | F, Query>
  >;
}

export async function fetchPage<R, F extends string>(
  db: Database, pages: Record<PageDirection, Record<F, Query>>, cursorCheck: Query, filter: F, values: Record<string, unknown>, q: PageQuery,
) {
  const cursor = q.startingAfter ?? q.endingBefore;
  const all = { ...values, cursor, limit: q.limit + 1 };
  const direction: PageDirection = q.endingBefore ? "newerThan" : q.startingAfter ? "olderThan" : "newest";
  const page = bind(db, pages[direction][filter], all);
  let rows: R[];
  let cursorExists = true;
  if (cursor) {
    const [found, result] = await db.batch<R>([bind(db, cursorCheck, all), page]);
    cursorExists = found!.results.length > 0;
    rows = result!.results;
  } else {
    rows = (await page.all<R>()).results;
  }
  const hasMore = rows.length > q.limit;
  rows = rows.slice(0, q.limit);
  if (q.endingBefore) rows.reverse(); // fetched oldest first; answered newest first
  return { rows, hasMore, cursorExists };
}
