// The search index checked against what the customers hold, on a whole shard: every entry of the FTS5 index belongs
// to a customer row, and each customer's every column holds exactly the trigrams its text gives (read through
// fts5vocab, the index's own contents, so a deleted customer's terms left in a segment would show).
import { expect } from "vitest";

/** The number of trigrams the index holds for a text (code points, as FTS5's trigram tokenizer counts). */
const trigramCount = (text: string | null) => (text === null ? 0 : Math.max(0, [...text].length - 2));

/** What the triggers index for a customer, column by column (the same wrapping as migrations/0007_search_fts5.sql). */
function indexedColumns(c: { email: string; name: string | null; metadata: string }) {
  const pairs = Object.entries(JSON.parse(c.metadata) as Record<string, string>);
  return {
    scope: 1,
    email: trigramCount(`\u001f${c.email}\u001f`),
    name: trigramCount(`\u001f${c.name ?? ""}\u001f`),
    metadata: trigramCount(pairs.length ? `\u001f${pairs.map(([k, v]) => `${k}\u001e${v}`).join("\u001f")}\u001f` : null),
  };
}

export async function expectIndexMatchesCustomers(db: D1Database, label = "") {
  await db.prepare("CREATE VIRTUAL TABLE IF NOT EXISTS customer_search_instances USING fts5vocab(customer_search, instance)").run();
  const held = (await db.prepare("SELECT doc, col, count(*) AS n FROM customer_search_instances GROUP BY doc, col").all<{ doc: number; col: string; n: number }>()).results;
  const actual: Record<string, number> = {};
  for (const r of held) actual[`${r.doc} ${r.col}`] = r.n;
  const customers = (await db.prepare("SELECT rowid AS rid, email, name, metadata FROM customers").all<{ rid: number; email: string; name: string | null; metadata: string }>()).results;
  const expected: Record<string, number> = {};
  for (const c of customers) {
    for (const [col, n] of Object.entries(indexedColumns(c))) if (n > 0) expected[`${c.rid} ${col}`] = n;
  }
  expect(actual, `the search index of ${label || "the shard"} is what its customers hold`).toEqual(expected);
}
