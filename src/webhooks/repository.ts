// Every query on webhook endpoints, events and delivery attempts. (A customer write's own event is inserted by the
// customers repository, in the customer's batch, with `eventJson` and `deliveryState` from here.)
import { and, asc, eq, lt, sql, type SQL } from "drizzle-orm";
import { bind, build, fetchPage, p, pageQueries, scope, type Scope } from "../db/query";
import { webhookAttempts, webhookEndpoints, webhookEvents } from "../db/schema";
import type { Caller, IdempotentWrite } from "../env";
import type { PageQuery } from "../lib/pagination";
import type { Database } from "../pipeline/database";
import { clearExpiredKey, recordAnswerIfChanged } from "../pipeline/idempotency.repository";

/** 'pending' when the account and mode have an endpoint to deliver to, else 'none'; decided in the event's own insert. */
const deliveryState = sql<string>`CASE WHEN EXISTS (SELECT 1 FROM ${webhookEndpoints}
  WHERE ${webhookEndpoints.accountId} = ${p("accountId")} AND ${webhookEndpoints.testmode} = ${p("testmode")}) THEN 'pending' ELSE 'none' END`;

/** A WebhookEvent rendered in SQL around an object rendered in SQL (an update's result only exists in the database). */
export const eventJson = (object: SQL) => sql<string>`json_object('id', ${p("eventId")}, 'resource', 'webhook_event',
  'eventName', ${p("eventName")}, 'entityType', ${p("entityType")}, 'entityId', ${p("entityId")}, 'createdAt', ${p("eventCreatedAt")},
  'testmode', json(iif(${p("testmode")}, 'true', 'false')), 'object', json(${object}),
  'links', json_object('self', json_object('href', ${p("base")} || '/v1/webhook-events/' || ${p("eventId")}, 'type', 'application/json')))`;

/** The columns of an event row, for INSERT ... SELECT. */
export const eventColumns = (body: SQL<string>) => ({
  id: sql<string>`${p("eventId")}`.as("id"),
  accountId: sql<string>`${p("accountId")}`.as("account_id"),
  testmode: sql<number>`${p("testmode")}`.as("testmode"),
  eventName: sql<string>`${p("eventName")}`.as("event_name"),
  entityId: sql<string>`${p("entityId")}`.as("entity_id"),
  body: body.as("body"),
  createdAt: sql<number>`${p("now")}`.as("created_at"),
  delivery: deliveryState.as("delivery"),
  attempts: sql<number>`0`.as("attempts"),
  nextAttemptAt: sql<number>`${p("now")}`.as("next_attempt_at"),
});

/** An event whose body the Worker rendered, inserted with the change it records. */
export const insertEventQuery = build.insert(webhookEvents).values({
  id: p("eventId"), accountId: p("accountId"), testmode: p("testmode"), eventName: p("eventName"), entityId: p("entityId"),
  body: p("body"), createdAt: p("now"), delivery: deliveryState, attempts: 0, nextAttemptAt: p("now"),
}).toSQL();

/** Whether an event committed and should be delivered: the last statement of a write batch. */
export const eventDeliveryQuery = build.select({ delivery: webhookEvents.delivery }).from(webhookEvents).where(eq(webhookEvents.id, p("eventId"))).toSQL();

const endpointColumns = {
  id: webhookEndpoints.id, testmode: webhookEndpoints.testmode, url: webhookEndpoints.url, secret: webhookEndpoints.secret,
  previousSecret: webhookEndpoints.previousSecret, previousSecretUntil: webhookEndpoints.previousSecretUntil, createdAt: webhookEndpoints.createdAt,
};
const endpointInScope = and(eq(webhookEndpoints.accountId, p("accountId")), eq(webhookEndpoints.testmode, p("testmode")));
const isEndpoint = and(endpointInScope, eq(webhookEndpoints.id, p("id")));
const endpointExists = sql`EXISTS (SELECT 1 FROM ${webhookEndpoints} WHERE ${webhookEndpoints.id} = ${p("id")})`;

const eventSelect = () => build.select({ body: webhookEvents.body, id: webhookEvents.id }).from(webhookEvents);
const eventInScope = and(eq(webhookEvents.accountId, p("accountId")), eq(webhookEvents.testmode, p("testmode")));
const eventNameIs = eq(webhookEvents.eventName, p("eventName"));
const eventPages = pageQueries(webhookEvents.id, (cursor, order, filter) =>
  eventSelect().where(and(eventInScope, cursor, filter === "byName" ? eventNameIs : undefined)).orderBy(order).limit(p("limit")).toSQL(), ["byName"]);

const queries = {
  findEndpoint: build.select(endpointColumns).from(webhookEndpoints).where(isEndpoint).toSQL(),
  listEndpoints: build.select(endpointColumns).from(webhookEndpoints).where(endpointInScope).toSQL(),
  insertEndpoint: build.insert(webhookEndpoints).values({
    id: p("id"), accountId: p("accountId"), testmode: p("testmode"), url: p("url"), secret: p("secret"), createdAt: p("createdAt"),
  }).toSQL(),
  updateEndpoint: build.update(webhookEndpoints).set({
    url: sql`${p("url")}`, secret: sql`${p("secret")}`, previousSecret: sql`${p("previousSecret")}`, previousSecretUntil: sql`${p("previousSecretUntil")}`,
  }).where(isEndpoint).toSQL(),
  deleteEndpoint: build.delete(webhookEndpoints).where(isEndpoint).toSQL(),
  // webhook.setup, only if the endpoint still exists once its write has run.
  insertSetupEvent: build.insert(webhookEvents).select(
    build.select(eventColumns(sql<string>`${p("body")}`)).from(sql`(SELECT 1)`).where(endpointExists),
  ).toSQL(),
  findEvent: eventSelect().where(and(eventInScope, eq(webhookEvents.id, p("id")))).toSQL(),
  eventCursorExists: build.select({ id: webhookEvents.id }).from(webhookEvents).where(and(eventInScope, eq(webhookEvents.id, p("cursor")))).toSQL(),
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

export interface EndpointRow {
  id: string;
  testmode: number;
  url: string;
  secret: string;
  previousSecret: string | null;
  previousSecretUntil: number | null;
  createdAt: string;
}

type StoredEndpoint = {
  id: string; testmode: number; url: string; secret: string; previous_secret: string | null; previous_secret_until: number | null; created_at: string;
};
const toEndpointRow = (r: StoredEndpoint): EndpointRow => ({
  id: r.id, testmode: r.testmode, url: r.url, secret: r.secret, previousSecret: r.previous_secret, previousSecretUntil: r.previous_secret_until, createdAt: r.created_at,
});

export async function findEndpoint(db: Database, caller: Caller, id: string): Promise<EndpointRow | undefined> {
  const row = await bind(db, queries.findEndpoint, { ...scope(caller), id }).first<StoredEndpoint>();
  return row ? toEndpointRow(row) : undefined;
}

export const listEndpoints = async (db: Database, caller: Caller) =>
  (await bind(db, queries.listEndpoints, scope(caller)).all<StoredEndpoint>()).results.map(toEndpointRow);

/** What an endpoint write stores besides the endpoint: its idempotent answer and its webhook.setup event. */
interface EndpointWriteExtras {
  idempotency?: IdempotentWrite;
  answer: { status: number; body: string; headers: Record<string, string> };
  setupEvent?: { eventId: string; body: string; now: number };
}

function extras(db: Database, caller: Caller, id: string, x: EndpointWriteExtras) {
  const record = x.idempotency && [recordAnswerIfChanged(db, caller, x.idempotency, id, x.answer)];
  const event = x.setupEvent && [
    bind(db, queries.insertSetupEvent, {
      ...scope(caller), id, eventId: x.setupEvent.eventId, eventName: "webhook.setup", entityId: id, body: x.setupEvent.body, now: x.setupEvent.now,
    }),
  ];
  return { clear: clearExpiredKey(db, caller, x.idempotency), record: record ?? [], event: event ?? [] };
}

/** Endpoint, idempotency record and webhook.setup event in one batch. A second endpoint of the scope fails on the unique index. */
export async function insertEndpoint(db: Database, caller: Caller, row: { id: string; url: string; secret: string; createdAt: string }, x: EndpointWriteExtras) {
  const { clear, record, event } = extras(db, caller, row.id, x);
  await db.batch([...clear, bind(db, queries.insertEndpoint, { ...scope(caller), ...row }), ...record, ...event]);
}

/** Writes the endpoint's new state; false if it no longer exists (then nothing else was written either). */
export async function updateEndpoint(db: Database, caller: Caller, row: EndpointRow, x: EndpointWriteExtras): Promise<boolean> {
  const { clear, record, event } = extras(db, caller, row.id, x);
  const results = await db.batch([...clear, bind(db, queries.updateEndpoint, { ...scope(caller), ...row }), ...record, ...event]);
  return results[clear.length]!.meta.changes === 1;
}

export async function deleteEndpoint(db: Database, caller: Caller, id: string, x: EndpointWriteExtras): Promise<boolean> {
  const { clear, record } = extras(db, caller, id, x);
  const results = await db.batch([...clear, bind(db, queries.deleteEndpoint, { ...scope(caller), id }), ...record]);
  return results[clear.length]!.meta.changes === 1;
}

export const findEvent = async (db: Database, caller: Caller, id: string) =>
  (await bind(db, queries.findEvent, { ...scope(caller), id }).first<{ body: string }>())?.body;

/** A page of events (their JSON bodies), newest first, as listCustomers pages customers. One round trip. */
export function listEvents(db: Database, caller: Caller, q: PageQuery & { eventName?: string }) {
  const filter = q.eventName === undefined ? "all" : "byName";
  return fetchPage<{ body: string; id: string }, typeof filter>(db, eventPages, queries.eventCursorExists, filter, { ...scope(caller), eventName: q.eventName }, q);
}

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
