// Every query on the customers and idempotency_keys tables. Each is built once per isolate by drizzle's query
// builder, with placeholders for the values, and run per request on that request's D1 session (db/client.ts):
// building SQL is most of an ORM's cost per request, and a session cannot reuse drizzle's own prepared queries.
import { and, asc, desc, eq, fillPlaceholders, gt, gte, lt, sql, type Query } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Database } from "../db/client";
import { customers, idempotencyKeys } from "../db/schema";
import type { Caller } from "../env";
import type { CustomerRow } from "./customer";

const build = drizzle({} as D1Database); // never connected: only its .toSQL() is used
const p = sql.placeholder;

const columns = { id: customers.id, testmode: customers.testmode, email: customers.email, metadata: customers.metadata, createdAt: customers.createdAt };
const inScope = and(eq(customers.accountId, p("accountId")), eq(customers.testmode, p("testmode")));
const keyInScope = and(eq(idempotencyKeys.accountId, p("accountId")), eq(idempotencyKeys.testmode, p("testmode")), eq(idempotencyKeys.key, p("key")));
const select = () => build.select(columns).from(customers); // a new builder each time: drizzle's builders mutate
// Matches the unique index on lower(email), so the filter is a lookup. Emails are ASCII: lower() folds them exactly.
const emailIs = eq(sql`lower(${customers.email})`, sql`lower(${p("email")})`);

type Direction = "newest" | "olderThan" | "newerThan";
function pageQuery(direction: Direction, byEmail: boolean): Query {
  const cursor = { newest: undefined, olderThan: lt(customers.id, p("cursor")), newerThan: gt(customers.id, p("cursor")) }[direction];
  const order = direction === "newerThan" ? asc(customers.id) : desc(customers.id);
  return select().where(and(inScope, cursor, byEmail ? emailIs : undefined)).orderBy(order).limit(p("limit")).toSQL();
}
const pages = Object.fromEntries(
  (["newest", "olderThan", "newerThan"] as const).flatMap((d) => [[d, pageQuery(d, false)], [`${d}+email`, pageQuery(d, true)]]),
);

const queries = {
  findCustomer: select().where(and(inScope, eq(customers.id, p("id")))).toSQL(),
  cursorExists: build.select({ id: customers.id }).from(customers).where(and(inScope, eq(customers.id, p("cursor")))).toSQL(),
  insertCustomer: build.insert(customers).values({
    id: p("id"), accountId: p("accountId"), testmode: p("testmode"), email: p("email"), metadata: p("metadata"), createdAt: p("createdAt"),
  }).toSQL(),
  findIdempotencyRecord: build
    .select({ fingerprint: idempotencyKeys.fingerprint, status: idempotencyKeys.status, body: idempotencyKeys.body })
    .from(idempotencyKeys)
    .where(and(keyInScope, gte(idempotencyKeys.createdAt, p("notBefore"))))
    .toSQL(),
  // An expired record of the same key must not block the key's reuse, even before the cron removes it.
  deleteExpiredKey: build.delete(idempotencyKeys).where(and(keyInScope, lt(idempotencyKeys.createdAt, p("expiredBefore")))).toSQL(),
  insertIdempotencyRecord: build.insert(idempotencyKeys).values({
    accountId: p("accountId"), testmode: p("testmode"), key: p("key"), fingerprint: p("fingerprint"), status: p("status"), body: p("body"), createdAt: p("createdAt"),
  }).toSQL(),
  deleteExpiredKeys: build.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, p("expiredBefore"))).toSQL(),
};

const statement = (db: Database, query: Query, values: Record<string, unknown>) => db.prepare(query.sql).bind(...fillPlaceholders(query.params, values));
const scope = (caller: Caller) => ({ accountId: caller.accountId, testmode: caller.testmode ? 1 : 0 });

type StoredCustomer = { id: string; testmode: number; email: string; metadata: string; created_at: string };
const toRow = (r: StoredCustomer): CustomerRow => ({ id: r.id, testmode: r.testmode === 1, email: r.email, metadata: r.metadata, createdAt: r.created_at });

export async function findCustomer(db: Database, caller: Caller, id: string): Promise<CustomerRow | undefined> {
  const row = await statement(db, queries.findCustomer, { ...scope(caller), id }).first<StoredCustomer>();
  return row ? toRow(row) : undefined;
}

export interface PageQuery {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
  email?: string;
}

/**
 * One page, newest first, plus whether more rows lie beyond it in the direction of travel and whether the
 * cursor names a customer of the caller. One D1 round trip: the cursor check and the page are one batch.
 */
export async function listCustomers(db: Database, caller: Caller, q: PageQuery) {
  const cursor = q.startingAfter ?? q.endingBefore;
  const values = { ...scope(caller), cursor, email: q.email, limit: q.limit + 1 };
  const direction: Direction = q.endingBefore ? "newerThan" : q.startingAfter ? "olderThan" : "newest";
  const pageQuery = statement(db, pages[q.email === undefined ? direction : `${direction}+email`]!, values);

  let stored: StoredCustomer[];
  let cursorExists = true;
  if (cursor) {
    const [found, pageResult] = await db.batch<StoredCustomer>([statement(db, queries.cursorExists, values), pageQuery]);
    cursorExists = found!.results.length > 0;
    stored = pageResult!.results;
  } else {
    stored = (await pageQuery.all<StoredCustomer>()).results;
  }
  const hasMore = stored.length > q.limit;
  const rows = stored.slice(0, q.limit).map(toRow);
  if (q.endingBefore) rows.reverse();
  return { rows, hasMore, cursorExists };
}

const customerValues = (caller: Caller, row: CustomerRow) => ({ ...row, ...scope(caller) });

export async function insertCustomer(db: Database, caller: Caller, row: CustomerRow): Promise<void> {
  await statement(db, queries.insertCustomer, customerValues(caller, row)).run();
}

/** How long an Idempotency-Key is remembered. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface IdempotencyRecord {
  key: string;
  fingerprint: string;
  status: number;
  body: string;
  createdAt: number;
}

/** The customer and its idempotency record, written in one batch: a D1 transaction, all or nothing. */
export async function insertCustomerIdempotently(db: Database, caller: Caller, row: CustomerRow, record: IdempotencyRecord, expiredBefore: number): Promise<void> {
  const key = { ...scope(caller), key: record.key };
  await db.batch([
    statement(db, queries.deleteExpiredKey, { ...key, expiredBefore }),
    statement(db, queries.insertIdempotencyRecord, { ...record, ...key }),
    statement(db, queries.insertCustomer, customerValues(caller, row)),
  ]);
}

export function findIdempotencyRecord(db: Database, caller: Caller, key: string, notBefore: number) {
  return statement(db, queries.findIdempotencyRecord, { ...scope(caller), key, notBefore }).first<{ fingerprint: string; status: number; body: string }>();
}

export async function deleteExpiredIdempotencyKeys(db: Database, expiredBefore: number): Promise<number> {
  const result = await statement(db, queries.deleteExpiredKeys, { expiredBefore }).run();
  return result.meta.changes;
}
