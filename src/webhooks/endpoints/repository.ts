// Every query on webhook endpoints, with the statements each endpoint write adds to its batch (its idempotent answer,
// its webhook.setup event).
import { and, eq, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { bind, build, changedRow, p, scope, type Database } from "../../db/query";
import { idempotencyKeys, webhookEndpoints, webhookEvents } from "../../db/schema";
import type { Caller, IdempotentWrite } from "../../env";
import { keyStatements, keyUnused, keyValues, recordAnswerIfChanged, splitKeyResults } from "../../pipeline/idempotency.repository";
import { eventColumns, eventJson } from "../events/repository";

export const endpointColumns = {
  id: webhookEndpoints.id, testmode: webhookEndpoints.testmode, url: webhookEndpoints.url, secret: webhookEndpoints.secret,
  previousSecret: webhookEndpoints.previousSecret, previousSecretUntil: webhookEndpoints.previousSecretUntil, createdAt: webhookEndpoints.createdAt,
};
export const endpointInScope = and(eq(webhookEndpoints.accountId, p("accountId")), eq(webhookEndpoints.testmode, p("testmode")));
const isEndpoint = and(endpointInScope, eq(webhookEndpoints.id, p("id")));
const endpointExists = sql`EXISTS (SELECT 1 FROM ${webhookEndpoints} WHERE ${webhookEndpoints.id} = ${p("id")})`;

/**
 * The WebhookEndpoint object as SQL renders it, with `url` as given (the column, or the new value): the answer of an
 * update exists only in the database, so its stored answer and its webhook.setup event are rendered there, in the same
 * batch. Keys in the order of toEndpoint(); the tests compare the two.
 */
const endpointJson = (url: SQL | SQLiteColumn) => sql<string>`json_object('id', ${webhookEndpoints.id}, 'resource', 'webhook_endpoint',
  'testmode', json(iif(${webhookEndpoints.testmode}, 'true', 'false')), 'url', ${url}, 'createdAt', ${webhookEndpoints.createdAt},
  'links', json_object('self', json_object('href', ${p("base")} || '/v1/webhook-endpoints/' || ${webhookEndpoints.id}, 'type', 'application/json')))`;

const queries = {
  findEndpoint: build.select(endpointColumns).from(webhookEndpoints).where(isEndpoint).toSQL(),
  listEndpoints: build.select(endpointColumns).from(webhookEndpoints).where(endpointInScope).toSQL(),
  // Inserted unless the request's key was used before (then the batch only reads the stored answer).
  insertEndpoint: build.insert(webhookEndpoints).select(
    build.select({
      id: sql<string>`${p("id")}`.as("id"), accountId: sql<string>`${p("accountId")}`.as("account_id"), testmode: sql<number>`${p("testmode")}`.as("testmode"),
      url: sql<string>`${p("url")}`.as("url"), secret: sql<string>`${p("secret")}`.as("secret"),
      previousSecret: sql<string | null>`NULL`.as("previous_secret"), previousSecretUntil: sql<number | null>`NULL`.as("previous_secret_until"),
      createdAt: sql<string>`${p("createdAt")}`.as("created_at"),
    }).from(sql`(SELECT 1)`).where(keyUnused),
  ).toSQL(),
  // One statement, each column from its own old value: concurrent changes of different fields all survive, and a
  // rotation always keeps the secret it replaced as the previous one.
  updateEndpoint: build.update(webhookEndpoints).set({
    url: sql`iif(${p("setUrl")}, ${p("url")}, ${webhookEndpoints.url})`,
    secret: sql`iif(${p("setSecret")}, ${p("secret")}, ${webhookEndpoints.secret})`,
    previousSecret: sql`iif(${p("setSecret")}, ${webhookEndpoints.secret}, ${webhookEndpoints.previousSecret})`,
    previousSecretUntil: sql`iif(${p("setSecret")}, ${p("previousSecretUntil")}, ${webhookEndpoints.previousSecretUntil})`,
  }).where(and(isEndpoint, keyUnused)).returning(endpointColumns).toSQL(),
  // Before the update: webhook.setup when the url changes, its object the endpoint with the new url.
  insertUrlChangedEvent: build.insert(webhookEvents).select(
    build.select(eventColumns(eventJson(endpointJson(sql`${p("url")}`)))).from(webhookEndpoints)
      .where(and(isEndpoint, sql`${p("setUrl")}`, sql`${webhookEndpoints.url} <> ${p("url")}`, keyUnused)),
  ).toSQL(),
  // After the update, if it applied: the endpoint as it now is, as the key's stored answer.
  recordUpdated: build.insert(idempotencyKeys).select(
    build.select({
      accountId: webhookEndpoints.accountId,
      testmode: webhookEndpoints.testmode,
      key: sql<string>`${p("key")}`.as("key"),
      fingerprint: sql<string>`${p("fingerprint")}`.as("fingerprint"),
      status: sql<number>`200`.as("status"),
      body: endpointJson(webhookEndpoints.url).as("body"),
      headers: sql<string>`'{}'`.as("headers"),
      resourceId: webhookEndpoints.id,
      createdAt: sql<number>`${p("createdAt")}`.as("created_at"),
    }).from(webhookEndpoints).where(and(isEndpoint, sql`changes() = 1`)),
  ).toSQL(),
  deleteEndpoint: build.delete(webhookEndpoints).where(and(isEndpoint, keyUnused)).toSQL(),
  // A new endpoint's webhook.setup: written exactly when the endpoint was (the key unused, the endpoint there).
  insertSetupEvent: build.insert(webhookEvents).select(
    build.select(eventColumns(sql<string>`${p("body")}`)).from(sql`(SELECT 1)`).where(and(endpointExists, keyUnused)),
  ).toSQL(),
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

export type StoredEndpoint = {
  id: string; testmode: number; url: string; secret: string; previous_secret: string | null; previous_secret_until: number | null; created_at: string;
};
export const toEndpointRow = (r: StoredEndpoint): EndpointRow => ({
  id: r.id, testmode: r.testmode, url: r.url, secret: r.secret, previousSecret: r.previous_secret, previousSecretUntil: r.previous_secret_until, createdAt: r.created_at,
});

export async function findEndpoint(db: Database, caller: Caller, id: string): Promise<EndpointRow | undefined> {
  const row = await bind(db, queries.findEndpoint, { ...scope(caller), id }).first<StoredEndpoint>();
  return row ? toEndpointRow(row) : undefined;
}

/** The endpoint as it is, and (if keyed) its key's stored answer, in one round trip: a PATCH that changes nothing. */
export async function findEndpointKeyed(db: Database, caller: Caller, id: string, write: IdempotentWrite | undefined) {
  const results = await db.batch([...keyStatements(db, caller, write), bind(db, queries.findEndpoint, { ...scope(caller), id })]);
  const { stored, rest } = splitKeyResults(results, write);
  const row = rest[0]!.results[0] as StoredEndpoint | undefined;
  return { stored, row: row && toEndpointRow(row) };
}

export const listEndpoints = async (db: Database, caller: Caller) =>
  (await bind(db, queries.listEndpoints, scope(caller)).all<StoredEndpoint>()).results.map(toEndpointRow);

/** What an endpoint write stores besides the endpoint: its idempotent answer and its webhook.setup event. */
interface EndpointWriteExtras {
  idempotency?: IdempotentWrite;
  answer: { status: number; body: string; headers: Record<string, string> };
  setupEvent?: { eventId: string; body: string; now: number };
}

/**
 * Endpoint, webhook.setup event and idempotency record in one batch, which first reads the key's record and writes
 * nothing if it exists. A second endpoint of the scope fails on the unique index. One round trip.
 */
export async function insertEndpoint(db: Database, caller: Caller, row: { id: string; url: string; secret: string; createdAt: string }, x: EndpointWriteExtras) {
  const values = { ...scope(caller), ...row, ...keyValues(x.idempotency) };
  const results = await db.batch([
    ...keyStatements(db, caller, x.idempotency),
    bind(db, queries.insertEndpoint, values),
    bind(db, queries.insertSetupEvent, { ...values, eventId: x.setupEvent!.eventId, eventName: "webhook.setup", entityId: row.id, body: x.setupEvent!.body, now: x.setupEvent!.now }),
    // Right after the setup event, which was written exactly when the endpoint was.
    ...(x.idempotency ? [recordAnswerIfChanged(db, caller, x.idempotency, row.id, x.answer)] : []),
  ]);
  return splitKeyResults(results, x.idempotency).stored;
}

/** What a PATCH changes: a new url, a new secret (already encrypted; the current one becomes the previous one). */
export interface EndpointChanges {
  url?: string;
  secret?: string;
  previousSecretUntil: number;
}

/**
 * Applies the changes in one UPDATE, with its webhook.setup event (when the url changes), the key's check and its
 * idempotency record, in one batch. The key's stored answer, or the endpoint as it now is and whether a webhook.setup
 * was written (no row: it does not exist).
 */
export async function updateEndpoint(
  db: Database, caller: Caller, id: string, changes: EndpointChanges, x: { idempotency?: IdempotentWrite; base: string; setupEvent: { eventId: string; eventCreatedAt: string; now: number } },
) {
  const values = {
    ...scope(caller), ...keyValues(x.idempotency), id, base: x.base,
    setUrl: changes.url === undefined ? 0 : 1, url: changes.url ?? null,
    setSecret: changes.secret === undefined ? 0 : 1, secret: changes.secret ?? null, previousSecretUntil: changes.previousSecretUntil,
    ...x.setupEvent, eventName: "webhook.setup", entityType: "webhook", entityId: id,
  };
  const results = await db.batch([
    ...keyStatements(db, caller, x.idempotency),
    bind(db, queries.insertUrlChangedEvent, values),
    bind(db, queries.updateEndpoint, values),
    ...(x.idempotency ? [bind(db, queries.recordUpdated, { ...values, ...x.idempotency })] : []),
  ]);
  const { stored, rest } = splitKeyResults(results, x.idempotency);
  const row = rest[1]!.results[0] as StoredEndpoint | undefined;
  return { stored, row: row && toEndpointRow(row), setupEvent: changedRow(rest[0]!) };
}

/** Deletes the endpoint (with the key's check and record, one round trip): the stored answer, or whether it existed. */
export async function deleteEndpoint(db: Database, caller: Caller, id: string, x: EndpointWriteExtras) {
  const values = { ...scope(caller), ...keyValues(x.idempotency), id };
  const results = await db.batch([
    ...keyStatements(db, caller, x.idempotency),
    bind(db, queries.deleteEndpoint, values),
    ...(x.idempotency ? [recordAnswerIfChanged(db, caller, x.idempotency, id, x.answer)] : []),
  ]);
  const { stored, rest } = splitKeyResults(results, x.idempotency);
  return { stored, deleted: changedRow(rest[0]!) };
}

/** A webhook.setup event for an existing endpoint (a test event), with the key's check and record: the stored answer, or whether it was written. */
export async function insertTestEvent(db: Database, caller: Caller, endpointId: string, event: { eventId: string; body: string; now: number }, idempotency: IdempotentWrite | undefined) {
  const values = { ...scope(caller), ...keyValues(idempotency), id: endpointId, eventId: event.eventId, eventName: "webhook.setup", entityId: endpointId, body: event.body, now: event.now };
  const results = await db.batch([
    ...keyStatements(db, caller, idempotency),
    bind(db, queries.insertSetupEvent, values),
    ...(idempotency ? [recordAnswerIfChanged(db, caller, idempotency, endpointId, { status: 202, body: event.body, headers: {} })] : []),
  ]);
  const { stored, rest } = splitKeyResults(results, idempotency);
  return { stored, written: changedRow(rest[0]!) };
}
