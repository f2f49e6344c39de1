// `--search`: customer search at 1,000 and 200,000 customers per account (BENCH_SEARCH_SIZES to change them), with
// five planted customers the queries find. For each clause kind: the rows D1 reads (meta.rows_read) and the time of
// the one statement, side by side; then what the search index costs a write: rows written by a create and an update
// with the index's triggers and without them (the index is SQL only: the handlers' own CPU does not change).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getPlatformProxy } from "wrangler";
import { parseSearchQuery } from "../../src/customers/search-query";
import { searchStatement } from "../../src/customers/search.repository";
import { ACCOUNT, prepareState, seed } from "../shared/data";
import { OUT, ROOT, wrangler } from "../shared/processes";
import { f, machine, writeResults } from "../shared/report";

const SIZES = (process.env.BENCH_SEARCH_SIZES ?? "1000,200000").split(",").map(Number);
const QUERIES: [string, string][] = [
  ["exact email", 'email:"needle-3@zeta-corp.example"'],
  ["exact name", 'name:"Needle Person 3"'],
  ["metadata pair", 'metadata["crm_id"]:"NEEDLE-3"'],
  ["email substring", 'email~"zeta-corp"'],
  ["name substring", 'name~"needle"'],
  ["createdAt range", 'createdAt<"2021-01-01T00:00:00Z"'],
  ["AND of two", 'email~"zeta" AND metadata["crm_id"]:"NEEDLE-3"'],
  ["OR of two", 'name:"Needle Person 1" OR name:"Needle Person 2"'],
];
const REPEAT = 20;

/** Five customers every query above finds (some of them), planted among the seeded ones. */
function plant(persist: string) {
  const rows = [1, 2, 3, 4, 5].map((k) => `('cus_00Needle${k}aaaaaaaaaaaaa', '${ACCOUNT}', 1, 'needle-${k}@zeta-corp.example', 'Needle Person ${k}', '{"crm_id":"NEEDLE-${k}"}', '2020-01-0${k}T00:00:00Z')`);
  const file = join(OUT, "plant.sql");
  writeFileSync(file, `INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at) VALUES ${rows.join(", ")};`);
  wrangler(ROOT, "d1", "execute", "DB", "--local", "--persist-to", persist, "--file", file);
}

export async function searchRun() {
  const header = `${machine()}, search mode.`;
  console.log(header);
  const results = new Map<string, { rows: number; found: number; ms: number }[]>();
  const writes: string[] = [];
  for (const size of SIZES) {
    const persist = join(OUT, `search-${size}`);
    await prepareState(persist);
    seed(persist, size, Date.now() - size - 60_000);
    plant(persist);
    const proxy = await getPlatformProxy<{ DB: D1Database }>({ configPath: join(ROOT, "wrangler.toml"), persist: { path: join(persist, "v3") } });
    try {
      const db = proxy.env.DB;
      for (const [name, text] of QUERIES) {
        const statement = () => searchStatement(db, { accountId: ACCOUNT, testmode: true }, parseSearchQuery(text), null, 10);
        const first = await statement().all();
        const started = performance.now();
        for (let i = 0; i < REPEAT; i++) await statement().all();
        const ms = (performance.now() - started) / REPEAT;
        results.set(name, [...(results.get(name) ?? []), { rows: first.meta.rows_read, found: first.results.length, ms }]);
      }
      if (size === SIZES[0]) {
        // What the index costs a write: the same create and update, with the index's triggers and without them.
        const write = async (tag: string) => {
          const id = `cus_00Write${tag}aaaaaaaaaaaaaa`.slice(0, 26);
          const insert = await db.prepare("INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at, etag) VALUES (?, ?, 1, ?, 'Grace Hopper', '{\"plan\":\"pro\",\"crm_id\":\"G-7\"}', '2026-11-30T00:00:00Z', 'e')")
            .bind(id, ACCOUNT, `grace.${tag}@navy.example`).run();
          const update = await db.prepare("UPDATE customers SET name = 'Grace B. Hopper', metadata = '{\"plan\":\"team\",\"crm_id\":\"G-7\"}' WHERE id = ?").bind(id).run();
          return { insert: insert.meta.rows_written, update: update.meta.rows_written };
        };
        const withIndex = await write("withindex");
        for (const t of ["insert", "update_email", "update_name", "update_metadata", "delete"]) await db.prepare(`DROP TRIGGER search_customers_${t}`).run();
        const without = await write("noindex");
        writes.push(
          `| create (email of 26 characters, a name, two metadata pairs) | ${without.insert} | ${withIndex.insert} |`,
          `| update (name and one metadata value) | ${without.update} | ${withIndex.update} |`,
        );
      }
    } finally {
      await proxy.dispose();
    }
  }
  const table = [
    "## Customer search: rows read and time per clause kind",
    "",
    `Accounts of ${SIZES.map((s) => s.toLocaleString("en")).join(" and ")} customers (plus five planted ones the queries find), each search the Worker's own statement (\`searchStatement\`) on local D1 in one process, first page of 10, ${REPEAT} runs for the time. rows read is D1's \`meta.rows_read\`.`,
    "",
    `| clause | found | ${SIZES.map((s) => `rows read at ${s.toLocaleString("en")}`).join(" | ")} | ${SIZES.map((s) => `ms at ${s.toLocaleString("en")}`).join(" | ")} |`,
    `| --- | ---: | ${SIZES.map(() => "---:").join(" | ")} | ${SIZES.map(() => "---:").join(" | ")} |`,
    ...QUERIES.map(([name, text]) => {
      const r = results.get(name)!;
      return `| ${name} \`${text.replaceAll("|", "\\|")}\` | ${r[0]!.found} | ${r.map((x) => x.rows).join(" | ")} | ${r.map((x) => f(x.ms, 2)).join(" | ")} |`;
    }),
    "",
    "What the index costs a write (D1's `meta.rows_written` of the customers statement alone; the event and idempotency rows of a real write come on top). The handlers' own CPU is unchanged: the index rows are written by SQL triggers in the write's own batch.",
    "",
    "| write | rows written without the search index | with it |",
    "| --- | ---: | ---: |",
    ...writes,
  ];
  console.log(table.join("\n"));
  writeResults("<!-- search -->", [header, "", ...table]);
}
