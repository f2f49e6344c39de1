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

/**
 * Where a page ends: the last row's rowid and createdAt (the order of the index that drove it), and how many matches
 * came before it (the FTS5 table visits every one of them again to reach the cursor: what a page there would cost).
 */
export interface SearchCursor { rid: number; createdAt: string; seen?: number }
export type SearchRow = CustomerRow & { rid: number };
type Stored = StoredCustomer & { rid: number };

const IN_ACCOUNT = "c.account_id = ? AND c.testmode = ?";

/** The account's customers below a rowid, newest first, through its (account, mode) index: one read a customer. */
function walkStatement(db: Database, caller: Scope, before: number | null, n: number): D1PreparedStatement {
  const s = scope(caller);
  const sql = `SELECT ${COLUMNS} FROM customers c INDEXED BY customers_scope_rowid WHERE ${IN_ACCOUNT} ${before === null ? "" : "AND c.rowid < ?"}
    ORDER BY c.rowid DESC LIMIT ?`;
  return db.prepare(sql).bind(s.accountId, s.testmode, ...(before === null ? [] : [before]), n);
}

/** The createdAt index, newest first, the rowid among equal times; the query's ranges bound the read. */
function createdAtStatement(db: Database, caller: Scope, query: SearchQuery, after: SearchCursor | null, n: number): D1PreparedStatement {
  const s = scope(caller);
  const ranges = query.clauses.filter((c) => c.field === "createdAt" && !c.negate);
  const cursor = after ? "AND (c.created_at, c.rowid) < (?, ?)" : "";
  const sql = `SELECT ${COLUMNS} FROM customers c INDEXED BY customers_scope_created_at WHERE ${IN_ACCOUNT} ${cursor}
    ${ranges.map((c) => `AND c.created_at ${c.op} ?`).join(" ")} ORDER BY c.created_at DESC, c.rowid DESC LIMIT ?`;
  return db.prepare(sql).bind(s.accountId, s.testmode, ...(after ? [after.createdAt, after.rid] : []), ...ranges.map((c) => secondsBound(c.time!, c.op)), n);
}

/** The FTS5 match, newest first by rowid, below the cursor; CROSS JOIN keeps it the outer loop. */
function matchStatement(db: Database, caller: Scope, match: string, before: number | null, n: number): D1PreparedStatement {
  const s = scope(caller);
  // An account without a scope yet (no customer ever) gets a token no scope has: it matches nothing.
  const sql = `SELECT ${COLUMNS} FROM customer_search f CROSS JOIN customers c ON c.rowid = f.rowid
    WHERE f.customer_search MATCH ('"' || coalesce(${SCOPE}, char(63743, 63743, 63743)) || '"' || ?) ${before === null ? "" : "AND f.rowid < ?"}
      AND ${IN_ACCOUNT} ORDER BY f.rowid DESC LIMIT ?`;
  return db.prepare(sql).bind(s.accountId, s.testmode, ` AND ${match}`, ...(before === null ? [] : [before]), s.accountId, s.testmode, n);
}

/** One page being filled: the matches so far, the rows D1 read, and where the reading stands. */
class Page {
  found: SearchRow[] = [];
  rowsRead = 0;
  constructor(readonly query: SearchQuery, readonly limit: number) {}
  get full() { return this.found.length > this.limit; }
  /** Candidates the next read asks for: what the page lacks, and a few more (nearly every candidate matches). */
  get wanted() { return this.limit + 1 - this.found.length + EXTRA; }
  /** Reads one statement's candidates, keeps the matches; whether it got all it asked for (more may follow). */
  async take(statement: D1PreparedStatement, n: number): Promise<{ more: boolean; last?: Stored }> {
    const read = await statement.all<Stored>();
    this.rowsRead += read.meta.rows_read;
    for (const r of read.results) {
      const row = { ...toRow(r), rid: r.rid };
      if (!this.full && holds(row, this.query)) this.found.push(row);
    }
    return { more: read.results.length === n, last: read.results.at(-1) };
  }
}

/**
 * One page of a search: up to `limit + 1` matches after `after` (a page token's cursor), so the caller knows whether
 * more follow, and the rows D1 read for it. Scoped to the caller's account and mode like every customer query.
 *
 * The FTS5 table visits every match before the cursor (D1 counts each), the account's own walk only what it scans:
 * a page past the first walks the account up to what the index would cost first, and asks the index only for what
 * remains. So a broad match's pages cost about their own rows, a rare one's about its matches.
 */
export async function searchCustomers(db: Database, caller: Scope, query: SearchQuery, after: SearchCursor | null, limit: number) {
  const page = new Page(query, limit);
  const match = candidatesOf(query);
  if (match === null) {
    for (let cursor = after; !page.full;) {
      const n = page.wanted;
      const { more, last } = await page.take(createdAtStatement(db, caller, query, cursor, n), n);
      if (!more) break;
      cursor = { rid: last!.rid, createdAt: last!.created_at };
    }
    return { rows: page.found, rowsRead: page.rowsRead };
  }
  let before = after?.rid ?? null;
  // The account's own walk: always for a query with nothing to match; else past the first page, up to the index's cost.
  const budget = match === "" ? Infinity : after ? (after.seen ?? 0) + limit + 1 : 0;
  for (let scanned = 0; !page.full && scanned < budget;) {
    const n = Math.min(Math.max(page.wanted, 50), 500);
    const { more, last } = await page.take(walkStatement(db, caller, before, n), n);
    scanned += n;
    if (!more) return { rows: page.found, rowsRead: page.rowsRead };
    before = last!.rid;
  }
  while (!page.full) {
    const n = page.wanted;
    const { more, last } = await page.take(matchStatement(db, caller, match, before, n), n);
    if (!more) break;
    before = last!.rid;
  }
  return { rows: page.found, rowsRead: page.rowsRead };
}
