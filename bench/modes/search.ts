// `--search`: what the search index costs and what a search reads, the FTS5 index (migration 0007, "now") beside the
// trigram tables it replaced (0006, "before") and no index at all, in one run on the same local D1:
//  - rows written (meta.rows_written) by a create, an update of name, of email, and a delete of one customer;
//  - bytes per customer (SQLite's dbstat over the shard's file) after BENCH_SEARCH_REALISTIC realistic customers;
//  - rows read and time per clause kind at BENCH_SEARCH_SIZES customers, with a neighbour account of the same size
//    on the shard, and with a searcher of the first size beside a neighbour of the last (the noisy neighbour);
//  - every page of a broad match walked to the end, against the plain list's walk of the same customers;
//  - the time of migration 0007's backfill statement on the largest shard (D1 allows 30 s per statement).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { getPlatformProxy } from "wrangler";
import { parseSearchQuery } from "../../src/customers/search-query";
import { BACKFILL_ROWS, backfillSearchIndex, searchCustomers, type SearchCursor } from "../../src/customers/search.repository";
import { ACCOUNT, prepareState } from "../shared/data";
import { OUT, ROOT, wrangler } from "../shared/processes";
import { f, machine, writeResults } from "../shared/report";

const SIZES = (process.env.BENCH_SEARCH_SIZES ?? "1000,200000").split(",").map(Number);
const REALISTIC = Number(process.env.BENCH_SEARCH_REALISTIC ?? 20_000);
const NEIGHBOUR = "acct_neighbour";
const QUERIES: [string, string][] = [
  ["exact email", 'email:"needle-3@zeta-corp.example"'],
  ["exact name", 'name:"Needle Person 3"'],
  ["metadata pair", 'metadata["crm_id"]:"NEEDLE-3"'],
  ["email substring", 'email~"zeta-corp"'],
  ["name substring", 'name~"needle"'],
  ["substring nobody holds (a typo)", 'email~"zeta-crop"'],
  ["createdAt range", 'createdAt<"2021-01-01T00:00:00Z"'],
  ["AND of two", 'email~"zeta" AND metadata["crm_id"]:"NEEDLE-3"'],
  ["OR of ten", Array.from({ length: 10 }, (_, i) => `name:"Needle Person ${i + 1}"`).join(" OR ")],
];
const REPEAT = 10;
const FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis", "Åsa", "Zoë"];
const LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie", "Öberg"];
const PLANS = ["free", "pro", "team", "enterprise"];

/** `count` realistic customers of an account (name, email at a company, two metadata pairs), oldest first. */
function seedRealistic(persist: string, binding: string, account: string, count: number, startMs: number) {
  const file = join(OUT, `seed-${account}.sql`);
  for (let from = 0; from < count; from += 20_000) {
    const lines: string[] = [];
    for (let chunk = from; chunk < Math.min(count, from + 20_000); chunk += 400) {
      const values: string[] = [];
      for (let i = chunk; i < Math.min(count, from + 20_000, chunk + 400); i++) {
        const first = FIRST[i % FIRST.length]!;
        const last = LAST[(i * 7) % LAST.length]!;
        const ms = startMs + i;
        const id = `cus_${ms.toString(36).padStart(9, "0")}${account.slice(-4)}${String(i).padStart(9, "0")}`.slice(0, 26);
        const email = `${first}.${last}${i}@company${i % 500}.example`.toLowerCase().normalize("NFD").replace(/[^\x20-\x7e]/g, "");
        const metadata = JSON.stringify({ plan: PLANS[i % PLANS.length], crm_id: `CRM-${i}` });
        const created = new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
        values.push(`('${id}','${account}',1,'${email}','${first} ${last}','${metadata}','${created}','e')`);
      }
      lines.push(`INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at, etag) VALUES ${values.join(",")};`);
    }
    writeFileSync(file, lines.join("\n"));
    wrangler(ROOT, "d1", "execute", binding, "--local", "--persist-to", persist, "--file", file);
  }
}

/** Five customers every query above finds (some of them), planted among the seeded ones. */
function plant(persist: string) {
  const rows = Array.from({ length: 10 }, (_, j) => j + 1).map((k) => `('cus_00Needle${String(k).padStart(2, "0")}aaaaaaaaaaaa', '${ACCOUNT}', 1, 'needle-${k}@zeta-corp.example', 'Needle Person ${k}', '{"crm_id":"NEEDLE-${k}"}', '2020-01-0${k % 10}T00:00:00Z', 'e')`);
  const file = join(OUT, "plant.sql");
  writeFileSync(file, `INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at, etag) VALUES ${rows.join(", ")};`);
  wrangler(ROOT, "d1", "execute", "DB", "--local", "--persist-to", persist, "--file", file);
}

/** The 0006 design on a shard (its tables and triggers, 0007's dropped), for "before". */
function toBefore(persist: string, binding: string) {
  const file = join(OUT, "before.sql");
  const old = readFileSync(join(ROOT, "migrations/0006_customer_search.sql"), "utf8").replaceAll("--> statement-breakpoint", "").replace(/CREATE INDEX `customers_scope_created_at`[^;]*;/, "");
  writeFileSync(file, ["DROP TRIGGER search_customers_insert;", "DROP TRIGGER search_customers_update;", "DROP TRIGGER search_customers_delete;", old].join("\n"));
  wrangler(ROOT, "d1", "execute", binding, "--local", "--persist-to", persist, "--file", file);
}

/** Bytes per table and index of a shard's file (dbstat), for the shard whose file holds `marker`'s customers. */
function bytesOf(persist: string, account: string) {
  const dir = join(persist, "v3/d1/miniflare-D1DatabaseObject");
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".sqlite"))) {
    const db = new DatabaseSync(join(dir, name), { readOnly: true });
    try {
      if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'customers'").get()) continue;
      if (!db.prepare("SELECT 1 FROM customers WHERE account_id = ? LIMIT 1").get(account)) continue;
      const rows = db.prepare("SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name").all() as { name: string; bytes: number }[];
      const owners = db.prepare("SELECT name, tbl_name FROM sqlite_master").all() as { name: string; tbl_name: string }[];
      const table = new Map(owners.map((o) => [o.name, o.tbl_name]));
      const sum = (pick: (t: string, n: string) => boolean) => rows.filter((r) => pick(table.get(r.name) ?? r.name, r.name)).reduce((s, r) => s + r.bytes, 0);
      // The search's own b-tree indexes on customers (0006's name index, 0007's account-in-rowid-order) count as index.
      const own = (n: string) => n === "customers_scope_name" || n === "customers_scope_rowid";
      const customer = sum((t, n) => t === "customers" && !own(n));
      const index = sum((t, n) => /^(customer_search|search_scopes|customer_trigram|customer_metadata|search_positions)/.test(t) || own(n));
      return { customer, index };
    } finally {
      db.close();
    }
  }
  throw new Error(`no shard file holds ${account}`);
}

async function proxyOf(persist: string) {
  return getPlatformProxy<{ DB: D1Database; DB_1: D1Database }>({ configPath: join(ROOT, "wrangler.toml"), persist: { path: join(persist, "v3") } });
}

/** Rows written by each write kind, on a shard as it is configured now. */
async function writeCosts(db: D1Database, tag: string) {
  const id = `cus_00Write${tag}aaaaaaaaaaaaaa`.slice(0, 26);
  const w = async (sql: string, ...params: unknown[]) => (await db.prepare(sql).bind(...params).run()).meta.rows_written;
  return {
    create: await w("INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at, etag) VALUES (?, ?, 1, ?, 'Grace Hopper', '{\"plan\":\"pro\"}', '2026-11-30T00:00:00Z', 'e')", id, ACCOUNT, `grace.${tag}@navy.example`),
    name: await w("UPDATE customers SET name = 'Grace B. Hopper' WHERE id = ?", id),
    email: await w("UPDATE customers SET email = ? WHERE id = ?", `grace.b.${tag}@navy.example`, id),
    delete: await w("DELETE FROM customers WHERE id = ?", id),
  };
}

/** What the same write's statement costs in time, median of `n` creates and deletes (µs). */
async function writeTime(db: D1Database, tag: string, n = 200) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = `cus_00Time${tag}${String(i).padStart(6, "0")}aaaaaaaa`.slice(0, 26);
    const started = performance.now();
    await db.prepare("INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at, etag) VALUES (?, ?, 1, ?, 'Grace Hopper', '{\"plan\":\"pro\"}', '2026-11-30T00:00:00Z', 'e')").bind(id, ACCOUNT, `t${i}.${tag}@navy.example`).run();
    times.push(performance.now() - started);
  }
  await db.prepare("DELETE FROM customers WHERE id LIKE ?").bind(`cus_00Time${tag}%`).run();
  return times.sort((a, b) => a - b)[Math.floor(n / 2)]! * 1000;
}

/** Every page of a query (limit 100), summed: rows read, pages, time; and the plain list's walk of the account. */
async function walk(db: D1Database, text: string) {
  let rows = 0;
  let pages = 0;
  const started = performance.now();
  for (let after: SearchCursor | null = null; ;) {
    const page = await searchCustomers(db, { accountId: ACCOUNT, testmode: true }, parseSearchQuery(text), after, 100);
    rows += page.rowsRead;
    pages++;
    // As the route's links.next: after the last row shown, or where a page that ran out of calls stopped.
    const last = page.rows[99];
    const next: SearchCursor | null = last ? { rid: last.rid, createdAt: last.createdAt, seen: ((after as SearchCursor | null)?.seen ?? 0) + 100 } : page.stopped;
    if (!next) break;
    after = next;
  }
  return { rows, pages, ms: performance.now() - started };
}

async function plainWalk(db: D1Database) {
  let rows = 0;
  const started = performance.now();
  for (let before = "cus_zzzzzzzzzzzzzzzzzzzzzz"; ;) {
    const page = await db.prepare("SELECT id, testmode, email, name, metadata, created_at, etag FROM customers WHERE account_id = ? AND testmode = 1 AND id < ? ORDER BY id DESC LIMIT 101").bind(ACCOUNT, before).all<{ id: string }>();
    rows += page.meta.rows_read;
    if (page.results.length <= 100) break;
    before = page.results[99]!.id;
  }
  return { rows, ms: performance.now() - started };
}

async function perClause(db: D1Database) {
  const out = new Map<string, { rows: number; found: number; ms: number }>();
  for (const [name, text] of QUERIES) {
    const search = () => searchCustomers(db, { accountId: ACCOUNT, testmode: true }, parseSearchQuery(text), null, 10);
    const first = await search();
    const started = performance.now();
    for (let i = 0; i < REPEAT; i++) await search();
    out.set(name, { rows: first.rowsRead, found: first.rows.length, ms: (performance.now() - started) / REPEAT });
  }
  return out;
}

export async function searchRun() {
  const header = `${machine()}, search mode.`;
  console.log(header);
  const lines: string[] = [];

  // Write costs and bytes: DB has the FTS5 index, DB_1 the 0006 trigram tables ("before").
  const costs = join(OUT, "search-costs");
  await prepareState(costs);
  toBefore(costs, "DB_1");
  seedRealistic(costs, "DB", ACCOUNT, REALISTIC, Date.parse("2024-01-01"));
  seedRealistic(costs, "DB_1", "acct_before", REALISTIC, Date.parse("2024-01-01"));
  const now = bytesOf(costs, ACCOUNT);
  const before = bytesOf(costs, "acct_before");
  const proxy = await proxyOf(costs);
  let write: Record<string, Record<string, number>>;
  let time: Record<string, number>;
  try {
    const withFts = await writeCosts(proxy.env.DB, "now");
    const withTrigrams = await writeCosts(proxy.env.DB_1, "before");
    const ftsTime = await writeTime(proxy.env.DB, "now");
    const trigramTime = await writeTime(proxy.env.DB_1, "before");
    for (const t of ["insert", "update", "delete"]) await proxy.env.DB.prepare(`DROP TRIGGER search_customers_${t}`).run();
    await proxy.env.DB.prepare("DROP INDEX customers_scope_rowid").run();
    const none = await writeCosts(proxy.env.DB, "none");
    const noneTime = await writeTime(proxy.env.DB, "none");
    write = { none, before: withTrigrams, now: withFts };
    time = { none: noneTime, before: trigramTime, now: ftsTime };
  } finally {
    await proxy.dispose();
  }
  lines.push(
    "## What the search index costs a write and a customer",
    "",
    `D1's \`meta.rows_written\` of the customers statement alone (triggers included; the event and idempotency rows of a real write come on top), and bytes per customer from SQLite's \`dbstat\` after ${REALISTIC.toLocaleString("en")} realistic customers (name, company email, two metadata pairs). "before" is migration 0006 (trigram tables), "now" 0007 (FTS5).`,
    "",
    "| what | no index | before (0006) | now (0007) |",
    "| --- | ---: | ---: | ---: |",
    ...(["create", "name", "email", "delete"] as const).map((k) => `| rows written by ${k === "create" ? "a create" : k === "delete" ? "a delete" : `an update of ${k}`} | ${write.none![k]} | ${write.before![k]} | ${write.now![k]} |`),
    `| bytes per customer (table and its indexes; with the search index) | ${f(now.customer / REALISTIC)} | ${f((before.customer + before.index) / REALISTIC)} | ${f((now.customer + now.index) / REALISTIC)} |`,
    `| of which the search index | 0 | ${f(before.index / REALISTIC)} | ${f(now.index / REALISTIC)} |`,
    `| a create statement's own time, median of 200 (µs) | ${f(time.none!)} | ${f(time.before!)} (${f(time.before! / time.none!, 2)}x) | ${f(time.now!)} (${f(time.now! / time.none!, 2)}x) |`,
    "",
  );

  // Reads: each size with a neighbour of the same size; then the first size beside a neighbour of the last.
  const runs: { label: string; size: number; neighbour: number }[] = [
    ...SIZES.map((s) => ({ label: `${s.toLocaleString("en")} (neighbour ${s.toLocaleString("en")})`, size: s, neighbour: s })),
    { label: `${SIZES[0]!.toLocaleString("en")} beside a neighbour of ${SIZES.at(-1)!.toLocaleString("en")}`, size: SIZES[0]!, neighbour: SIZES.at(-1)! },
  ];
  const results: { label: string; clauses: Map<string, { rows: number; found: number; ms: number }>; broad: Awaited<ReturnType<typeof walk>>; plain: Awaited<ReturnType<typeof plainWalk>>; backfillMs?: number }[] = [];
  for (const run of runs) {
    const persist = join(OUT, `search-${run.size}-${run.neighbour}`);
    await prepareState(persist);
    seedRealistic(persist, "DB", ACCOUNT, run.size, Date.parse("2024-01-01"));
    seedRealistic(persist, "DB", NEIGHBOUR, run.neighbour, Date.parse("2024-01-01"));
    plant(persist);
    const p = await proxyOf(persist);
    try {
      const clauses = await perClause(p.env.DB);
      const broad = await walk(p.env.DB, 'email~"example"');
      const plain = await plainWalk(p.env.DB);
      let backfillMs: number | undefined;
      if (run.size === SIZES.at(-1) && run.neighbour === run.size) {
        // The backfill after migration 0009, timed on this shard: the index emptied, the mark set above every customer,
        // then the job's batches (backfillSearchIndex) until none is left; the slowest batch is what D1's 30 s bounds.
        await p.env.DB.batch([
          p.env.DB.prepare("INSERT INTO customer_search (customer_search) VALUES ('delete-all')"),
          p.env.DB.prepare("INSERT OR REPLACE INTO search_backfill (id, below) SELECT 1, max(rowid) + 1 FROM customers"),
        ]);
        backfillMs = 0;
        for (let more = true; more;) {
          const started = performance.now();
          more = (await backfillSearchIndex(p.env.DB as never)) !== null;
          backfillMs = Math.max(backfillMs, performance.now() - started);
        }
      }
      results.push({ label: run.label, clauses, broad, plain, backfillMs });
    } finally {
      await p.dispose();
    }
  }
  lines.push(
    "## Customer search: rows read and time per clause kind",
    "",
    `Realistic customers plus ten planted ones the queries find; a neighbour account on the same shard holds as many (or, last column, ${SIZES.at(-1)!.toLocaleString("en")}) sharing every trigram of "example". Each search is the Worker's own (\`searchCustomers\`: its statements and its exact check) on local D1 in one process, first page of 10, ${REPEAT} runs for the time. rows read is D1's \`meta.rows_read\`.`,
    "",
    `| clause | found | ${results.map((r) => `rows read at ${r.label}`).join(" | ")} | ${results.map((r) => `ms at ${r.label}`).join(" | ")} |`,
    `| --- | ---: | ${results.map(() => "---:").join(" | ")} | ${results.map(() => "---:").join(" | ")} |`,
    ...QUERIES.map(([name, text]) => `| ${name} \`${text.length > 60 ? `${text.slice(0, 57)}...` : text.replaceAll("|", "\\|")}\` | ${results[0]!.clauses.get(name)!.found} | ${results.map((r) => r.clauses.get(name)!.rows).join(" | ")} | ${results.map((r) => f(r.clauses.get(name)!.ms, 2)).join(" | ")} |`),
    "",
    "Every page (100 a page) of a match of the whole account, `email~\"example\"`, walked to the end, against the plain list's walk of the same customers:",
    "",
    "| account | pages | rows read by the search walk | by the list walk | ratio | search walk ms | list walk ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.map((r) => `| ${r.label} | ${r.broad.pages} | ${r.broad.rows} | ${r.plain.rows} | ${f(r.broad.rows / r.plain.rows, 2)}x | ${f(r.broad.ms)} | ${f(r.plain.ms)} |`),
    "",
    ...results.filter((r) => r.backfillMs !== undefined).map((r) => `The slowest batch of the search backfill (${BACKFILL_ROWS.toLocaleString("en")} rowids, migration 0009's job) on the shard of ${r.label} (${(SIZES.at(-1)! * 2 + 10).toLocaleString("en")} customers): ${f(r.backfillMs! / 1000, 2)} s (D1 allows 30 s per statement).`),
  );
  console.log(lines.join("\n"));
  writeResults("<!-- search -->", [header, "", ...lines]);
}
