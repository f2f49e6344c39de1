import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const customers = sqliteTable(
  "customers",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    testmode: integer("testmode", { mode: "boolean" }).notNull(),
    email: text("email").notNull(),
    metadata: text("metadata").notNull(), // JSON text, written and returned verbatim
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    // The list walks this index by id within one (account, mode): no scan, whatever the table size.
    index("customers_scope_id").on(t.accountId, t.testmode, t.id),
    // Emails are ASCII-only, so SQLite's lower() is an exact case fold.
    uniqueIndex("customers_scope_email").on(t.accountId, t.testmode, sql`lower(${t.email})`),
  ],
);

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    accountId: text("account_id").notNull(),
    testmode: integer("testmode", { mode: "boolean" }).notNull(),
    key: text("key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    status: integer("status").notNull(),
    body: text("body").notNull(),
    createdAt: integer("created_at").notNull(), // epoch ms
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.testmode, t.key] }),
    index("idempotency_keys_created_at").on(t.createdAt),
  ],
);
