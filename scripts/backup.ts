// `npm run db:export` and `npm run db:restore`: a shard's every real table, row by row, and back into an empty shard.
// `wrangler d1 export` refuses a database with a virtual table (the FTS5 search index, migrations/0007), so this is
// the shard's backup: the index is not exported, it is rebuilt by the customers table's own triggers as the rows are
// restored (search_scopes, the index's numbering, likewise). For point-in-time recovery of a remote shard, D1 Time
// Travel (`wrangler d1 time-travel restore`) needs no export at all.
import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { shardBinding } from "../src/lib/shards";
import { closeLocal, openLocal } from "./local";
import { configuredShards, execute, literal, query, type Row } from "./shards";
import { cli, fail, targetFrom, targetOptions, type Target } from "./wrangler";

const USAGE = `Usage: npm run db:export -- --shard <n> --output <file> [--remote [--env staging|production]] [--persist-to <dir>]
       npm run db:restore -- --shard <n> --input <file> [--remote [--env staging|production]] [--persist-to <dir>]

db:export writes every row of every real table of shard <n> (0 is DB, 1 is DB_1, ...) to <file>, one JSON line per
row. The search index is not in it: db:restore, into a shard with the migrations applied and no rows, inserts the
rows and the customers table's triggers rebuild the index. Locally the shards of npm run dev (.wrangler/state).`;

/** Derived or internal: rebuilt by the triggers, kept by D1, or the migrations' own record. */
const SKIPPED = /^(sqlite_|_cf_|d1_migrations$|customer_search|search_scopes$)/;
/** Restored last: a move's records and change log (their triggers must not see the rows arrive as changes). */
const LAST = ["account_moves", "account_move_fence", "account_changes"];
const PAGE = 200;
/** Text longer than this is written in pieces (a D1 statement is at most 100 KB). */
const PIECE = 40_000;

interface Shard { all(sql: string, ...params: unknown[]): Promise<Row[]>; run(statements: { sql: string; params: unknown[] }[]): Promise<void> }

async function open(shard: number, target: Target): Promise<Shard> {
  if (target.remote) {
    return {
      all: async (sql, ...params) => query(shard, params.reduce<string>((s, p) => s.replace("?", literal(p as string | number | null)), sql), target),
      run: async (statements) => execute(shard, statements.map((s) => `${s.params.reduce<string>((q, p) => q.replace("?", literal(p as string | number | null)), s.sql)};`), target),
    };
  }
  const db = (await openLocal(target.persistTo)).db(shard);
  return {
    all: async (sql, ...params) => (await db.prepare(sql).bind(...params).all<Row>()).results,
    run: async (statements) => void (await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)))),
  };
}

async function tables(db: Shard): Promise<string[]> {
  const names = (await db.all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")).map((r) => String(r.name)).filter((n) => !SKIPPED.test(n));
  return [...names.filter((n) => !LAST.includes(n)), ...LAST.filter((n) => names.includes(n))];
}

export async function exportShard(shard: number, file: string, target: Target): Promise<number> {
  const db = await open(shard, target);
  const out = createWriteStream(file);
  let rows = 0;
  for (const table of await tables(db)) {
    for (let after = -Infinity; ;) {
      const page = await db.all(`SELECT rowid AS _rowid, * FROM "${table}" WHERE rowid > ? ORDER BY rowid LIMIT ${PAGE}`, after === -Infinity ? -9007199254740991 : after);
      for (const { _rowid, ...row } of page) out.write(`${JSON.stringify({ table, row })}\n`);
      rows += page.length;
      if (page.length < PAGE) break;
      after = Number(page.at(-1)!._rowid);
    }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return rows;
}

/** The statements that insert a row: long texts first empty, then appended piece by piece. */
function inserts(table: string, row: Row) {
  const columns = Object.keys(row);
  const short = columns.map((c) => (typeof row[c] === "string" && (row[c] as string).length > PIECE ? "" : row[c]));
  const statements = [{ sql: `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`, params: short }];
  for (const c of columns.filter((c) => typeof row[c] === "string" && (row[c] as string).length > PIECE)) {
    const text = row[c] as string;
    for (let i = 0; i < text.length; i += PIECE) {
      statements.push({ sql: `UPDATE "${table}" SET "${c}" = "${c}" || ? WHERE rowid = (SELECT max(rowid) FROM "${table}")`, params: [text.slice(i, i + PIECE)] });
    }
  }
  return statements;
}

export async function restoreShard(shard: number, file: string, target: Target): Promise<number> {
  const db = await open(shard, target);
  const held = await db.all("SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM webhook_events) + (SELECT count(*) FROM account_moves) AS n");
  if (Number(held[0]?.n ?? 0) > 0) throw new Error(`${shardBinding(shard)} is not empty: restore into a shard with the migrations applied and no rows.`);
  let batch: { sql: string; params: unknown[] }[] = [];
  let rows = 0;
  for await (const line of createInterface({ input: createReadStream(file) })) {
    if (!line.trim()) continue;
    const { table, row } = JSON.parse(line) as { table: string; row: Row };
    batch.push(...inserts(table, row));
    rows++;
    if (batch.length >= 50) {
      await db.run(batch);
      batch = [];
    }
  }
  if (batch.length) await db.run(batch);
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = cli(USAGE, { shard: { type: "string" }, output: { type: "string" }, input: { type: "string" }, ...targetOptions }, rest);
  try {
    const shard = Number(values.shard);
    if (values.shard === undefined || !configuredShards().includes(shard)) throw new Error(`--shard must be one of the configured shards (${configuredShards().join(", ")}).`);
    const target = targetFrom(values);
    if (command === "export") {
      if (!values.output) throw new Error("--output <file> is required.");
      console.log(`Exported ${await exportShard(shard, values.output, target)} rows of ${shardBinding(shard)} to ${values.output} (the search index is rebuilt on restore).`);
    } else if (command === "restore") {
      if (!values.input) throw new Error("--input <file> is required.");
      console.log(`Restored ${await restoreShard(shard, values.input, target)} rows into ${shardBinding(shard)}; its search index was rebuilt by the triggers.`);
    } else {
      throw new Error("Use db:export or db:restore (--help shows the usage).");
    }
    await closeLocal();
  } catch (err) {
    fail(err);
  }
  process.exit(0);
}
