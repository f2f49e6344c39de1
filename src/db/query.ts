// How every repository runs drizzle: each query is built once per isolate by the query builder, with placeholders
// for the values, and bound per request on that request's D1 session. Building SQL is most of an ORM's cost per
// request, and a session cannot reuse drizzle's own prepared queries (they belong to one connection).
import { fillPlaceholders, sql, type Query } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Caller } from "../env";

/** What scopes a row: the account and the mode. */
export type Scope = Pick<Caller, "accountId" | "testmode">;
import type { Database } from "../pipeline/database";

/** A query builder that is never connected: only its `.toSQL()` is used. Start every query from it afresh (builders mutate). */
export const build = drizzle({} as D1Database);
export const p = sql.placeholder;

export const bind = (db: Database, query: Query, values: Record<string, unknown>) =>
  db.prepare(query.sql).bind(...fillPlaceholders(query.params, values));

/** The placeholders `accountId` and `testmode` of a caller's rows. */
export const scope = (caller: Scope) => ({ accountId: caller.accountId, testmode: caller.testmode ? 1 : 0 });
