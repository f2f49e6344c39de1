// The statement of a customer search: one query, on the caller's shard, answered from indexes. The index rows
// (customer_trigrams, customer_trigram_counts, customer_metadata) are written by the customers table's own triggers
// in the batch of every write (migrations/0006_customer_search.sql), so a search sees every write before it and an
// erasure leaves nothing behind. A search reads, in order:
//  1. candidates from one index: the query's most selective clause under AND (exact email, exact name, a metadata
//     pair, a substring's rarest trigram, a createdAt range), or every clause's under OR;
//  2. each candidate's row, checked against every clause (a trigram only says "may contain").
// So the rows read grow with the candidates, not with the account.
import type { Database, Scope } from "../db/query";
import { scope } from "../db/query";
import type { CustomerRow } from "./customer";
import { toRow, type StoredCustomer } from "./repository";
import type { Clause, SearchQuery } from "./search-query";

const COLUMNS = "c.id, c.testmode, c.email, c.name, c.metadata, c.created_at, c.etag";

/** The trigrams of a value as the index holds them: of its lower-case form, each once. */
export const trigrams = (value: string) => {
  const chars = [...value.toLowerCase()];
  return [...new Set(chars.slice(0, -2).map((_, i) => chars.slice(i, i + 3).join("")))];
};

/** A createdAt bound as the stored text compares (whole seconds, `YYYY-MM-DDTHH:MM:SSZ`), for an operator. */
function secondsBound(time: number, op: Clause["op"]): string {
  const seconds = op === ">" || op === "<=" ? Math.floor(time / 1000) : Math.ceil(time / 1000);
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The check of a clause on a customer row `c` (negated with NOT; IS keeps a missing name comparable). */
function predicate(c: Clause, params: unknown[]): string {
  let sql: string;
  if (c.field === "email" && c.op === ":") sql = "lower(c.email) = lower(?)";
  else if (c.field === "email") sql = "instr(lower(c.email), lower(?)) > 0";
  else if (c.field === "name" && c.op === ":") sql = "c.name IS ?";
  else if (c.field === "name") sql = "instr(lower(coalesce(c.name, '')), lower(?)) > 0";
  else if (c.field === "metadata") sql = "EXISTS (SELECT 1 FROM json_each(c.metadata) m WHERE m.key = ? AND m.value = ?)";
  else sql = `c.created_at ${c.op} ?`;
  if (c.field === "metadata") params.push(c.key, c.value);
  else if (c.field === "createdAt") params.push(secondsBound(c.time!, c.op));
  else params.push(c.value);
  return c.negate ? `NOT (${sql})` : `(${sql})`;
}

/** The ids an index gives for a clause (positive clauses only), or null when no index answers it. */
function candidates(c: Clause, params: unknown[], s: { accountId: string; testmode: number }): string | null {
  if (c.negate) return null;
  const inScope = "account_id = ? AND testmode = ?";
  if (c.field === "email" && c.op === ":") {
    params.push(s.accountId, s.testmode, c.value);
    return `SELECT id AS id FROM customers WHERE ${inScope} AND lower(email) = lower(?)`;
  }
  if (c.field === "name" && c.op === ":") {
    params.push(s.accountId, s.testmode, c.value);
    return `SELECT id FROM customers WHERE ${inScope} AND name = ?`;
  }
  if (c.field === "metadata") {
    params.push(s.accountId, s.testmode, c.key, c.value);
    return `SELECT customer_id AS id FROM customer_metadata WHERE ${inScope} AND key = ? AND value = ?`;
  }
  if (c.field === "createdAt") {
    params.push(s.accountId, s.testmode, secondsBound(c.time!, c.op));
    return `SELECT id FROM customers WHERE ${inScope} AND created_at ${c.op} ?`;
  }
  // A substring: the customers holding its rarest trigram (the counts say which); the row check does the rest.
  params.push(s.accountId, s.testmode, c.field, s.accountId, s.testmode, c.field, JSON.stringify(trigrams(c.value)));
  return `SELECT customer_id AS id FROM customer_trigrams WHERE ${inScope} AND field = ? AND trigram = (
    SELECT trigram FROM customer_trigram_counts WHERE ${inScope} AND field = ? AND trigram IN (SELECT value FROM json_each(?)) ORDER BY n LIMIT 1)`;
}

/** How selective a clause's index is, best first: which one drives an AND. */
const RANK: ((c: Clause) => boolean)[] = [
  (c) => c.field === "email" && c.op === ":",
  (c) => c.field === "name" && c.op === ":",
  (c) => c.field === "metadata",
  (c) => c.op === "~",
  (c) => c.field === "createdAt",
];

/**
 * One page of a search, newest first: up to `limit + 1` customers with an id below `before` (a page token's), so the
 * caller knows whether more follow. Scoped to the caller's account and mode like every customer query.
 */
export async function searchCustomers(db: Database, caller: Scope, query: SearchQuery, before: string | null, limit: number): Promise<CustomerRow[]> {
  return (await searchStatement(db, caller, query, before, limit).all<StoredCustomer>()).results.map(toRow);
}

/** The one statement of a search page (the bench reads its `meta.rows_read`). */
export function searchStatement(db: Database, caller: Scope, query: SearchQuery, before: string | null, limit: number): D1PreparedStatement {
  const s = scope(caller);
  const sourceParams: unknown[] = [];
  // The candidates: the best clause's index under AND; every clause's under OR (a negated clause there: the scope).
  let source: string | null = null;
  if (query.join === "AND") {
    const best = RANK.map((rank) => query.clauses.find((c) => !c.negate && rank(c))).find(Boolean);
    if (best) source = candidates(best, sourceParams, s);
  } else {
    const each = query.clauses.map((c) => {
      const params: unknown[] = [];
      return { sql: candidates(c, params, s), params };
    });
    if (each.every((e) => e.sql !== null)) {
      // UNION ALL, then DISTINCT: a plain UNION merges sorted inputs, which makes SQLite read each clause's rows in
      // id order (a scan of the account) instead of from its own index.
      source = `SELECT DISTINCT id FROM (${each.map((e) => e.sql).join(" UNION ALL ")})`;
      for (const e of each) sourceParams.push(...e.params);
    }
  }
  const checkParams: unknown[] = [];
  const checks = query.clauses.map((c) => predicate(c, checkParams)).join(` ${query.join} `);
  // The candidates drive the join (CROSS JOIN keeps them the outer loop): no scan of the account's customers.
  const from = source === null ? "customers c" : `(${source}) AS k CROSS JOIN customers c ON c.id = k.id`;
  const sql = `SELECT ${COLUMNS} FROM ${from} WHERE c.account_id = ? AND c.testmode = ? ${before ? "AND c.id < ?" : ""} AND (${checks}) ORDER BY c.id DESC LIMIT ?`;
  const bound = [...sourceParams, s.accountId, s.testmode, ...(before ? [before] : []), ...checkParams, limit + 1];
  return db.prepare(sql).bind(...bound);
}
