// The idempotency_keys statements every write shares. A keyed write reads its key's record in its own batch (the
// first statement), and every statement that changes something is guarded by `keyUnused`: when the key was used
// before, the batch changes nothing and answers the stored record instead. One round trip, replays included.
import { and, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import { bind, build, p, scope, type Database } from "../db/query";
import { idempotencyKeys, servedHere } from "../db/schema";
import type { Caller, IdempotentWrite } from "../env";

/** How long an Idempotency-Key is remembered. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Records created before this are expired: ignored by lookups, replaced on reuse, deleted by the cron. */
const expiredBefore = (now: number) => now - IDEMPOTENCY_WINDOW_MS;

const keyInScope = and(eq(idempotencyKeys.accountId, p("accountId")), eq(idempotencyKeys.testmode, p("testmode")), eq(idempotencyKeys.key, p("key")));

/**
 * True unless the request's key has an unexpired record. Without a key (`key` bound to null) it is always true. Put it
 * on every statement of a write batch that changes something, before the statement that records the answer.
 */
export const keyUnused: SQL = sql`NOT EXISTS (SELECT 1 FROM ${idempotencyKeys} WHERE ${keyInScope} AND ${idempotencyKeys.createdAt} >= ${p("notBefore")})`;

const findRecord = build
  .select({ fingerprint: idempotencyKeys.fingerprint, status: idempotencyKeys.status, body: idempotencyKeys.body, headers: idempotencyKeys.headers })
  .from(idempotencyKeys)
  .where(and(keyInScope, gte(idempotencyKeys.createdAt, p("notBefore"))))
  .toSQL();
// An expired record of the same key must not block the key's reuse, even before the cron removes it.
const deleteExpiredKey = build.delete(idempotencyKeys).where(and(keyInScope, lt(idempotencyKeys.createdAt, p("expiredBefore")))).toSQL();
// The cron's clean-up skips an account in a move's cutover (its rows are frozen for those seconds) or a copy of one.
const deleteExpiredKeys = build.delete(idempotencyKeys).where(and(lt(idempotencyKeys.createdAt, p("expiredBefore")), servedHere(idempotencyKeys.accountId))).toSQL();
/** A record of the request's key: its answer's body rendered by `body`, inserted when `when` holds. */
const recordWhen = (body: SQL, when: SQL) => build.insert(idempotencyKeys).select(
  build.select({
    accountId: sql<string>`${p("accountId")}`.as("account_id"),
    testmode: sql<number>`${p("testmode")}`.as("testmode"),
    key: sql<string>`${p("key")}`.as("key"),
    fingerprint: sql<string>`${p("fingerprint")}`.as("fingerprint"),
    status: sql<number>`${p("status")}`.as("status"),
    body: sql<string>`${body}`.as("body"),
    headers: sql<string>`${p("headers")}`.as("headers"),
    resourceId: sql<string>`${p("resourceId")}`.as("resource_id"),
    createdAt: sql<number>`${p("createdAt")}`.as("created_at"),
  }).from(sql`(SELECT 1)`).where(when),
).toSQL();
// Kept only if the statement just before it in the batch changed a row: the record exists exactly when this request's
// own write applied (never because of a concurrent request's).
const recordIfChanged = recordWhen(sql`${p("answer")}`, sql`changes() = 1`);

/**
 * The record of a write whose answer only the database knows (a bulk change's count): `body` renders it in SQL, after
 * the change, and the record is kept unless the key was used meanwhile. Bind with `recordValues`.
 */
export const recordRenderedAnswer = (body: SQL) => recordWhen(body, keyUnused);
export const recordValues = (caller: Caller, write: IdempotentWrite, holds: string | null, status: number) =>
  ({ ...scope(caller), key: write.key, fingerprint: write.fingerprint, createdAt: write.createdAt, resourceId: holds, status, headers: "{}", notBefore: expiredBefore(write.createdAt) });

/** A stored answer: what a replay sends. */
export interface StoredAnswer {
  fingerprint: string;
  status: number;
  body: string | null;
  headers: string;
}

/** The values `keyUnused` reads: the request's key (or null: no key, nothing to check) and the window. */
export const keyValues = (write: IdempotentWrite | undefined) => ({ key: write?.key ?? null, notBefore: write ? expiredBefore(write.createdAt) : 0 });

/**
 * The first statements of every write batch: with a key, make room for it if its old record has expired, then read
 * its record (the last result of these); without one, nothing.
 */
export const keyStatements = (db: Database, caller: Caller, write: IdempotentWrite | undefined) =>
  write
    ? [
      bind(db, deleteExpiredKey, { ...scope(caller), key: write.key, expiredBefore: expiredBefore(write.createdAt) }),
      bind(db, findRecord, { ...scope(caller), key: write.key, notBefore: expiredBefore(write.createdAt) }),
    ]
    : [];

/** The stored record the batch found for its key (from the results of `keyStatements`), and the results after them. */
export function splitKeyResults(results: D1Result[], write: IdempotentWrite | undefined) {
  if (!write) return { stored: undefined, rest: results };
  return { stored: results[1]!.results[0] as StoredAnswer | undefined, rest: results.slice(2) };
}

/** The unexpired record of a key, alone: for a keyed request refused before its batch ran (and for a lost race). */
export function findIdempotencyRecord(db: Database, caller: Caller, write: IdempotentWrite) {
  return bind(db, findRecord, { ...scope(caller), key: write.key, notBefore: expiredBefore(write.createdAt) }).first<StoredAnswer>();
}

/**
 * A write's answer, recorded in its batch right after the statement that makes the change. `holds` names whose data
 * the answer carries: the customer's id when it holds any of a customer's data (a customer, an event of one), since a
 * customer's erasure forgets every record kept under its id; otherwise the resource's own id.
 */
export const recordAnswerIfChanged = (
  db: Database, caller: Caller, write: IdempotentWrite, holds: string, answer: { status: number; body: string; headers: Record<string, string> },
) =>
  bind(db, recordIfChanged, {
    ...scope(caller), key: write.key, fingerprint: write.fingerprint, createdAt: write.createdAt, resourceId: holds,
    status: answer.status, answer: answer.body, headers: JSON.stringify(answer.headers),
  });

/** The cron's clean-up: every record older than the window, as of `now`. */
export async function deleteExpiredIdempotencyKeys(db: Database, now: number): Promise<number> {
  return (await bind(db, deleteExpiredKeys, { expiredBefore: expiredBefore(now) }).run()).meta.changes;
}
