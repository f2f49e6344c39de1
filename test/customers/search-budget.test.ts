// Search within a request's budget, on its own account only (issue 40): a page makes at most 8 statements (10 calls
// to D1 with the request's own), and one that cannot fill within them ends early with a links.next that continues
// where its reading stopped; walking every page gives exactly what a plain filter gives, each match once. Another
// account's customers are never candidates, whatever text they hold; an OR with a createdAt clause reads what its
// clauses read; customers written before the index (migration 0009) are found while the backfill indexes them.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { toRow, type StoredCustomer } from "../../src/customers/repository";
import { holds } from "../../src/customers/search-match";
import { parseSearchQuery } from "../../src/customers/search-query";
import { backfillSearch } from "../../src/jobs/cron";
import { call, createCustomer, newKey } from "../helpers";
import { expectIndexMatchesCustomers } from "../search-index";

interface Line { path: string; d1?: { calls: number; rowsRead: number } }
interface Answer { data: { id: string }[]; links: { next: { href: string } | null } }

/** One request, with what its log line says it cost D1. */
async function costed(path: string, key: string) {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
  let response: Response;
  try {
    response = await call(path, { key });
  } finally {
    spy.mockRestore();
  }
  expect(response.status, await response.clone().text()).toBe(200);
  const line = lines.map((l) => JSON.parse(l) as Line).find((l) => l.path === "/v1/customers/search")!;
  return { answer: (await response.json()) as Answer, calls: line.d1!.calls, rowsRead: line.d1!.rowsRead };
}

/** Every page of a search, following links.next: the ids in order, and each page's calls and rows read. */
async function walk(key: string, query: string, limit = 100) {
  const ids: string[] = [];
  const pages: { calls: number; rowsRead: number; count: number }[] = [];
  for (let path: string | null = `/v1/customers/search?query=${encodeURIComponent(query)}&limit=${limit}`; path;) {
    const { answer, calls, rowsRead } = await costed(path, key);
    ids.push(...answer.data.map((c) => c.id));
    pages.push({ calls, rowsRead, count: answer.data.length });
    path = answer.links.next ? new URL(answer.links.next.href).pathname + new URL(answer.links.next.href).search : null;
    expect(pages.length, `${query}: pages end`).toBeLessThan(500);
  }
  return { ids, pages };
}

/** Customers of an account written straight into shard 0 (through its triggers): `n` of them, `text(i)` names each. */
async function seed(accountId: string, n: number, text: (i: number) => { email: string; name: string | null; metadata?: Record<string, string> }, testmode = 1) {
  const tag = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  for (let from = 0; from < n; from += 500) {
    const rows = Array.from({ length: Math.min(500, n - from) }, (_, j) => from + j);
    await env.DB.batch(rows.map((i) => {
      const t = text(i);
      const created = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
      return env.DB.prepare("INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at, etag) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(`cus_${tag}${String(i).padStart(10, "0")}`, accountId, testmode, t.email, t.name, JSON.stringify(t.metadata ?? {}), created, `e${i}`);
    }));
  }
}

/** What a plain filter over every customer of the account gives, newest first (by rowid, as the search orders them). */
async function filtered(accountId: string, query: string, testmode = 1): Promise<string[]> {
  const rows = (await env.DB.prepare("SELECT *, rowid AS rid FROM customers WHERE account_id = ? AND testmode = ? ORDER BY rowid DESC").bind(accountId, testmode).all<StoredCustomer>()).results;
  const parsed = parseSearchQuery(query);
  return rows.map(toRow).filter((r) => holds(r, parsed)).map((r) => r.id);
}

describe("a search page's budget", () => {
  it("walks 8,000 customers in pages of at most 8 statements: a negated clause that matches nobody, an OR with createdAt, a rare match", async () => {
    const { key, accountId } = await newKey({ shard: 0 });
    await seed(accountId, 8_000, (i) => ({ email: `p${i}@budget.example`, name: i % 997 === 0 ? `Rare Qzx ${i}` : `Person ${i}`, metadata: { n: String(i % 7) } }));
    for (const query of ['-email~"budget.example"', 'name~"qzx" OR createdAt<"2026-01-01T00:30:00Z"', 'name~"rare qzx"', '-metadata["n"]:"3" AND -name~"person"', 'email~"p79" OR -name~"person"']) {
      const { ids, pages } = await walk(key, query);
      expect(ids, query).toEqual(await filtered(accountId, query));
      expect(new Set(ids).size, `${query}: each match once`).toBe(ids.length);
      // At most 8 statements of the search, and the request's own calls besides: within 10.
      for (const [i, p] of pages.entries()) expect(p.calls, `${query}: page ${i + 1}`).toBeLessThanOrEqual(10);
    }
    // A page that ran out of calls says so with a next link, even when it found nothing.
    const first = await costed(`/v1/customers/search?query=${encodeURIComponent('-email~"budget.example"')}`, key);
    expect(first.answer.data).toEqual([]);
    expect(first.answer.links.next).not.toBeNull();
  });

  it("answers an OR with a createdAt clause from the indexes: reads what its clauses read", async () => {
    const { key, accountId } = await newKey({ shard: 0 });
    await seed(accountId, 4_000, (i) => ({ email: `o${i}@or.example`, name: `Orderly ${i}` }));
    const { answer, calls, rowsRead } = await costed(`/v1/customers/search?query=${encodeURIComponent('email~"qzxexample" OR createdAt<"1970-01-02"')}`, key);
    expect(answer.data).toEqual([]);
    expect(answer.links.next).toBeNull();
    expect(calls).toBeLessThanOrEqual(2);
    expect(rowsRead).toBeLessThan(50);
    const early = await walk(key, 'email~"qzxexample" OR createdAt<"2026-01-01T00:05:00Z"');
    expect(early.ids).toEqual(await filtered(accountId, 'email~"qzxexample" OR createdAt<"2026-01-01T00:05:00Z"'));
    expect(early.ids).toHaveLength(5);
    expect(early.pages[0]!.rowsRead).toBeLessThan(50);
  });
});

describe("another account's customers", () => {
  it("add no rows read to a search of another account, of another mode, or of an account without customers", async () => {
    const own = await newKey({ shard: 0 });
    const live = await newKey({ shard: 0, accountId: own.accountId, mode: "live" });
    const empty = await newKey({ shard: 0 });
    await seed(own.accountId, 50, (i) => ({ email: `mine${i}@scope.example`, name: `Smith ${i}` }));
    await seed(own.accountId, 50, (i) => ({ email: `live${i}@scope.example`, name: `Smith ${i}` }), 0);
    const queries = ['name~"smith"', 'email~"scope.example"', 'name~"\uf8ff\uf8ff\uf8ff"', 'name~"\ue001\ue000\ue000" OR name~"smith"'];
    const cost = async () => {
      const out: number[] = [];
      for (const k of [own.key, live.key, empty.key]) for (const q of queries) out.push((await costed(`/v1/customers/search?query=${encodeURIComponent(q)}&limit=10`, k)).rowsRead);
      return out;
    };
    const before = await cost();
    // 2,000 customers of a stranger holding private-use characters (the old scope tokens among them) and the same words.
    const stranger = await newKey({ shard: 0 });
    const pua = (i: number) => String.fromCodePoint(0xe000 + (i % 6400), 0xe000 + (i % 7), 0xe000);
    await seed(stranger.accountId, 2_000, (i) => ({ email: `smith${i}@scope.example`, name: `Smith ${pua(i)}\uf8ff\uf8ff\uf8ff ${pua(i + 1)}`, metadata: { t: pua(i).repeat(50) } }));
    expect(await cost()).toEqual(before);
    await expectIndexMatchesCustomers(env.DB, "shard 0");
  });
});

describe("customers written before the index", () => {
  it("are found while the backfill indexes them, writes beside it included, and the index ends as the customers are", async () => {
    const { key, accountId } = await newKey({ shard: 0 });
    await seed(accountId, 1_200, (i) => ({ email: `old${i}@backfill.example`, name: `Old Timer ${i}` }));
    // As migration 0009 leaves a shard that held customers: an index without them, and the mark above them.
    await env.DB.batch([
      env.DB.prepare("INSERT INTO customer_search (customer_search) VALUES ('delete-all')"),
      env.DB.prepare("INSERT INTO search_backfill (id, below) SELECT 1, max(rowid) + 1 FROM customers"),
    ]);
    const fresh = await createCustomer(key, { email: "new@backfill.example", name: "Old Timer New" });
    const queries = ['name~"timer 11"', 'email~"backfill.example" AND name~"new"', 'name~"timer" OR createdAt<"2026-01-01T00:03:00Z"'];
    for (const q of queries) expect((await walk(key, q)).ids, q).toEqual(await filtered(accountId, q));
    // Writes below the mark while it moves: an update, an erasure; then the job runs until nothing is left.
    const old = (await env.DB.prepare("SELECT id FROM customers WHERE account_id = ? AND email = 'old5@backfill.example'").bind(accountId).first<{ id: string }>())!.id;
    const gone = (await env.DB.prepare("SELECT id FROM customers WHERE account_id = ? AND email = 'old6@backfill.example'").bind(accountId).first<{ id: string }>())!.id;
    expect((await call(`/v1/customers/${old}`, { key, method: "PATCH", json: { name: "Renamed Elsewhere" } })).status).toBe(200);
    expect((await call(`/v1/customers/${gone}`, { key, method: "DELETE" })).status).toBe(204);
    for (let i = 0; (await env.DB.prepare("SELECT 1 FROM search_backfill").first()) !== null; i++) {
      expect(i, "the backfill ends").toBeLessThan(100);
      await backfillSearch(env, 1, 2_000); // a part at a time, so writes and searches meet the mark between its parts
      for (const q of [...queries, 'name~"renamed"']) expect((await walk(key, q)).ids, q).toEqual(await filtered(accountId, q));
    }
    expect((await walk(key, 'name~"renamed"')).ids).toEqual([old]);
    expect((await walk(key, 'name~"new"')).ids).toEqual([fresh.id]);
    await expectIndexMatchesCustomers(env.DB, "shard 0 after the backfill");
  });
});
