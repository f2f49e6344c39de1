import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

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
  ],
);

// What remains of a deleted customer: no email, name or metadata (erasure), only what a list cursor and audit need.
export const customerTombstones = sqliteTable("customer_tombstones", {
  id: text("id").primaryKey(),
  accountId: text("account_id").notNull(),
  testmode: integer("testmode", { mode: "boolean" }).notNull(),
  createdAt: text("created_at").notNull(),
  deletedAt: integer("deleted_at").notNull(), // epoch ms
});

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
    resourceId: text("resource_id"), // the customer (or other resource) the answer carries, for erasure
    createdAt: integer("created_at").notNull(), // epoch ms
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.testmode, t.key] }),
    index("idempotency_keys_created_at").on(t.createdAt),
    index("idempotency_keys_resource").on(t.accountId, t.testmode, t.resourceId),
  ],
);
