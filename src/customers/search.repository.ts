// The statements of a customer search, on the caller's shard, answered from indexes. The index is the FTS5 table
// `customer_search` (trigram tokenizer, case folded by FTS5, `detail = none`), one row per customer, written by the
// customers table's own triggers in the batch of every write (migrations/0009_search_scoped_rowids.sql): a search
// sees every write before it and an erasure leaves nothing behind. An entry's rowid is the account's scope number
// (search_scopes, per account and mode) times 2^40 plus the customer's rowid, so a search reads only its own
// account's range of every term's entries: another account's customers are never candidates, whatever they hold.
// Rows below `search_backfill.below` (customers written before 0009) are indexed by a background job
// (backfillSearchIndex, from the cron) and walked meanwhile.
// A page reads candidates newest first (by rowid, the order customers were written on the shard) from the FTS5 match,
// or, for a query whose only positive clauses are createdAt ranges, from the createdAt index (newest first by
// createdAt); the Worker checks each candidate exactly (search-match.ts). A page makes at most MAX_CALLS statements:
// one that cannot fill within them ends early, with a cursor where its reading stopped.
import type { Database, Scope } from "../db/query";
import { scope } from "../db/query";
import type { CustomerRow } from "./customer";
import { toRow, type StoredCustomer } from "./repository";
import { candidatesOf, holds, secondsBound } from "./search-match";
import type { Clause, SearchQuery } from "./search-query";

const COLUMNS = "c.id, c.testmode, c.email, c.name, c.metadata, c.created_at, c.etag, c.rowid AS rid";
/** An account's index entries: its scope number times this, plus the customer's rowid (as the triggers write them). */
const SPAN = 1099511627776;
/**
 * The first index entry of the caller's range (for an account without customers, a range below every entry: an
 * empty one, that FTS5 seeks past as it does any other; a NULL bound would make it read every match). FTS5 seeks
 * to a rowid bound only when it is an integer: a bound parameter (a JavaScript number, bound as a REAL) is cast.
 */
const BASE = `coalesce((SELECT n * ${SPAN} FROM search_scopes WHERE account_id = ?1 AND testmode = ?2), -${SPAN})`;
/** Customers below this rowid are not indexed yet (the backfill after 0009 is under way); 0 once it is done. */
const LOW = "coalesce((SELECT below FROM search_backfill), 0)";
/** Candidates read per round trip beyond the page: a match's candidates are nearly all matches. */
const EXTRA = 10;
/** Statements one search page may make (the request's own calls besides, it stays within 10 calls to D1). */
export const MAX_CALLS = 8;

/**
 * Where a page ends: the last row's rowid and createdAt (the order of the index that drove it), and how many matches
 * came before it (the FTS5 table visits every one of them again to reach the cursor: what a page there would cost).
 */
export interface SearchCursor { rid: number; createdAt: string; seen?: number }
export type SearchRow = CustomerRow & { rid: number };
type Stored = StoredCustomer & { rid: number };

const IN_ACCOUNT = "c.account_id = ?1 AND c.testmode = ?2";
const bound = (caller: Scope) => [scope(caller).accountId, scope(caller).testmode];

/** The account's customers below a rowid, newest first, through its (account, mode) index: one read a customer. */
function walkStatement(db: Database, caller: Scope, before: number | null, n: number): D1PreparedStatement {
  const sql = `SELECT ${COLUMNS} FROM customers c INDEXED BY customers_scope_rowid WHERE ${IN_ACCOUNT} AND c.rowid < ?3
    ORDER BY c.rowid DESC LIMIT ?4`;
  return db.prepare(sql).bind(...bound(caller), before ?? SPAN, n);
}

/** The createdAt index, newest first, the rowid among equal times; the query's ranges bound the read. */
function createdAtStatement(db: Database, caller: Scope, query: SearchQuery, after: SearchCursor | null, n: number): D1PreparedStatement {
  const ranges = query.clauses.filter((c) => c.field === "createdAt" && !c.negate);
  const cursor = after ? "AND (c.created_at, c.rowid) < (?, ?)" : "";
  const sql = `SELECT ${COLUMNS} FROM customers c INDEXED BY customers_scope_created_at WHERE c.account_id = ? AND c.testmode = ? ${cursor}
    ${ranges.map((c) => `AND c.created_at ${c.op} ?`).join(" ")} ORDER BY c.created_at DESC, c.rowid DESC LIMIT ?`;
  return db.prepare(sql).bind(...bound(caller), ...(after ? [after.createdAt, after.rid] : []), ...ranges.map((c) => secondsBound(c.time!, c.op)), n);
}

/**
 * The indexed candidates below a rowid, newest first, then a row holding only the backfill's mark (rid: `below`)
 * while there is one. An FTS5 match alone is read in the index's order (CROSS JOIN keeps it the outer loop); with
 * createdAt ranges (an OR), the match's rowids and each range's from the createdAt index are merged.
 */
function indexStatement(db: Database, caller: Scope, match: string | null, ranges: Clause[], before: number | null, n: number): D1PreparedStatement {
  const fts = `f.customer_search MATCH ?3 AND f.rowid >= ${BASE} + ${LOW} AND f.rowid < ${BASE} + CAST(?4 AS INTEGER)`;
  const mark = `UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, below FROM search_backfill`;
  const params = [...bound(caller), match ?? "", before ?? SPAN, n, ...ranges.map((c) => secondsBound(c.time!, c.op))];
  if (ranges.length === 0) {
    return db.prepare(`SELECT * FROM (SELECT ${COLUMNS} FROM customer_search f CROSS JOIN customers c ON c.rowid = f.rowid - ${BASE}
      WHERE ${fts} AND ${IN_ACCOUNT} ORDER BY f.rowid DESC LIMIT ?5) ${mark}`).bind(...params);
  }
  const arms = [
    ...(match === null ? [] : [`SELECT f.rowid - ${BASE} FROM customer_search f WHERE ${fts}`]),
    ...ranges.map((c, i) => `SELECT r.rowid FROM customers r INDEXED BY customers_scope_created_at WHERE r.account_id = ?1 AND r.testmode = ?2
      AND r.created_at ${c.op} ?${6 + i} AND r.rowid < ?4 AND r.rowid >= ${LOW}`),
  ];
  return db.prepare(`SELECT * FROM (SELECT ${COLUMNS} FROM customers c WHERE ${IN_ACCOUNT} AND c.rowid IN (${arms.join(" UNION ")})
    ORDER BY c.rowid DESC LIMIT ?5) ${mark}`).bind(...params);
}

/** One page being filled: the matches so far, the rows D1 read, the calls made, and where the reading stands. */
class Page {
  found: SearchRow[] = [];
  rowsRead = 0;
  calls = 0;
  /** The last candidate read: where a page that runs out of calls continues. */
  last?: SearchCursor;
  /** The backfill's mark, once a statement has said it (0: the whole account is indexed). */
  below = 0;
  constructor(readonly query: SearchQuery, readonly limit: number) {}
  get full() { return this.found.length > this.limit; }
  get spent() { return this.calls >= MAX_CALLS; }
  /** Candidates the next read asks for: what the page lacks, and a few more (nearly every candidate matches). */
  get wanted() { return this.limit + 1 - this.found.length + EXTRA; }
  /** Reads one statement's candidates, keeps the matches; whether it got all it asked for (more may follow). */
  async take(statement: D1PreparedStatement, n: number): Promise<boolean> {
    const read = await statement.all<Stored>();
    this.calls++;
    this.rowsRead += read.meta.rows_read;
    const rows = read.results.filter((r) => r.id !== null);
    this.below = read.results.find((r) => r.id === null)?.rid ?? 0;
    for (const r of rows) {
      const row = { ...toRow(r), rid: r.rid };
      if (!this.full && holds(row, this.query)) this.found.push(row);
    }
    if (rows.length) this.last = { rid: rows.at(-1)!.rid, createdAt: rows.at(-1)!.created_at };
    return rows.length === n;
  }
}

/**
 * One page of a search: up to `limit + 1` matches after `after` (a page token's cursor), so the caller knows whether
 * more follow; `stopped`, where reading stopped when the page ran out of calls before it was full (more may follow:
 * the next page continues there); the rows D1 read for it. Scoped to the caller's account and mode like every
 * customer query.
 *
 * The FTS5 table visits every match before the cursor (D1 counts each), the account's own walk only what it scans:
 * a page past the first walks the account up to what the index would cost first, and asks the index only for what
 * remains. So a broad match's pages cost about their own rows, a rare one's about its matches.
 */
export async function searchCustomers(db: Database, caller: Scope, query: SearchQuery, after: SearchCursor | null, limit: number) {
  const page = new Page(query, limit);
  const candidates = candidatesOf(query);
  const done = (exhausted: boolean) => ({
    rows: page.found, rowsRead: page.rowsRead, calls: page.calls,
    stopped: !exhausted && !page.full && page.last ? { ...page.last, seen: (after?.seen ?? 0) + page.found.length } : null,
  });
  if (candidates.from === "createdAt") {
    for (let cursor = after; !page.full; cursor = page.last!) {
      if (page.spent) return done(false);
      if (!(await page.take(createdAtStatement(db, caller, query, cursor, page.wanted), page.wanted))) break;
    }
    return done(true);
  }
  let before = after?.rid ?? null;
  const walk = async (budget: number) => {
    for (let scanned = 0; !page.full && scanned < budget && !page.spent; before = page.last!.rid) {
      const n = Math.min(Math.max(page.wanted, 50), 500);
      scanned += n;
      if (!(await page.take(walkStatement(db, caller, before, n), n))) return true;
    }
    return false;
  };
  // A query with nothing the indexes answer walks the whole account.
  if (candidates.from === "walk") return done(await walk(Infinity));
  // Past the first page, the account's own walk first, up to what the index would cost.
  if (after && (await walk((after.seen ?? 0) + limit + 1))) return done(true);
  let exhausted = false;
  while (!page.full && !page.spent && !exhausted) {
    exhausted = !(await page.take(indexStatement(db, caller, candidates.match, candidates.ranges, before, page.wanted), page.wanted));
    if (!exhausted) before = page.last!.rid;
  }
  // What the index does not hold yet (customers written before it): walked, below the backfill's mark.
  if (exhausted && page.below > 0 && !page.full) {
    before = Math.min(before ?? page.below, page.below);
    return done(await walk(Infinity));
  }
  return done(exhausted);
}

/** Customers (a range of rowids) indexed per backfill batch: one statement far inside D1's 30 s. */
export const BACKFILL_ROWS = 50_000;

/**
 * Indexes the next range of customers below the backfill's mark, as the insert trigger indexes one, and lowers the
 * mark in the same batch (the mark goes once nothing is below it). Safe beside writes and a second run at once: a
 * write below the mark is left to the backfill, one above it to the triggers, and a batch whose mark moved meanwhile
 * inserts nothing. The mark after it; null when there is nothing (left) to index.
 */
export async function backfillSearchIndex(db: D1Database, rows = BACKFILL_ROWS): Promise<number | null> {
  const mark = await db.prepare("SELECT below FROM search_backfill").first<{ below: number }>();
  if (!mark) return null;
  const low = Math.max(mark.below - rows, 1);
  await db.batch([
    db.prepare(`INSERT INTO customer_search (rowid, email, name, metadata)
      SELECT s.n * ${SPAN} + c.rowid, char(31) || c.email || char(31), char(31) || coalesce(c.name, '') || char(31),
        (SELECT char(31) || group_concat(m.key || char(30) || m.value, char(31)) || char(31) FROM json_each(c.metadata) m)
      FROM customers c JOIN search_scopes s ON s.account_id = c.account_id AND s.testmode = c.testmode
      WHERE c.rowid >= ?1 AND c.rowid < ?2 AND (SELECT below FROM search_backfill) = ?2`).bind(low, mark.below),
    low > 1
      ? db.prepare("UPDATE search_backfill SET below = ?1 WHERE below = ?2").bind(low, mark.below)
      : db.prepare("DELETE FROM search_backfill WHERE below = ?2").bind(low, mark.below),
  ]);
  return low > 1 ? low : null;
}
