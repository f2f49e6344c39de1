// Every query on the customers and idempotency_keys tables.
import { and, asc, desc, eq, gt, gte, lt } from "drizzle-orm";
import type { Database } from "../db/client";
import { customers, idempotencyKeys } from "../db/schema";
import type { Caller } from "../env";
import type { CustomerRow } from "./customer";

const columns = {
  id: customers.id,
  testmode: customers.testmode,
  email: customers.email,
  metadata: customers.metadata,
  createdAt: customers.createdAt,
};

const inScope = (caller: Caller) => and(eq(customers.accountId, caller.accountId), eq(customers.testmode, caller.testmode));

export function findCustomer(db: Database, caller: Caller, id: string): Promise<CustomerRow | undefined> {
  return db.select(columns).from(customers).where(and(inScope(caller), eq(customers.id, id))).get();
}

export interface PageQuery {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
}

/**
 * One page, newest first, plus whether more rows lie beyond it in the direction of travel and whether the
 * cursor names a customer of the caller. One D1 round trip: the cursor check and the page are one batch.
 */
export async function listCustomers(db: Database, caller: Caller, q: PageQuery) {
  const cursor = q.startingAfter ?? q.endingBefore;
  const page = q.endingBefore
    ? db.select(columns).from(customers).where(and(inScope(caller), gt(customers.id, q.endingBefore))).orderBy(asc(customers.id)).limit(q.limit + 1)
    : db.select(columns).from(customers).where(and(inScope(caller), q.startingAfter ? lt(customers.id, q.startingAfter) : undefined)).orderBy(desc(customers.id)).limit(q.limit + 1);

  let rows: CustomerRow[];
  let cursorExists = true;
  if (cursor) {
    const [found, pageRows] = await db.batch([
      db.select({ id: customers.id }).from(customers).where(and(inScope(caller), eq(customers.id, cursor))),
      page,
    ]);
    cursorExists = found.length > 0;
    rows = pageRows;
  } else {
    rows = await page;
  }
  const hasMore = rows.length > q.limit;
  rows = rows.slice(0, q.limit);
  if (q.endingBefore) rows.reverse();
  return { rows, hasMore, cursorExists };
}

export function insertCustomer(db: Database, caller: Caller, row: CustomerRow) {
  return db.insert(customers).values({ ...row, accountId: caller.accountId });
}

export interface IdempotencyRecord {
  key: string;
  fingerprint: string;
  status: number;
  body: string;
  createdAt: number;
}

/** The customer and its idempotency record, written in one batch: a D1 transaction, all or nothing. */
export function insertCustomerIdempotently(db: Database, caller: Caller, row: CustomerRow, record: IdempotencyRecord, expiredBefore: number) {
  return db.batch([
    // An expired record of the same key must not block the key's reuse, even before the cron removes it.
    db.delete(idempotencyKeys).where(and(
      eq(idempotencyKeys.accountId, caller.accountId),
      eq(idempotencyKeys.testmode, caller.testmode),
      eq(idempotencyKeys.key, record.key),
      lt(idempotencyKeys.createdAt, expiredBefore),
    )),
    db.insert(idempotencyKeys).values({ ...record, accountId: caller.accountId, testmode: caller.testmode }),
    insertCustomer(db, caller, row),
  ]);
}

export function findIdempotencyRecord(db: Database, caller: Caller, key: string, notBefore: number) {
  return db
    .select({ fingerprint: idempotencyKeys.fingerprint, status: idempotencyKeys.status, body: idempotencyKeys.body })
    .from(idempotencyKeys)
    .where(and(
      eq(idempotencyKeys.accountId, caller.accountId),
      eq(idempotencyKeys.testmode, caller.testmode),
      eq(idempotencyKeys.key, key),
      gte(idempotencyKeys.createdAt, notBefore),
    ))
    .get();
}

export async function deleteExpiredIdempotencyKeys(db: Database, expiredBefore: number): Promise<number> {
  const result = await db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, expiredBefore));
  return result.meta.changes;
}
