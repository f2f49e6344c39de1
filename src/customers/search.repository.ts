// The statement of a customer search: one query, on the caller's shard, answered from indexes. The index is the FTS5
// table `customer_search` (trigram tokenizer, case folded Unicode-wide by FTS5 itself), one row per customer under
// the customer's rowid, written by the customers table's own triggers in the batch of every write
// (migrations/0007_search_fts5.sql): a search sees every write before it and an erasure leaves nothing behind.
// A search page reads, in order:
//  1. candidates newest first (by rowid, the order customers were written on the shard), from one FTS5 match of the
//     account's scope token and the query's clauses; or, for a query whose only positive clauses are createdAt
//     ranges, from the createdAt index (newest first by createdAt);
//  2. each candidate's row, checked against the clauses the match cannot decide exactly (exact values, negations);
// and stops at the page's size, so a page costs about its own rows and walking every page costs about the matches.
import type { Database, Scope } from "../db/query";
import { scope } from "../db/query";
import type { CustomerRow } from "./customer";
import { toRow, type StoredCustomer } from "./repository";
import type { Clause, SearchQuery } from "./search-query";

const COLUMNS = "c.id, c.testmode, c.email, c.name, c.metadata, c.created_at, c.etag, c.rowid AS rid";
/** The bounds the index wraps every column's text in, and what separates a metadata key from its value. */
const EDGE = "\u001f";
const PAIR = "\u001e";

/** Where a page ends: the last row's rowid and createdAt (the order of the index that drove it). */
export interface SearchCursor { rid: number; createdAt: string }
export type SearchRow = CustomerRow & { rid: number };

/** A value as the index holds it: U+0000 (which an FTS5 query cannot carry) as U+FFFD. */
const indexed = (value: string) => value.replaceAll("\u0000", "\ufffd");
/** The forms a typed value may be stored in: as typed, composed (NFC) and decomposed (NFD). */
const forms = (value: string) => [...new Set([value, value.normalize("NFC"), value.normalize("NFD")])];
/** An FTS5 phrase: the text in double quotes, a quote doubled. Nothing else is special inside one. */
const phrase = (text: string) => `"${indexed(text).replaceAll('"', '""')}"`;
const anyForm = (column: string, wrap: (v: string) => string, value: string) => `${column} : (${forms(value).map((f) => phrase(wrap(f))).join(" OR ")})`;

/** The FTS5 expression of a positive clause, or null for one the index cannot answer (createdAt). */
function matchOf(c: Clause): string | null {
  if (c.field === "createdAt") return null;
  if (c.field === "metadata") return anyForm("metadata", (k) => `${EDGE}${k}${PAIR}${c.value}${EDGE}`, c.key!);
  if (c.op === ":") return anyForm(c.field, (v) => `${EDGE}${v}${EDGE}`, c.value);
  return anyForm(c.field, (v) => v, c.value);
}

/** The account's scope token: three private-use characters of its number on this shard (as the triggers write it). */
const SCOPE = "(SELECT char(57344 + n % 6400, 57344 + (n / 6400) % 6400, 57344 + n / 40960000) FROM search_scopes WHERE account_id = ? AND testmode = ?)";

/** A createdAt bound as the stored text compares (whole seconds, `YYYY-MM-DDTHH:MM:SSZ`), for an operator. */
function secondsBound(time: number, op: Clause["op"]): string {
  const seconds = op === ">" || op === "<=" ? Math.floor(time / 1000) : Math.ceil(time / 1000);
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The check of a clause on a customer row `c`, or null when the candidates' match already decided it exactly (a
 * positive substring under AND). Exact values compare exactly; a substring asks the index about this one row.
 */
function predicate(c: Clause, params: unknown[], decided: boolean): string | null {
  let sql: string;
  if (c.op === "~" && decided && !c.negate) return null;
  if (c.field === "email" && c.op === ":") {
    sql = "lower(c.email) = lower(?)";
    params.push(c.value);
  } else if (c.field === "name" && c.op === ":") {
    const values = forms(c.value);
    sql = `c.name IS NOT NULL AND c.name IN (${values.map(() => "?").join(", ")})`;
    params.push(...values);
  } else if (c.field === "metadata") {
    sql = "EXISTS (SELECT 1 FROM json_each(c.metadata) m WHERE m.key = ? AND m.value = ?)";
    params.push(c.key, c.value);
  } else if (c.field === "createdAt") {
    sql = `c.created_at ${c.op} ?`;
    params.push(secondsBound(c.time!, c.op));
  } else {
    sql = "EXISTS (SELECT 1 FROM customer_search s WHERE s.customer_search MATCH ? AND s.rowid = c.rowid)";
    params.push(matchOf(c));
  }
  return c.negate ? `NOT (${sql})` : `(${sql})`;
}

/** Where the candidates come from: one FTS5 match (`match`), or the createdAt index (`match` null). */
function drive(query: SearchQuery): { match: string | null; decided: boolean } {
  const positives = query.clauses.filter((c) => !c.negate);
  const matches = positives.map(matchOf);
  if (query.join === "AND") {
    const own = matches.filter((m): m is string => m !== null);
    if (own.length > 0) return { match: own.map((m) => `(${m})`).join(" AND "), decided: true };
    return { match: positives.length > 0 ? null : "", decided: false };
  }
  // OR: the clauses' matches together when the index answers each of them; otherwise every customer of the account.
  const each = positives.length === query.clauses.length && matches.every((m) => m !== null);
  return { match: each ? `(${matches.map((m) => `(${m})`).join(" OR ")})` : "", decided: false };
}

/**
 * One page of a search: up to `limit + 1` customers after `after` (a page token's cursor), so the caller knows whether
 * more follow. Scoped to the caller's account and mode like every customer query.
 */
export async function searchCustomers(db: Database, caller: Scope, query: SearchQuery, after: SearchCursor | null, limit: number): Promise<SearchRow[]> {
  const rows = (await searchStatement(db, caller, query, after, limit).all<StoredCustomer & { rid: number }>()).results;
  return rows.map((r) => ({ ...toRow(r), rid: r.rid }));
}

/** The one statement of a search page (the bench reads its `meta.rows_read`). */
export function searchStatement(db: Database, caller: Scope, query: SearchQuery, after: SearchCursor | null, limit: number): D1PreparedStatement {
  const s = scope(caller);
  const { match, decided } = drive(query);
  const checkParams: unknown[] = [];
  const checks = query.clauses.map((c) => predicate(c, checkParams, decided)).filter((p) => p !== null);
  const checked = checks.length ? `AND (${checks.join(` ${query.join} `)})` : "";
  if (match === null) {
    // Only createdAt ranges (and negations): the createdAt index, newest first, and the rowid among equal times.
    const cursor = after ? "AND (c.created_at, c.rowid) < (?, ?)" : "";
    const sql = `SELECT ${COLUMNS} FROM customers c INDEXED BY customers_scope_created_at WHERE c.account_id = ? AND c.testmode = ? ${cursor} ${checked}
      ORDER BY c.created_at DESC, c.rowid DESC LIMIT ?`;
    return db.prepare(sql).bind(s.accountId, s.testmode, ...(after ? [after.createdAt, after.rid] : []), ...checkParams, limit + 1);
  }
  // The FTS5 match drives (CROSS JOIN keeps it the outer loop), newest first by rowid, from the cursor on. An account
  // without a scope yet (no customer ever) matches nothing.
  const sql = `SELECT ${COLUMNS} FROM customer_search f CROSS JOIN customers c ON c.rowid = f.rowid
    WHERE f.customer_search MATCH ('scope : "' || coalesce(${SCOPE}, 'none') || '"' || ?) ${after ? "AND f.rowid < ?" : ""}
      AND c.account_id = ? AND c.testmode = ? ${checked}
    ORDER BY f.rowid DESC LIMIT ?`;
  return db.prepare(sql).bind(s.accountId, s.testmode, match ? ` AND ${match}` : "", ...(after ? [after.rid] : []), s.accountId, s.testmode, ...checkParams, limit + 1);
}
