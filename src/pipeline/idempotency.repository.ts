// The idempotency_keys statements every write shares. Each resource's repository adds the insert of its own answer.
import { and, eq, gte, lt } from "drizzle-orm";
import { idempotencyKeys } from "../db/schema";
import type { Caller, IdempotentWrite } from "../env";
import { bind, build, p, scope } from "../db/query";
import type { Database } from "./database";

const keyInScope = and(eq(idempotencyKeys.accountId, p("accountId")), eq(idempotencyKeys.testmode, p("testmode")), eq(idempotencyKeys.key, p("key")));

const findRecord = build
  .select({ fingerprint: idempotencyKeys.fingerprint, status: idempotencyKeys.status, body: idempotencyKeys.body, headers: idempotencyKeys.headers })
  .from(idempotencyKeys)
  .where(and(keyInScope, gte(idempotencyKeys.createdAt, p("notBefore"))))
  .toSQL();
// An expired record of the same key must not block the key's reuse, even before the cron removes it.
const deleteExpiredKey = build.delete(idempotencyKeys).where(and(keyInScope, lt(idempotencyKeys.createdAt, p("expiredBefore")))).toSQL();
const deleteExpiredKeys = build.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, p("expiredBefore"))).toSQL();

interface StoredAnswer {
  fingerprint: string;
  status: number;
  body: string | null;
  headers: string;
}

export function findIdempotencyRecord(db: Database, caller: Caller, key: string, notBefore: number) {
  return bind(db, findRecord, { ...scope(caller), key, notBefore }).first<StoredAnswer>();
}

/** The first statement of every keyed write batch: make room for the key if its old record has expired. */
export const clearExpiredKey = (db: Database, caller: Caller, write: IdempotentWrite, expiredBefore: number) =>
  bind(db, deleteExpiredKey, { ...scope(caller), key: write.key, expiredBefore });

/** The cron's clean-up. */
export async function deleteExpiredIdempotencyKeys(db: Database, expiredBefore: number): Promise<number> {
  return (await bind(db, deleteExpiredKeys, { expiredBefore }).run()).meta.changes;
}
