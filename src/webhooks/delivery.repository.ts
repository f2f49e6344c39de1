// The queries of delivery (the queue consumer and the Cron Triggers' sweep and retention): an event's state, the
// endpoint it goes to, its attempts.
import { and, asc, eq, lt, sql } from "drizzle-orm";
import { bind, build, p, scope, type Database, type Scope } from "../db/query";
import { webhookAttempts, webhookEndpoints, webhookEvents } from "../db/schema";
import { endpointColumns, endpointInScope, toEndpointRow, type StoredEndpoint } from "./endpoints/repository";

const queries = {
  // The consumer's view: the event and the endpoint it goes to now (changed or deleted endpoints take effect at once).
  deliveryEvent: build.select({ body: webhookEvents.body, delivery: webhookEvents.delivery, attempts: webhookEvents.attempts })
    .from(webhookEvents).where(eq(webhookEvents.id, p("eventId"))).toSQL(),
  deliveryEndpoint: build.select(endpointColumns).from(webhookEndpoints).where(endpointInScope).toSQL(),
  insertAttempt: build.insert(webhookAttempts).values({
    eventId: p("eventId"), attempt: p("attempt"), at: p("at"), url: p("url"), status: p("status"), error: p("error"), durationMs: p("durationMs"),
  }).onConflictDoNothing().toSQL(),
  settleEvent: build.update(webhookEvents)
    .set({ attempts: sql`${p("attempt")}`, delivery: sql`${p("delivery")}`, nextAttemptAt: sql`${p("nextAttemptAt")}` })
    .where(and(eq(webhookEvents.id, p("eventId")), eq(webhookEvents.delivery, "pending"))).toSQL(),
  noEndpoint: build.update(webhookEvents).set({ delivery: "none" }).where(and(eq(webhookEvents.id, p("eventId")), eq(webhookEvents.delivery, "pending"))).toSQL(),
  overdue: build.select({ id: webhookEvents.id, accountId: webhookEvents.accountId, testmode: webhookEvents.testmode })
    .from(webhookEvents).where(and(eq(webhookEvents.delivery, "pending"), lt(webhookEvents.nextAttemptAt, p("cutoff"))))
    .orderBy(asc(webhookEvents.nextAttemptAt)).limit(p("limit")).toSQL(),
  markEnqueued: build.update(webhookEvents).set({ nextAttemptAt: sql`${p("now")}` })
    .where(and(eq(webhookEvents.id, p("eventId")), eq(webhookEvents.delivery, "pending"))).toSQL(),
  deleteOldEvents: build.delete(webhookEvents).where(lt(webhookEvents.createdAt, p("cutoff"))).toSQL(),
  deleteOldAttempts: build.delete(webhookAttempts).where(lt(webhookAttempts.at, p("cutoff"))).toSQL(),
};

/** The consumer's read: the event's state and body, and the endpoint it should go to now. One round trip. */
export async function loadDelivery(db: Database, eventId: string, caller: Scope) {
  const values = { ...scope(caller), eventId };
  const [event, endpoint] = await db.batch([bind(db, queries.deliveryEvent, values), bind(db, queries.deliveryEndpoint, values)]);
  return {
    event: event!.results[0] as { body: string; delivery: string; attempts: number } | undefined,
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
