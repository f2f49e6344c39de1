// The search index checked against what the customers hold, on a whole shard, through fts5vocab (the index's own
// contents, so a deleted customer's terms left in a segment would show): for every trigram, the index holds exactly
// as many customers as the customers' texts (as the triggers wrap them, folded as FTS5 folds) give it.
import { expect } from "vitest";
import { fold } from "../src/customers/search-match";

/** The distinct trigrams of a customer's indexed columns (migrations/0009_search_scoped_rowids.sql). */
function trigramsOf(c: { email: string; name: string | null; metadata: string }): Set<string> {
  const pairs = Object.entries(JSON.parse(c.metadata) as Record<string, string>);
  const columns = [`\u001f${c.email}\u001f`, `\u001f${c.name ?? ""}\u001f`, pairs.length ? `\u001f${pairs.map(([k, v]) => `${k}\u001e${v}`).join("\u001f")}\u001f` : ""];
  const out = new Set<string>();
  for (const column of columns) {
    const chars = [...fold(column.replaceAll("\u0000", ""))];
    for (let i = 0; i + 3 <= chars.length; i++) out.add(chars.slice(i, i + 3).join(""));
  }
  return out;
}

export async function expectIndexMatchesCustomers(db: D1Database, label = "") {
  await db.prepare("CREATE VIRTUAL TABLE IF NOT EXISTS customer_search_terms USING fts5vocab(customer_search, row)").run();
  const held = (await db.prepare("SELECT term, doc FROM customer_search_terms").all<{ term: string; doc: number }>()).results;
  const customers = (await db.prepare("SELECT email, name, metadata FROM customers").all<{ email: string; name: string | null; metadata: string }>()).results;
  const expected: Record<string, number> = {};
  for (const c of customers) for (const t of trigramsOf(c)) expected[t] = (expected[t] ?? 0) + 1;
  const actual = Object.fromEntries(held.map((r) => [r.term, r.doc]));
  // Only the terms whose customer counts differ, [held, expected], so a failure names them.
  const differ = Object.fromEntries([...new Set([...Object.keys(actual), ...Object.keys(expected)])]
    .filter((t) => actual[t] !== expected[t]).map((t) => [JSON.stringify(t).slice(1, -1), [actual[t] ?? 0, expected[t] ?? 0]]));
  expect(differ, `the search index of ${label || "the shard"} is what its customers hold`).toEqual({});
  // One entry per customer, in its account's range: the scope's number times 2^40 plus the customer's rowid.
  const entries = (await db.prepare("SELECT rowid AS r FROM customer_search ORDER BY rowid").all<{ r: number }>()).results.map((e) => e.r);
  const expectedEntries = (await db.prepare("SELECT s.n * 1099511627776 + c.rowid AS r FROM customers c JOIN search_scopes s ON s.account_id = c.account_id AND s.testmode = c.testmode ORDER BY r").all<{ r: number }>()).results.map((e) => e.r);
  expect(entries, `one index entry per customer, in its account's range, on ${label || "the shard"}`).toEqual(expectedEntries);
}
