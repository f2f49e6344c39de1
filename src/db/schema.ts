import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex, type SQLiteColumn } from "drizzle-orm/sqlite-core";

export const customers = sqliteTable(
  "customers",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    testmode: integer("testmode", { mode: "boolean" }).notNull(),
    email: text("email").notNull(),
    name: text("name"),
    metadata: text("metadata").notNull(), // JSON text, written and returned verbatim
    createdAt: text("created_at").notNull(),
    // A fresh random value on every write: the customer's strong ETag, and what If-Match compares in SQL.
    etag: text("etag").notNull().default(""),
  },
  (t) => [
    // The list walks this index by id within one (account, mode): no scan, whatever the table size.
    index("customers_scope_id").on(t.accountId, t.testmode, t.id),
    // Emails are ASCII-only, so SQLite's lower() is an exact case fold.
    uniqueIndex("customers_scope_email").on(t.accountId, t.testmode, sql`lower(${t.email})`),
    // Search (customers/search.repository.ts): createdAt ranges, and the account in rowid order (the entries end in it).
    index("customers_scope_rowid").on(t.accountId, t.testmode),
    index("customers_scope_created_at").on(t.accountId, t.testmode, t.createdAt),
  ],
);

// Search (migrations/0007_search_fts5.sql): the FTS5 table `customer_search`, one row per customer under the
// customer's rowid, written only by the customers table's triggers in the batch of every write and removed with the
// customer (drizzle has no virtual tables, so it lives in the migration alone). Each (account, mode) has a number on
// its shard, whose token scopes a search to it.
export const searchScopes = sqliteTable(
  "search_scopes",
  {
    n: integer("n").primaryKey(),
    accountId: text("account_id").notNull(),
    testmode: integer("testmode", { mode: "boolean" }).notNull(),
  },
  (t) => [uniqueIndex("search_scopes_account").on(t.accountId, t.testmode)],
);

// What remains of a deleted customer: no email, name or metadata (erasure), only what a list cursor and audit need.
export const customerTombstones = sqliteTable(
  "customer_tombstones",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    testmode: integer("testmode", { mode: "boolean" }).notNull(),
    createdAt: text("created_at").notNull(),
    deletedAt: integer("deleted_at").notNull(), // epoch ms
  },
  // An account's tombstones in key order: what a move copies page by page.
  (t) => [index("customer_tombstones_scope_id").on(t.accountId, t.testmode, t.id)],
);

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    accountId: text("account_id").notNull(),
    testmode: integer("testmode", { mode: "boolean" }).notNull(),
    key: text("key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    status: integer("status").notNull(),
    // The answer as sent; null once erased (the resource it carried was deleted).
    body: text("body"),
    headers: text("headers").notNull().default("{}"), // JSON: the headers a replay repeats (Location, ETag)
    // Whose data the stored answer holds: the customer's id for any answer holding a customer's data (a customer, an
    // event of one), which its erasure deletes by; otherwise the resource's own id.
    resourceId: text("resource_id"),
    createdAt: integer("created_at").notNull(), // epoch ms
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.testmode, t.key] }),
    index("idempotency_keys_created_at").on(t.createdAt),
    index("idempotency_keys_resource").on(t.accountId, t.testmode, t.resourceId),
  ],
);

export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    testmode: integer("testmode", { mode: "boolean" }).notNull(),
    url: text("url").notNull(),
    // AES-GCM ciphertexts (base64 of iv + ciphertext) under the WEBHOOK_SECRET_KEY Worker secret; never plain text.
    secret: text("secret").notNull(),
    // After a rotation the previous secret keeps signing (Standard Webhooks header) until previous_secret_until.
    previousSecret: text("previous_secret"),
    previousSecretUntil: integer("previous_secret_until"), // epoch ms
    createdAt: text("created_at").notNull(),
  },
  // Vatly's rule: at most one endpoint per account and mode.
  (t) => [uniqueIndex("webhook_endpoints_scope").on(t.accountId, t.testmode)],
);

export const webhookEvents = sqliteTable(
  "webhook_events",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    testmode: integer("testmode", { mode: "boolean" }).notNull(),
    eventName: text("event_name").notNull(),
    entityId: text("entity_id").notNull(),
    body: text("body").notNull(), // the WebhookEvent JSON, exactly as delivered and retrieved
    createdAt: integer("created_at").notNull(), // epoch ms
    // pending: an endpoint should get it; delivered; failed (dead-lettered); none: no endpoint (any more).
    delivery: text("delivery", { enum: ["pending", "delivered", "failed", "none"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    // When the next attempt is due (epoch ms); the sweep re-enqueues pending events overdue by minutes.
    nextAttemptAt: integer("next_attempt_at").notNull(),
    // The endpoint the event was for when it was written: it is delivered there or nowhere (never to a successor).
    endpointId: text("endpoint_id"),
  },
  (t) => [
    index("webhook_events_scope_id").on(t.accountId, t.testmode, t.id),
    index("webhook_events_scope_name_id").on(t.accountId, t.testmode, t.eventName, t.id),
    index("webhook_events_entity").on(t.accountId, t.testmode, t.entityId),
    index("webhook_events_created_at").on(t.createdAt),
    index("webhook_events_due").on(t.delivery, t.nextAttemptAt),
    // The failed ones alone (the dashboard's filter, recover): written only when an event fails.
    index("webhook_events_failed").on(t.accountId, t.testmode, t.id).where(sql`${t.delivery} = 'failed'`),
  ],
);

// One row per delivery attempt: when, and the answer (status) or the failure (error). Never the secret.
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    eventId: text("event_id").notNull(),
    attempt: integer("attempt").notNull(),
    at: integer("at").notNull(), // epoch ms
    url: text("url").notNull(),
    status: integer("status"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.attempt] })],
);

// Online account moves (src/moves/). Each shard keeps the moves of the accounts it gave away: while `copying`, triggers
// (migration 0004) log every change to the account's rows in account_changes; in `cutover` they refuse every write;
// once `moved`, they refuse inserts and updates, and every request that still reaches this shard is forwarded to
// `target_shard` (src/db/account-database.ts). The row stays as the forwarding record.
export const accountMoves = sqliteTable("account_moves", {
  accountId: text("account_id").primaryKey(),
  // The move this shard takes part in, from source_shard to target_shard (README, "Moving an account"). `state` is this
  // shard's part: the source is `copying` (home, writes logged), `cutover` (home, writes refused until lease_until) or
  // `moved` (forwards to the target); the target is `incoming` (its copy is being built; forwards to the source) or,
  // inside one of the move's own batches, `filling`. A target's record is deleted when the move commits: it is home.
  targetShard: integer("target_shard").notNull(),
  sourceShard: integer("source_shard"),
  state: text("state", { enum: ["copying", "cutover", "moved", "incoming", "filling"] }).notNull(),
  // Which move (stable across takeovers) and which Workflow instance runs it now (its fencing token), with its last
  // sign of life: a second instance refuses to start while the owner is alive, and takes over a dead one.
  moveId: text("move_id").notNull().default(""),
  owner: text("owner").notNull().default(""),
  heartbeatAt: integer("heartbeat_at").notNull().default(0),
  // Writes are refused only while `state` is `cutover` and this epoch-ms time is ahead: the shard's triggers enforce it.
  leaseUntil: integer("lease_until").notNull().default(0),
  // Progress, for `npm run account:move -- --status` and resuming: the phase, rows copied of the total, the copy's
  // cursor (JSON: table index and last key), the last change applied, the change log's position when the content
  // check began (the cutover compares the rows changed after it).
  phase: text("phase").notNull(),
  copied: integer("copied").notNull().default(0),
  total: integer("total").notNull().default(0),
  cursor: text("cursor").notNull().default("[0,null]"),
  appliedSeq: integer("applied_seq").notNull().default(0),
  verifiedSeq: integer("verified_seq"),
  // Rows the content checks found different on the target and copied again (0 when the copy and catch-up were exact).
  repaired: integer("repaired").notNull().default(0),
  startedAt: integer("started_at").notNull(), // epoch ms
  copiedAt: integer("copied_at"),
  // A target's record before this move (a finished `moved` one, from a move away): cancel puts it back.
  priorState: text("prior_state"),
  cutoverAt: integer("cutover_at"),
  movedAt: integer("moved_at"),
  finishedAt: integer("finished_at"),
});

/**
 * Background work (the sweep, retention, clean-up, re-keying) touches only accounts this shard serves and that take
 * writes now: none with a move record in any state but `copying` (a cutover for its seconds; a moved, incoming or
 * filling copy always). `negate`: the accounts it must not touch.
 */
export const servedHere = (account: SQLiteColumn, negate = false) =>
  sql`${account} ${sql.raw(negate ? "IN" : "NOT IN")} (SELECT ${accountMoves.accountId} FROM ${accountMoves} WHERE ${accountMoves.state} <> 'copying')`;

export const accountChanges = sqliteTable(
  "account_changes",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    accountId: text("account_id").notNull(),
    tableName: text("table_name").notNull(),
    pk: text("pk").notNull(), // JSON array of the row's key columns
  },
  (t) => [index("account_changes_account_seq").on(t.accountId, t.seq)],
);

// The dashboard's one-time sign-in links and sessions (migrations/0008_dashboard.sql), on shard 0 only: the SHA-256 of
// each token, whose account and mode it opens, and until when (epoch ms). A link is deleted as it is used.
export const dashboardSessions = sqliteTable(
  "dashboard_sessions",
  {
    tokenHash: text("token_hash").primaryKey(),
    kind: text("kind", { enum: ["link", "session"] }).notNull(),
    accountId: text("account_id").notNull(),
    testmode: integer("testmode", { mode: "boolean" }).notNull(),
    shard: integer("shard").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("dashboard_sessions_expires_at").on(t.expiresAt)],
);
