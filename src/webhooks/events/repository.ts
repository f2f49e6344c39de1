// Every query on webhook events as a resource: the statements a write adds to its batch (a customer write's event,
// an endpoint's webhook.setup), and the reads of the routes. Delivery's queries are in ../delivery.repository.ts.
import { and, desc, eq, exists, gte, inArray, lt, sql, type SQL } from "drizzle-orm";
import { bind, build, changedRow, fetchPage, p, pageQueries, scope, type Database } from "../../db/query";
import { customerTombstones, webhookAttempts, webhookEndpoints, webhookEvents } from "../../db/schema";
import type { Caller, IdempotentWrite } from "../../env";
import { keyStatements, keyUnused, keyValues, recordAnswerIfChanged, recordRenderedAnswer, recordValues, splitKeyResults } from "../../pipeline/idempotency.repository";
import { idAt } from "../../lib/ids";
import type { PageQuery } from "../../lib/pagination";

/** 'pending' when the account and mode have an endpoint to deliver to, else 'none'; decided in the event's own insert. */
const deliveryState = sql<string>`CASE WHEN EXISTS (SELECT 1 FROM ${webhookEndpoints}
  WHERE ${webhookEndpoints.accountId} = ${p("accountId")} AND ${webhookEndpoints.testmode} = ${p("testmode")}) THEN 'pending' ELSE 'none' END`;
/** That endpoint: the event is bound to it, and goes to it or nowhere (never to one created later). */
const boundEndpoint = sql<string | null>`(SELECT ${webhookEndpoints.id} FROM ${webhookEndpoints}
  WHERE ${webhookEndpoints.accountId} = ${p("accountId")} AND ${webhookEndpoints.testmode} = ${p("testmode")})`;

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
  endpointId: boundEndpoint.as("endpoint_id"),
});

/** An event whose body the Worker rendered, inserted with the change it records. */
export const insertEventQuery = build.insert(webhookEvents).values({
  id: p("eventId"), accountId: p("accountId"), testmode: p("testmode"), eventName: p("eventName"), entityId: p("entityId"),
  body: p("body"), createdAt: p("now"), delivery: deliveryState, attempts: 0, nextAttemptAt: p("now"), endpointId: boundEndpoint,
}).toSQL();

/** Whether an event committed and should be delivered: the last statement of a write batch. */
export const eventDeliveryQuery = build.select({ delivery: webhookEvents.delivery }).from(webhookEvents).where(eq(webhookEvents.id, p("eventId"))).toSQL();

const eventSelect = () => build.select({ body: webhookEvents.body, id: webhookEvents.id }).from(webhookEvents);
const eventInScope = and(eq(webhookEvents.accountId, p("accountId")), eq(webhookEvents.testmode, p("testmode")));
/** Created at `from` or later and before `before` (epoch ms, as the lowest ids of those times: idAt). */
const createdWithin = and(gte(webhookEvents.id, p("fromId")), lt(webhookEvents.id, p("beforeId")));
/**
 * The list's filters, one letter each, combined in any order of n, d or f, e: n the eventName, d a delivery state,
 * f the failed ones (a literal, so the partial index webhook_events_failed serves it), e the entityId.
 */
const FILTERS: Record<string, SQL> = {
  n: eq(webhookEvents.eventName, p("eventName")), d: eq(webhookEvents.delivery, p("delivery")), f: sql`${webhookEvents.delivery} = 'failed'`,
  e: eq(webhookEvents.entityId, p("entityId")),
};
const FILTER_KEYS = ["", "n", "d", "f", "e", "nd", "nf", "ne", "de", "fe", "nde", "nfe"];
const eventPages = pageQueries(webhookEvents.id, (cursor, order, filter) =>
  eventSelect().where(and(eventInScope, cursor, createdWithin, ...[...(filter ?? "")].map((f) => FILTERS[f]))).orderBy(order).limit(p("limit")).toSQL(), FILTER_KEYS.slice(1));

const queries = {
  findEvent: eventSelect().where(and(eventInScope, eq(webhookEvents.id, p("id")))).toSQL(),
  eventCursorExists: build.select({ id: webhookEvents.id }).from(webhookEvents).where(and(eventInScope, eq(webhookEvents.id, p("cursor")))).toSQL(),
};

export const findEvent = async (db: Database, caller: Caller, id: string) =>
  (await bind(db, queries.findEvent, { ...scope(caller), id }).first<{ body: string }>())?.body;

export interface EventFilters {
  eventName?: string;
  delivery?: "pending" | "delivered" | "failed" | "none";
  entityId?: string;
  /** Epoch ms: created at or after. */
  createdFrom?: number;
  /** Epoch ms: created before. */
  createdBefore?: number;
}

/** A page of events (their JSON bodies), newest first, as listCustomers pages customers. One round trip. */
export function listEvents(db: Database, caller: Caller, q: PageQuery & EventFilters) {
  const key = `${q.eventName === undefined ? "" : "n"}${q.delivery === undefined ? "" : q.delivery === "failed" ? "f" : "d"}${q.entityId === undefined ? "" : "e"}`;
  const values = {
    ...scope(caller), eventName: q.eventName, delivery: q.delivery, entityId: q.entityId,
    fromId: idAt("webhook_event_", q.createdFrom ?? 0), beforeId: q.createdBefore === undefined ? "webhook_event_~" : idAt("webhook_event_", q.createdBefore),
  };
  return fetchPage<{ body: string; id: string }, string>(db, eventPages, queries.eventCursorExists, key || "all", values, q);
}

// Delivery history and resend (the developer's desk): an event's attempts, its delivery state, and a new attempt now.
const eventOfCaller = and(eventInScope, eq(webhookEvents.id, p("id")));
// An event of an erased customer, other than customer.deleted: the one that carries no data and tells the receiver to
// erase its own copy stays resendable.
const sendsErasedData = sql`(${webhookEvents.eventName} <> 'customer.deleted'
  AND EXISTS (SELECT 1 FROM ${customerTombstones} WHERE ${customerTombstones.id} = ${webhookEvents.entityId}))`;
const deskQueries = {
  // The event, its customer, whether its endpoint still exists, and whether sending it would send erased data; then
  // its attempts, newest first.
  eventState: build.select({
    body: webhookEvents.body, delivery: webhookEvents.delivery, nextAttemptAt: webhookEvents.nextAttemptAt, endpointId: webhookEvents.endpointId,
    entityId: webhookEvents.entityId,
    endpointExists: sql<number>`EXISTS (SELECT 1 FROM ${webhookEndpoints} WHERE ${webhookEndpoints.id} = ${webhookEvents.endpointId})`.as("endpoint_exists"),
    erased: sql<number>`${sendsErasedData}`.as("erased"),
  }).from(webhookEvents).where(eventOfCaller).toSQL(),
  attempts: build.select({
    attempt: webhookAttempts.attempt, at: webhookAttempts.at, url: webhookAttempts.url, status: webhookAttempts.status,
    error: webhookAttempts.error, durationMs: webhookAttempts.durationMs,
  }).from(webhookAttempts).where(and(eq(webhookAttempts.eventId, p("id")),
    sql`EXISTS (SELECT 1 FROM ${webhookEvents} WHERE ${eventOfCaller})`)).orderBy(desc(webhookAttempts.attempt)).toSQL(),
  // Due now, pending again (a failed one too), unless its endpoint is gone or it would send erased data, and only if
  // the key is unused: the same checks the answer was decided on, in the write itself.
  resend: build.update(webhookEvents).set({ delivery: "pending", nextAttemptAt: sql`${p("now")}` }).where(and(eventOfCaller, keyUnused,
    sql`EXISTS (SELECT 1 FROM ${webhookEndpoints} WHERE ${webhookEndpoints.id} = ${webhookEvents.endpointId})`,
    sql`NOT ${sendsErasedData}`)).toSQL(),
};

export interface EventState {
  body: string; delivery: string; nextAttemptAt: number; endpointId: string | null; entityId: string; endpointExists: boolean; erased: boolean;
}
export interface AttemptRow { attempt: number; at: number; url: string; status: number | null; error: string | null; durationMs: number }

type StoredState = { body: string; delivery: string; next_attempt_at: number; endpoint_id: string | null; entity_id: string; endpoint_exists: number; erased: number };
const toState = (row: StoredState | undefined): EventState | undefined =>
  row && {
    body: row.body, delivery: row.delivery, nextAttemptAt: row.next_attempt_at, endpointId: row.endpoint_id, entityId: row.entity_id,
    endpointExists: row.endpoint_exists === 1, erased: row.erased === 1,
  };

/** The event's state and its attempts, newest first, in one round trip (nothing if the event is not the caller's). */
export async function eventAttempts(db: Database, caller: Caller, id: string): Promise<{ event?: EventState; attempts: AttemptRow[] }> {
  const values = { ...scope(caller), id };
  const [state, attempts] = await db.batch([bind(db, deskQueries.eventState, values), bind(db, deskQueries.attempts, values)]);
  return {
    event: toState(state!.results[0] as StoredState | undefined),
    attempts: (attempts!.results as (Omit<AttemptRow, "durationMs"> & { duration_ms: number })[]).map((a) => ({ ...a, durationMs: a.duration_ms })),
  };
}

/** The event's state alone (what a resend answers with, and why it may be refused). */
export const eventState = async (db: Database, caller: Caller, id: string) =>
  toState((await bind(db, deskQueries.eventState, { ...scope(caller), id }).first<StoredState>()) ?? undefined);

/**
 * Makes the event due now, with the key's check and its answer (the event, 202) in the same batch. The answer holds
 * the event's customer: the record is kept under that customer's id, so its erasure forgets it.
 */
export async function resendEvent(db: Database, caller: Caller, id: string, event: Pick<EventState, "body" | "entityId">, idempotency: IdempotentWrite | undefined, now: number) {
  const values = { ...scope(caller), ...keyValues(idempotency), id, now };
  const results = await db.batch([
    ...keyStatements(db, caller, idempotency),
    bind(db, deskQueries.resend, values),
    ...(idempotency ? [recordAnswerIfChanged(db, caller, idempotency, event.entityId, { status: 202, body: event.body, headers: {} })] : []),
  ]);
  const { stored, rest } = splitKeyResults(results, idempotency);
  return { stored, resent: changedRow(rest[0]!) };
}

// Recover: every failed event since a time (optionally of one endpoint) made due again, at most RECOVER_MAX a call,
// oldest first. Only events whose endpoint still exists and that would send no erased data, as for a resend.
export const RECOVER_MAX = 1000;
const recoverable = and(eventInScope, sql`${webhookEvents.delivery} = 'failed'`, gte(webhookEvents.id, p("fromId")),
  sql`(${p("endpointId")} IS NULL OR ${webhookEvents.endpointId} = ${p("endpointId")})`,
  sql`EXISTS (SELECT 1 FROM ${webhookEndpoints} WHERE ${webhookEndpoints.id} = ${webhookEvents.endpointId})`, sql`NOT ${sendsErasedData}`);
const recoverableIds = (limit: number) => build.select({ id: webhookEvents.id }).from(webhookEvents).where(recoverable).orderBy(webhookEvents.id).limit(limit);
/** The answer, rendered in SQL right after the change (`changes()` is the number it made due); hasMore: failed ones remain. */
const recoveryJson = sql<string>`json_object('resource', 'webhook_event_recovery', 'since', ${p("since")}, 'endpointId', ${p("endpointId")},
  'dryRun', json('false'), 'count', changes(), 'hasMore', json(iif(${exists(recoverableIds(1))}, 'true', 'false')))`;
const recoverQueries = {
  preview: build.select({ n: sql<number>`count(*)`.as("n") }).from(recoverableIds(RECOVER_MAX + 1).as("r")).toSQL(),
  recover: build.update(webhookEvents).set({ delivery: "pending", nextAttemptAt: sql`${p("now")}` })
    .where(and(inArray(webhookEvents.id, recoverableIds(RECOVER_MAX)), keyUnused)).returning({ id: webhookEvents.id }).toSQL(),
  answer: build.select({ body: sql<string>`${recoveryJson}`.as("body") }).from(sql`(SELECT 1)`).toSQL(),
  record: recordRenderedAnswer(recoveryJson),
};

export interface Recovery { since: string; fromMs: number; endpointId: string | null }
const recoveryValues = (caller: Caller, r: Recovery) => ({ ...scope(caller), fromId: idAt("webhook_event_", r.fromMs), endpointId: r.endpointId, since: r.since });

/** How many failed events a recover would make due now (at most RECOVER_MAX + 1: more than one call's worth). */
export const previewRecovery = async (db: Database, caller: Caller, r: Recovery) =>
  (await bind(db, recoverQueries.preview, recoveryValues(caller, r)).first<{ n: number }>())!.n;

/** Makes them due, with the key's check and record in the same batch: the stored answer, or this one and the ids. */
export async function recoverEvents(db: Database, caller: Caller, r: Recovery, idempotency: IdempotentWrite | undefined, now: number) {
  const values = { ...recoveryValues(caller, r), ...keyValues(idempotency), now };
  const results = await db.batch([
    ...keyStatements(db, caller, idempotency),
    bind(db, recoverQueries.recover, values),
    bind(db, recoverQueries.answer, values),
    ...(idempotency ? [bind(db, recoverQueries.record, { ...values, ...recordValues(caller, idempotency, null, 200) })] : []),
  ]);
  const { stored, rest } = splitKeyResults(results, idempotency);
  return { stored, ids: (rest[0]!.results as { id: string }[]).map((e) => e.id), body: (rest[1]!.results[0] as { body: string }).body };
}
