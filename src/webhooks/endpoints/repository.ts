// Every query on webhook endpoints, with the statements each endpoint write adds to its batch (its idempotent answer,
// its webhook.setup event).
import { and, eq, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { bind, build, p, scope, type Database } from "../../db/query";
import { idempotencyKeys, webhookEndpoints, webhookEvents } from "../../db/schema";
import type { Caller, IdempotentWrite } from "../../env";
import { clearExpiredKey, recordAnswerIfChanged } from "../../pipeline/idempotency.repository";
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
  insertEndpoint: build.insert(webhookEndpoints).values({
    id: p("id"), accountId: p("accountId"), testmode: p("testmode"), url: p("url"), secret: p("secret"), createdAt: p("createdAt"),
  }).toSQL(),
  // One statement, each column from its own old value: concurrent changes of different fields all survive, and a
  // rotation always keeps the secret it replaced as the previous one.
  updateEndpoint: build.update(webhookEndpoints).set({
    url: sql`iif(${p("setUrl")}, ${p("url")}, ${webhookEndpoints.url})`,
    secret: sql`iif(${p("setSecret")}, ${p("secret")}, ${webhookEndpoints.secret})`,
    previousSecret: sql`iif(${p("setSecret")}, ${webhookEndpoints.secret}, ${webhookEndpoints.previousSecret})`,
    previousSecretUntil: sql`iif(${p("setSecret")}, ${p("previousSecretUntil")}, ${webhookEndpoints.previousSecretUntil})`,
  }).where(isEndpoint).returning(endpointColumns).toSQL(),
  // Before the update: webhook.setup when the url changes, its object the endpoint with the new url.
  insertUrlChangedEvent: build.insert(webhookEvents).select(
    build.select(eventColumns(eventJson(endpointJson(sql`${p("url")}`)))).from(webhookEndpoints)
      .where(and(isEndpoint, sql`${p("setUrl")}`, sql`${webhookEndpoints.url} <> ${p("url")}`)),
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
  deleteEndpoint: build.delete(webhookEndpoints).where(isEndpoint).toSQL(),
  // webhook.setup, only if the endpoint still exists once its write has run.
  insertSetupEvent: build.insert(webhookEvents).select(
    build.select(eventColumns(sql<string>`${p("body")}`)).from(sql`(SELECT 1)`).where(endpointExists),
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

/** What a PATCH changes: a new url, a new secret (already encrypted; the current one becomes the previous one). */
export interface EndpointChanges {
  url?: string;
  secret?: string;
  previousSecretUntil: number;
}

/**
 * Applies the changes in one UPDATE, with its webhook.setup event (when the url changes) and its idempotency record,
 * in one batch. The endpoint as it now is, and whether a webhook.setup was written; undefined if it does not exist.
 */
export async function updateEndpoint(
  db: Database, caller: Caller, id: string, changes: EndpointChanges, x: Omit<EndpointWriteExtras, "answer" | "setupEvent"> & { base: string; setupEvent: { eventId: string; eventCreatedAt: string; now: number } },
) {
  const values = {
    ...scope(caller), id, base: x.base,
    setUrl: changes.url === undefined ? 0 : 1, url: changes.url ?? null,
    setSecret: changes.secret === undefined ? 0 : 1, secret: changes.secret ?? null, previousSecretUntil: changes.previousSecretUntil,
    ...x.setupEvent, eventName: "webhook.setup", entityType: "webhook", entityId: id,
  };
  const clear = clearExpiredKey(db, caller, x.idempotency);
  const results = await db.batch([
    ...clear,
    bind(db, queries.insertUrlChangedEvent, values),
    bind(db, queries.updateEndpoint, values),
    ...(x.idempotency ? [bind(db, queries.recordUpdated, { ...values, ...x.idempotency })] : []),
  ]);
  const row = results[clear.length + 1]!.results[0] as StoredEndpoint | undefined;
  return row && { row: toEndpointRow(row), setupEvent: results[clear.length]!.meta.changes === 1 };
}

export async function deleteEndpoint(db: Database, caller: Caller, id: string, x: EndpointWriteExtras): Promise<boolean> {
  const { clear, record } = extras(db, caller, id, x);
  const results = await db.batch([...clear, bind(db, queries.deleteEndpoint, { ...scope(caller), id }), ...record]);
  return results[clear.length]!.meta.changes === 1;
}
