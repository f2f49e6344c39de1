// Every query on customers and their tombstones, and the idempotency answers that carry a customer.
// Built once per isolate with drizzle's query builder and bound per request (db/query.ts).
import { and, eq, inArray, sql, type SQL } from "drizzle-orm";
import { bind, build, changedRow, fetchPage, p, pageQueries, scope } from "../db/query";
import { customers, customerTombstones, idempotencyKeys, webhookAttempts, webhookEvents } from "../db/schema";
import type { Caller, IdempotentWrite } from "../env";
import { toHex } from "../lib/crypto";
import type { PageQuery } from "../lib/pagination";
import type { Database } from "../db/query";
import { keyStatements, keyUnused, keyValues, recordAnswerIfChanged, splitKeyResults, type StoredAnswer } from "../pipeline/idempotency.repository";
import type { NewEvent } from "../webhooks/events/event";
import { eventColumns, eventDeliveryQuery, eventJson } from "../webhooks/events/repository";
import type { CustomerRow } from "./customer";
import { MAX_METADATA_KEYS } from "./fields";

const columns = {
  id: customers.id,
  testmode: customers.testmode,
  email: customers.email,
  name: customers.name,
  metadata: customers.metadata,
  createdAt: customers.createdAt,
  etag: customers.etag,
};
const inScope = and(eq(customers.accountId, p("accountId")), eq(customers.testmode, p("testmode")));
const isCustomer = and(inScope, eq(customers.id, p("id")));
const select = () => build.select(columns).from(customers);
// Matches the unique index on lower(email), so the filter is a lookup. Emails are ASCII: lower() folds them exactly.
const emailIs = eq(sql`lower(${customers.email})`, sql`lower(${p("email")})`);
// If-Match, compared in the write itself: null accepts any version; otherwise a JSON array of acceptable ETags.
const etagMatches = sql`(${p("ifMatch")} IS NULL OR ${customers.etag} IN (SELECT value FROM json_each(${p("ifMatch")})))`;

/**
 * The Customer object as SQL renders it, for the answers stored with the write (idempotent replays): an update's
 * result only exists inside the database, so its stored answer is built there, in the same statement.
 * Keys in the order of toCustomer(); the tests compare the two.
 */
const customerJson = sql<string>`json_object(
  'id', ${customers.id}, 'resource', 'customer', 'testmode', json(iif(${customers.testmode}, 'true', 'false')),
  'email', ${customers.email}, 'name', ${customers.name}, 'createdAt', ${customers.createdAt}, 'metadata', json(${customers.metadata}),
  'links', json_object('self', json_object('href', ${p("base")} || '/v1/customers/' || ${customers.id}, 'type', 'application/json')))`;
const etagHeader = sql<string>`json_object('ETag', '"' || ${customers.etag} || '"')`;

/** The idempotency record of a write whose answer is the customer as it is now (a create or an update). */
const recordCustomerAnswer = (status: number, headers: SQL<string>, orWhen?: SQL) =>
  build.insert(idempotencyKeys).select(
    build.select({
      accountId: customers.accountId,
      testmode: customers.testmode,
      key: sql<string>`${p("key")}`.as("key"),
      fingerprint: sql<string>`${p("fingerprint")}`.as("fingerprint"),
      status: sql<number>`${status}`.as("status"),
      body: customerJson.as("body"),
      headers: headers.as("headers"),
      resourceId: customers.id,
      createdAt: sql<number>`${p("createdAt")}`.as("created_at"),
    })
      .from(customers)
      // The fresh ETag of this very write: the record exists exactly when the write applied (or, for an update that
      // changes nothing, when it was accepted as such).
      .where(and(isCustomer, orWhen ? sql`(${customers.etag} = ${p("etag")} OR ${orWhen})` : eq(customers.etag, p("etag")))),
  ).toSQL();

// The answer of a metadata merge, inside the UPDATE: keys named with a string are set, keys named with null removed.
const mergedMetadata = sql`CASE ${p("metadataMode")}
  WHEN 'keep' THEN ${customers.metadata}
  WHEN 'clear' THEN '{}'
  ELSE json_patch(${customers.metadata}, ${p("metadataPatch")}) END`;

// An update whose every value is the one the customer holds already: no write, no new ETag, no event (as Stripe
// sends none), answered with the customer as it is. Compared in SQL, in the write's own statements.
const unchanged = sql`(iif(${p("setEmail")}, ${p("email")}, ${customers.email}) IS ${customers.email}
  AND iif(${p("setName")}, ${p("name")}, ${customers.name}) IS ${customers.name}
  AND json(${mergedMetadata}) = json(${customers.metadata}))`;

const pages = pageQueries(customers.id, (cursor, order, filter) =>
  select().where(and(inScope, cursor, filter === "byEmail" ? emailIs : undefined)).orderBy(order).limit(p("limit")).toSQL(), ["byEmail"]);

// Erasure happens only if this very request deleted the customer (its tombstone, with this request's time, exists): a
// delete refused by If-Match or by its key erases nothing.
const deletedNow = sql`EXISTS (SELECT 1 FROM ${customerTombstones} WHERE ${customerTombstones.id} = ${p("id")} AND ${customerTombstones.deletedAt} = ${p("deletedAt")})`;

const queries = {
  findCustomer: select().where(isCustomer).toSQL(),
  // A deleted customer still counts as a cursor, so a client walking pages while others delete never gets a 422.
  cursorExists: build
    .select({ id: customers.id }).from(customers).where(and(inScope, eq(customers.id, p("cursor"))))
    .unionAll(
      build.select({ id: customerTombstones.id }).from(customerTombstones)
        .where(and(eq(customerTombstones.accountId, p("accountId")), eq(customerTombstones.testmode, p("testmode")), eq(customerTombstones.id, p("cursor")))),
    )
    .toSQL(),
  // Inserted unless the request's key was used before (then the batch only reads the stored answer).
  insertCustomer: build.insert(customers).select(
    build.select({
      id: sql<string>`${p("id")}`.as("id"), accountId: sql<string>`${p("accountId")}`.as("account_id"), testmode: sql<number>`${p("testmode")}`.as("testmode"),
      email: sql<string>`${p("email")}`.as("email"), name: sql<string | null>`${p("name")}`.as("name"), metadata: sql<string>`${p("metadata")}`.as("metadata"),
      createdAt: sql<string>`${p("createdAt")}`.as("created_at"), etag: sql<string>`${p("etag")}`.as("etag"),
    }).from(sql`(SELECT 1)`).where(keyUnused),
  ).toSQL(),
  // Its customer.created event, body rendered by the Worker, under the same condition.
  insertCreatedEvent: build.insert(webhookEvents).select(build.select(eventColumns(sql<string>`${p("body")}`)).from(sql`(SELECT 1)`).where(keyUnused)).toSQL(),
  recordCreated: recordCustomerAnswer(201, sql<string>`json_object('Location', ${p("base")} || '/v1/customers/' || ${customers.id}, 'ETag', '"' || ${customers.etag} || '"')`),
  recordUpdated: recordCustomerAnswer(200, etagHeader, and(unchanged, etagMatches, keyUnused)),
  updateCustomer: build.update(customers).set({
    email: sql`iif(${p("setEmail")}, ${p("email")}, ${customers.email})`,
    name: sql`iif(${p("setName")}, ${p("name")}, ${customers.name})`,
    metadata: mergedMetadata,
    etag: sql`${p("etag")}`,
  })
    // The 50-key limit holds for the merged result, checked in the same statement: concurrent merges cannot exceed it.
    .where(and(isCustomer, etagMatches, sql`NOT ${unchanged}`, sql`(SELECT count(*) FROM json_each(${mergedMetadata})) <= ${MAX_METADATA_KEYS}`, keyUnused))
    .returning(columns)
    .toSQL(),
  // Read in the write's batch, before the write: if it changes nothing, whether the customer existed and its ETag say why.
  diagnose: build.select({ etag: customers.etag }).from(customers).where(isCustomer).toSQL(),
  // An update's, which also says whether the customer holds every value already (then it is the answer).
  diagnoseUpdate: build.select({ ...columns, unchanged: sql<number>`${unchanged}`.as("unchanged") }).from(customers).where(isCustomer).toSQL(),
  // Erasure: the tombstone keeps id, account, mode and times; the row with email, name and metadata is deleted.
  insertTombstone: build.insert(customerTombstones).select(
    build.select({
      id: customers.id,
      accountId: customers.accountId,
      testmode: customers.testmode,
      createdAt: customers.createdAt,
      deletedAt: sql<number>`${p("deletedAt")}`.as("deleted_at"),
    }).from(customers).where(and(isCustomer, etagMatches, keyUnused)),
  ).toSQL(),
  deleteCustomer: build.delete(customers)
    .where(and(eq(customers.id, p("id")), inArray(customers.id, build.select({ id: customerTombstones.id }).from(customerTombstones).where(eq(customerTombstones.id, p("id"))))))
    .toSQL(),
  // Every stored answer that carried the customer is forgotten, with the fingerprint of the request that made it (the
  // email it held): nothing stored can confirm the erased data. Only the delete's own answer (a 204) stays.
  eraseStoredAnswers: build.delete(idempotencyKeys)
    .where(and(eq(idempotencyKeys.accountId, p("accountId")), eq(idempotencyKeys.testmode, p("testmode")), eq(idempotencyKeys.resourceId, p("id")), sql`${idempotencyKeys.status} <> 204`, deletedNow))
    .toSQL(),
  // Events of a write, in its batch: created (body from the Worker), updated (rendered here), deleted (after the tombstone).
  insertUpdatedEvent: build.insert(webhookEvents).select(
    build.select(eventColumns(eventJson(customerJson))).from(customers).where(and(isCustomer, eq(customers.etag, p("etag")))),
  ).toSQL(),
  // Only if this request's own tombstone insert (or its record, right after it) just changed a row: never for a
  // concurrent delete of the same customer.
  insertDeletedEvent: build.insert(webhookEvents).select(
    build.select(eventColumns(sql<string>`${p("body")}`)).from(sql`(SELECT 1)`).where(sql`changes() = 1`),
  ).toSQL(),
  // ...and their delivery history: nothing left links an attempt to the erased customer.
  eraseAttempts: build.delete(webhookAttempts).where(and(inArray(webhookAttempts.eventId, build.select({ id: webhookEvents.id }).from(webhookEvents)
    .where(and(eq(webhookEvents.accountId, p("accountId")), eq(webhookEvents.testmode, p("testmode")), eq(webhookEvents.entityId, p("id"))))), deletedNow))
    .toSQL(),
  // Erasure reaches stored events: none keeps the customer's object.
  eraseEventObjects: build.update(webhookEvents).set({ body: sql`json_set(${webhookEvents.body}, '$.object', json('null'))` })
    .where(and(eq(webhookEvents.accountId, p("accountId")), eq(webhookEvents.testmode, p("testmode")), eq(webhookEvents.entityId, p("id")), deletedNow))
    .toSQL(),
};

export type StoredCustomer = { id: string; testmode: number; email: string; name: string | null; metadata: string; created_at: string; etag: string };
export const toRow = (r: StoredCustomer): CustomerRow => ({
  id: r.id, testmode: r.testmode === 1, email: r.email, name: r.name, metadata: r.metadata, createdAt: r.created_at, etag: r.etag,
});

export async function findCustomer(db: Database, caller: Caller, id: string): Promise<CustomerRow | undefined> {
  const row = await bind(db, queries.findCustomer, { ...scope(caller), id }).first<StoredCustomer>();
  return row ? toRow(row) : undefined;
}


/**
 * One page, newest first, plus whether more rows lie beyond it in the direction of travel and whether the
 * cursor names a customer of the caller (or a deleted one). One D1 round trip: the cursor check and the page are one batch.
 */
export async function listCustomers(db: Database, caller: Caller, q: PageQuery & { email?: string }) {
  const filter = q.email === undefined ? "all" : "byEmail";
  const page = await fetchPage<StoredCustomer, typeof filter>(db, pages, queries.cursorExists, filter, { ...scope(caller), email: q.email }, q);
  return { ...page, rows: page.rows.map(toRow) };
}

/** What a write needs beyond the change itself: the link base for stored answers, the request's key, the event it records. */
interface WriteContext {
  base: string;
  idempotency?: IdempotentWrite;
  event: NewEvent;
}

/** Whether the write's event committed with an endpoint to deliver to (the batch's last statement says). */
const shouldDeliver = (results: D1Result[]) => (results.at(-1)!.results[0] as { delivery?: string } | undefined)?.delivery === "pending";

/** A write's outcome: the stored answer of its key (nothing was written), or what it did. */
export type WriteOutcome<T> =
  | { stored: StoredAnswer }
  | { ok: T; deliver: boolean }
  | { failed: "not_found" | "precondition_failed" | "too_many_keys" };

/**
 * The customer, its customer.created event and (if keyed) its idempotency record, in one batch: a D1 transaction,
 * all or nothing, that also reads the key's record and writes nothing if it exists. One round trip.
 */
export async function insertCustomer(db: Database, caller: Caller, row: CustomerRow, eventBody: string, ctx: WriteContext): Promise<WriteOutcome<true>> {
  const values = { ...row, ...scope(caller), ...ctx.event, ...keyValues(ctx.idempotency), base: ctx.base, body: eventBody };
  const record = ctx.idempotency;
  const results = await db.batch([
    ...keyStatements(db, caller, record),
    bind(db, queries.insertCustomer, values),
    bind(db, queries.insertCreatedEvent, values),
    ...(record ? [bind(db, queries.recordCreated, { ...values, ...record })] : []),
    bind(db, eventDeliveryQuery, values),
  ]);
  const { stored } = splitKeyResults(results, record);
  return stored ? { stored } : { ok: true, deliver: shouldDeliver(results) };
}

export interface CustomerChanges {
  email?: string;
  name?: string | null;
  /** A JSON Merge Patch of the metadata, or null to remove every key. */
  metadata?: Record<string, string | null> | null;
}

/**
 * Applies the changes atomically in one UPDATE (the metadata merge and its limit in SQL, the If-Match in the WHERE),
 * with the key's check, the customer as it was (to explain a refusal) and the idempotency record in the same batch.
 * One round trip, refusals included.
 */
export async function updateCustomer(
  db: Database, caller: Caller, id: string, changes: CustomerChanges, ifMatch: string[] | null, ctx: WriteContext,
): Promise<WriteOutcome<CustomerRow>> {
  const values = {
    ...scope(caller),
    ...ctx.event,
    ...keyValues(ctx.idempotency),
    id,
    base: ctx.base,
    etag: newEtag(),
    ifMatch: ifMatch && JSON.stringify(ifMatch),
    setEmail: changes.email !== undefined ? 1 : 0,
    email: changes.email ?? null,
    setName: changes.name !== undefined ? 1 : 0,
    name: changes.name ?? null,
    metadataMode: changes.metadata === undefined ? "keep" : changes.metadata === null ? "clear" : "merge",
    metadataPatch: changes.metadata ? JSON.stringify(changes.metadata) : null,
  };
  const record = ctx.idempotency;
  const results = await db.batch([
    ...keyStatements(db, caller, record),
    bind(db, queries.diagnoseUpdate, values),
    bind(db, queries.updateCustomer, values),
    ...(record ? [bind(db, queries.recordUpdated, { ...values, ...record })] : []),
    bind(db, queries.insertUpdatedEvent, values),
    bind(db, eventDeliveryQuery, values),
  ]);
  const { stored, rest } = splitKeyResults(results, record);
  if (stored) return { stored };
  const row = rest[1]!.results[0] as StoredCustomer | undefined;
  if (row) return { ok: toRow(row), deliver: shouldDeliver(results) };
  const before = rest[0]!.results[0] as (StoredCustomer & { unchanged: number }) | undefined;
  const failed = whyUnchanged(before, ifMatch, "too_many_keys");
  // Not refused, not written: it held every value already (the merged metadata too, so never too many keys).
  return failed === "too_many_keys" && before!.unchanged ? { ok: toRow(before!), deliver: false } : { failed };
}

function whyUnchanged(before: { etag: string } | undefined, ifMatch: string[] | null, otherwise: "too_many_keys" | "not_found") {
  if (!before) return "not_found";
  if (ifMatch !== null && !ifMatch.includes(before.etag)) return "precondition_failed";
  return otherwise;
}

/** The customer as it is, and (if keyed) its key's stored answer, in one round trip: a PATCH that changes nothing. */
export async function findCustomerKeyed(db: Database, caller: Caller, id: string, write: IdempotentWrite | undefined) {
  const results = await db.batch([...keyStatements(db, caller, write), bind(db, queries.findCustomer, { ...scope(caller), id })]);
  const { stored, rest } = splitKeyResults(results, write);
  const row = rest[0]!.results[0] as StoredCustomer | undefined;
  return { stored, row: row && toRow(row) };
}

/**
 * Erases the customer: a tombstone (id, account, mode, times) replaces the row, and every stored answer that held
 * it is forgotten, all in one batch with the key's check and the delete's own idempotency record. One round trip.
 */
export async function deleteCustomer(
  db: Database, caller: Caller, id: string, ifMatch: string[] | null, eventBody: string, ctx: WriteContext,
): Promise<WriteOutcome<true>> {
  const values = {
    ...scope(caller), ...ctx.event, ...keyValues(ctx.idempotency), id, body: eventBody, ifMatch: ifMatch && JSON.stringify(ifMatch), deletedAt: ctx.event.now,
  };
  const record = ctx.idempotency;
  // The record and the event follow the tombstone insert directly: they exist exactly when this request deleted.
  const results = await db.batch([
    ...keyStatements(db, caller, record),
    bind(db, queries.diagnose, values),
    bind(db, queries.insertTombstone, values),
    ...(record ? [recordAnswerIfChanged(db, caller, record, id, { status: 204, body: "", headers: {} })] : []),
    bind(db, queries.insertDeletedEvent, values),
    bind(db, queries.deleteCustomer, values),
    bind(db, queries.eraseStoredAnswers, values),
    bind(db, queries.eraseEventObjects, values),
    bind(db, queries.eraseAttempts, values),
    bind(db, eventDeliveryQuery, values),
  ]);
  const { stored, rest } = splitKeyResults(results, record);
  if (stored) return { stored };
  if (changedRow(rest[1]!)) return { ok: true, deliver: shouldDeliver(results) };
  // Not found, a failed If-Match, or a concurrent delete that got there first (then: not found).
  return { failed: whyUnchanged(rest[0]!.results[0] as { etag: string } | undefined, ifMatch, "not_found") };
}

/** A fresh strong ETag for a write. */
export const newEtag = () => toHex(crypto.getRandomValues(new Uint8Array(12)));
