// The statements of a customer search, on the caller's shard, answered from indexes. The index is the FTS5 table
// `customer_search` (trigram tokenizer, case folded by FTS5, `detail = none`), one row per customer under the
// customer's rowid, written by the customers table's own triggers in the batch of every write
// (migrations/0007_search_fts5.sql): a search sees every write before it and an erasure leaves nothing behind.
// A search page reads candidates newest first (by rowid, the order customers were written on the shard) from one
// FTS5 match of the account's scope token and the query's trigrams, or, for a query whose only positive clauses are
// createdAt ranges, from the createdAt index (newest first by createdAt); the Worker checks each candidate exactly
// (search-match.ts) and reads on from the last candidate until the page is full. A page costs about its candidates.
import type { Database, Scope } from "../db/query";
import { scope } from "../db/query";
import type { CustomerRow } from "./customer";
import { toRow, type StoredCustomer } from "./repository";
import { candidatesOf, holds, secondsBound } from "./search-match";
import type { SearchQuery } from "./search-query";

const COLUMNS = "c.id, c.testmode, c.email, c.name, c.metadata, c.created_at, c.etag, c.rowid AS rid";
/** The account's scope token: three private-use characters of its number on this shard (as the triggers write it). */
const SCOPE = "(SELECT char(57344 + n % 6400, 57344 + (n / 6400) % 6400, 57344 + n / 40960000) FROM search_scopes WHERE account_id = ? AND testmode = ?)";
/** Candidates read per round trip beyond the page: a match's candidates are nearly all matches. */
const EXTRA = 10;

/** Where a page ends: the last row's rowid and createdAt (the order of the index that drove it). */
export interface SearchCursor { rid: number; createdAt: string }
export type SearchRow = CustomerRow & { rid: number };

/** One read of candidates after `after`, at most `n`, newest first in the order of the index that drives them. */
export function candidatesStatement(db: Database, caller: Scope, query: SearchQuery, after: SearchCursor | null, n: number): D1PreparedStatement {
  const s = scope(caller);
  const match = candidatesOf(query);
  if (match === null) {
    // Only createdAt ranges (and negations): the createdAt index, newest first, the rowid among equal times; the
    // ranges bound the read, the Worker checks the rest.
    const ranges = query.clauses.filter((c) => c.field === "createdAt" && !c.negate);
    const cursor = after ? "AND (c.created_at, c.rowid) < (?, ?)" : "";
    const sql = `SELECT ${COLUMNS} FROM customers c INDEXED BY customers_scope_created_at WHERE c.account_id = ? AND c.testmode = ? ${cursor}
      ${ranges.map((c) => `AND c.created_at ${c.op} ?`).join(" ")} ORDER BY c.created_at DESC, c.rowid DESC LIMIT ?`;
    return db.prepare(sql).bind(s.accountId, s.testmode, ...(after ? [after.createdAt, after.rid] : []), ...ranges.map((c) => secondsBound(c.time!, c.op)), n);
  }
  // The FTS5 match drives (CROSS JOIN keeps it the outer loop), newest first by rowid, from the cursor on. An account
  // without a scope yet (no customer ever) matches nothing.
  const sql = `SELECT ${COLUMNS} FROM customer_search f CROSS JOIN customers c ON c.rowid = f.rowid
    WHERE f.customer_search MATCH ('"' || coalesce(${SCOPE}, char(63743, 63743, 63743)) || '"' || ?) ${after ? "AND f.rowid < ?" : ""}
      AND c.account_id = ? AND c.testmode = ?
    ORDER BY f.rowid DESC LIMIT ?`;
  return db.prepare(sql).bind(s.accountId, s.testmode, match ? ` AND ${match}` : "", ...(after ? [after.rid] : []), s.accountId, s.testmode, n);
}

/**
 * One page of a search: up to `limit + 1` matches after `after` (a page token's cursor), so the caller knows whether
 * more follow, and the rows D1 read for it. Scoped to the caller's account and mode like every customer query.
 */
export async function searchCustomers(db: Database, caller: Scope, query: SearchQuery, after: SearchCursor | null, limit: number) {
  const found: SearchRow[] = [];
  let rowsRead = 0;
  for (let cursor = after; found.length <= limit;) {
    const n = limit + 1 - found.length + EXTRA;
    const page = await candidatesStatement(db, caller, query, cursor, n).all<StoredCustomer & { rid: number }>();
    rowsRead += page.meta.rows_read;
    for (const r of page.results) {
      const row = { ...toRow(r), rid: r.rid };
      if (holds(row, query) && found.length <= limit) found.push(row);
    }
    if (page.results.length < n) break;
    const last = page.results.at(-1)!;
    cursor = { rid: last.rid, createdAt: last.created_at };
  }
  return { rows: found, rowsRead };
}
