// The queries of delivery (the queue consumer, and the Cron Triggers' sweep, re-keying and retention): an event's
// state, the endpoint it is bound to, its attempts.
import { and, asc, eq, lt, lte, sql } from "drizzle-orm";
import { bind, build, p, scope, type Database, type Scope } from "../db/query";
import { servedHere, webhookAttempts, webhookEndpoints, webhookEvents } from "../db/schema";
import { endpointColumns, toEndpointRow, type StoredEndpoint } from "./endpoints/repository";

const isEvent = and(eq(webhookEvents.id, p("eventId")), eq(webhookEvents.accountId, p("accountId")), eq(webhookEvents.testmode, p("testmode")));
const stillPending = and(eq(webhookEvents.id, p("eventId")), eq(webhookEvents.delivery, "pending"));


const queries = {
  // The attempt is taken before it is made: only a pending event that is due, and only once. Two messages for one
  // event (the sweep's and a late retry's) can never both attempt: the loser finds it not due and drops out.
  claimAttempt: build.update(webhookEvents)
    .set({ attempts: sql`${webhookEvents.attempts} + 1`, nextAttemptAt: sql`${p("leaseUntil")}` })
    .where(and(isEvent, eq(webhookEvents.delivery, "pending"), lte(webhookEvents.nextAttemptAt, p("now"))))
    .returning({ body: webhookEvents.body, attempts: webhookEvents.attempts, endpointId: webhookEvents.endpointId })
    .toSQL(),
  // The endpoint the event is bound to, as it is now (a changed url takes effect; a deleted endpoint is gone).
  boundEndpoint: build.select(endpointColumns).from(webhookEndpoints).where(and(
    eq(webhookEndpoints.accountId, p("accountId")), eq(webhookEndpoints.testmode, p("testmode")),
    eq(webhookEndpoints.id, build.select({ id: webhookEvents.endpointId }).from(webhookEvents).where(eq(webhookEvents.id, p("eventId")))),
  )).toSQL(),
  insertAttempt: build.insert(webhookAttempts).values({
    eventId: p("eventId"), attempt: p("attempt"), at: p("at"), url: p("url"), status: p("status"), error: p("error"), durationMs: p("durationMs"),
  }).onConflictDoNothing().toSQL(),
  settleEvent: build.update(webhookEvents)
    .set({ attempts: sql`${p("attempt")}`, delivery: sql`${p("delivery")}`, nextAttemptAt: sql`${p("nextAttemptAt")}` })
    .where(stillPending).toSQL(),
  // Its endpoint is gone: nothing is sent, and the claimed attempt was never made.
  noEndpoint: build.update(webhookEvents).set({ delivery: "none", attempts: sql`${webhookEvents.attempts} - 1` }).where(stillPending).toSQL(),
  // Never the events of an account this shard does not serve (a copy: moved away, or being built): it sends nothing.
  overdue: build.select({ id: webhookEvents.id, accountId: webhookEvents.accountId, testmode: webhookEvents.testmode })
    .from(webhookEvents).where(and(eq(webhookEvents.delivery, "pending"), lt(webhookEvents.nextAttemptAt, p("cutoff")), servedHere(webhookEvents.accountId)))
    .orderBy(asc(webhookEvents.nextAttemptAt)).limit(p("limit")).toSQL(),
  // Due now, so the message the sweep sends can claim it; not overdue again for a whole grace period.
  markEnqueued: build.update(webhookEvents).set({ nextAttemptAt: sql`${p("now")}` }).where(stillPending).toSQL(),
  // Retention skips an account in a move's cutover (its rows are frozen for those seconds) or a copy of one.
  deleteOldEvents: build.delete(webhookEvents).where(and(lt(webhookEvents.createdAt, p("cutoff")), servedHere(webhookEvents.accountId))).toSQL(),
  deleteOldAttempts: build.delete(webhookAttempts).where(and(lt(webhookAttempts.at, p("cutoff")),
    sql`${webhookAttempts.eventId} NOT IN (SELECT ${webhookEvents.id} FROM ${webhookEvents} WHERE ${servedHere(webhookEvents.accountId, true)})`)).toSQL(),
  // Re-keying: endpoints after `after` (by id), a page at a time; and the write that replaces their ciphertexts only
  // if nobody changed them meanwhile.
  endpointsAfter: build.select({ id: webhookEndpoints.id, secret: webhookEndpoints.secret, previousSecret: webhookEndpoints.previousSecret })
    .from(webhookEndpoints).where(and(sql`${webhookEndpoints.id} > ${p("after")}`, servedHere(webhookEndpoints.accountId)))
    .orderBy(asc(webhookEndpoints.id)).limit(p("limit")).toSQL(),
  reseal: build.update(webhookEndpoints)
    .set({ secret: sql`${p("secret")}`, previousSecret: sql`${p("previousSecret")}` })
    .where(and(eq(webhookEndpoints.id, p("id")), eq(webhookEndpoints.secret, p("oldSecret")), sql`${webhookEndpoints.previousSecret} IS ${p("oldPrevious")}`))
    .toSQL(),
};

/**
 * The consumer's read and claim, in one round trip: the event if its next attempt is due now (it is then taken, until
 * `leaseUntil`), and the endpoint it is bound to.
 */
export async function claimDelivery(db: Database, eventId: string, caller: Scope, now: number, leaseUntil: number) {
  const values = { ...scope(caller), eventId, now, leaseUntil };
  const [event, endpoint] = await db.batch([bind(db, queries.claimAttempt, values), bind(db, queries.boundEndpoint, values)]);
  const claimed = event!.results[0] as { body: string; attempts: number; endpoint_id: string | null } | undefined;
  return {
    event: claimed && { body: claimed.body, attempts: claimed.attempts, endpointId: claimed.endpoint_id },
    endpoint: endpoint!.results[0] ? toEndpointRow(endpoint!.results[0] as StoredEndpoint) : undefined,
  };
}

interface AttemptRecord {
  eventId: string;
  attempt: number;
  at: number;
  url: string;
  status: number | null;
  error: string | null;
  durationMs: number;
  delivery: "pending" | "delivered" | "failed";
  nextAttemptAt: number;
}

/** The attempt and the event's new state, together. */
export async function recordAttempt(db: Database, a: AttemptRecord): Promise<void> {
  await db.batch([bind(db, queries.insertAttempt, { ...a }), bind(db, queries.settleEvent, { ...a })]);
}

export const markNoEndpoint = (db: Database, eventId: string) => bind(db, queries.noEndpoint, { eventId }).run();

/** Pending events whose attempt is overdue by more than the sweep's grace: their queue message was lost. */
export async function claimOverdueEvents(db: Database, cutoff: number, now: number, limit: number) {
  const due = (await bind(db, queries.overdue, { cutoff, limit }).all<{ id: string; account_id: string; testmode: number }>()).results;
  if (due.length) await db.batch(due.map((e) => bind(db, queries.markEnqueued, { eventId: e.id, now })));
  return due.map((e) => ({ eventId: e.id, accountId: e.account_id, testmode: e.testmode === 1 }));
}

export async function deleteEventsBefore(db: Database, cutoff: number): Promise<number> {
  const [events] = await db.batch([bind(db, queries.deleteOldEvents, { cutoff }), bind(db, queries.deleteOldAttempts, { cutoff })]);
  return events!.meta.changes;
}

export const endpointSecretsAfter = async (db: Database, after: string, limit: number) =>
  (await bind(db, queries.endpointsAfter, { after, limit }).all<{ id: string; secret: string; previous_secret: string | null }>()).results;

/** Replaces an endpoint's ciphertexts, unless they changed since they were read. */
export const resealEndpoint = (db: Database, r: { id: string; oldSecret: string; oldPrevious: string | null; secret: string; previousSecret: string | null }) =>
  bind(db, queries.reseal, r).run();
