// `npm run db:export` and `npm run db:restore`: a shard's every real table, row by row, and back into an empty shard.
// `wrangler d1 export` refuses a database with a virtual table (the FTS5 search index, migrations/0007), so this is
// the shard's backup: the index is not exported, it is rebuilt by the customers table's own triggers as the rows are
// restored (search_scopes, the index's numbering, likewise; search_backfill, a mark of the source's own index,
// is not carried over: the target indexes every row it restores). For point-in-time recovery of a remote shard, D1 Time
// Travel (`wrangler d1 time-travel restore`) needs no export at all.
import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { shardBinding } from "../src/lib/shards";
import { closeLocal, openLocal } from "./local";
import { d1Import, d1Query, shardDatabase } from "./cloudflare";
import { configuredShards, literal, type Row } from "./shards";
import { cli, fail, targetFrom, targetOptions, type Target } from "./wrangler";

const USAGE = `Usage: npm run db:export -- --shard <n> --output <file> [--remote [--env staging|production]] [--persist-to <dir>]
       npm run db:restore -- --shard <n> --input <file> [--remote [--env staging|production]] [--persist-to <dir>]

db:export writes every row of every real table of shard <n> (0 is DB, 1 is DB_1, ...) to <file>, one JSON line per
row. The search index is not in it: db:restore, into a shard with the migrations applied and no rows, inserts the
rows and the customers table's triggers rebuild the index. Locally the shards of npm run dev (.wrangler/state).`;

/** Derived or internal: rebuilt by the triggers, kept by D1, or the migrations' own record. */
const SKIPPED = /^(sqlite_|_cf_|d1_migrations$|customer_search|search_scopes$|search_backfill$)/;
/** Restored last: a move's records and change log (their triggers must not see the rows arrive as changes). */
const LAST = ["account_moves", "account_move_fence", "account_changes"];
const PAGE = 1000;
/** A D1 statement is at most 100,000 bytes: an insert is kept under this, its longest texts appended in pieces. */
const STATEMENT_BYTES = 90_000;
/** UTF-8 bytes of text per appended piece: as a literal at most twice that (quotes doubled, or hex for a NUL). */
const PIECE_BYTES = 40_000;

interface Shard { all(sql: string, ...params: unknown[]): Promise<Row[]>; run(statements: Statement[]): Promise<void>; flush(): Promise<void> }
type Statement = { sql: string; params: unknown[] };

/** A statement with its parameters written in as literals, each `?` replaced once, in order. */
export const spliced = ({ sql, params }: Statement) => sql.split("?").reduce((out, part, i) => out + literal(params[i - 1] as string | number | null) + part);

/** SQL sent to a remote shard per import: D1 applies each file whole or not at all, in three API requests. */
const IMPORT_BYTES = 8_000_000;

async function open(shard: number, target: Target): Promise<Shard> {
  if (target.remote) {
    // Queries with bound parameters (one API request a page) and imports of large files: a shard of 100,000
    // customers restores in a few dozen requests, far inside Cloudflare's 1,200 in 5 minutes.
    const { id } = shardDatabase(shard, target.env);
    let pending: string[] = [];
    let bytes = 0;
    const flush = async () => {
      if (pending.length) await d1Import(id, pending.join("\n"));
      pending = [];
      bytes = 0;
    };
    return {
      all: async (sql, ...params) => (await d1Query(id, sql, params)).results,
      run: async (statements) => {
        for (const s of statements) {
          const text = `${spliced(s)};`;
          pending.push(text);
          bytes += Buffer.byteLength(text, "utf8") + 1;
        }
        if (bytes >= IMPORT_BYTES) await flush();
      },
      flush,
    };
  }
  const db = (await openLocal(target.persistTo)).db(shard);
  return {
    all: async (sql, ...params) => (await db.prepare(sql).bind(...params).all<Row>()).results,
    run: async (statements) => void (await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)))),
    flush: async () => {},
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

const literalBytes = (value: unknown) => Buffer.byteLength(literal(value as string | number | null), "utf8");

/** A text cut into pieces of at most PIECE_BYTES UTF-8 bytes, between code points (never inside a surrogate pair). */
export function pieces(text: string): string[] {
  const out: string[] = [];
  let piece = "";
  let bytes = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, "utf8");
    if (bytes + size > PIECE_BYTES) {
      out.push(piece);
      piece = "";
      bytes = 0;
    }
    piece += ch;
    bytes += size;
  }
  return piece ? [...out, piece] : out;
}

/** The statements that insert a row, each under D1's 100,000 bytes: the longest texts first empty, then appended. */
export function inserts(table: string, row: Row): Statement[] {
  const columns = Object.keys(row);
  const sql = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;
  const sizes = new Map(columns.map((c) => [c, literalBytes(row[c])]));
  let size = Buffer.byteLength(sql, "utf8") + [...sizes.values()].reduce((n, b) => n + b, 0);
  const appended: string[] = [];
  for (const c of columns.filter((c) => typeof row[c] === "string").sort((a, b) => sizes.get(b)! - sizes.get(a)!)) {
    if (size <= STATEMENT_BYTES) break;
    appended.push(c);
    size -= sizes.get(c)! - 2;
  }
  const statements = [{ sql, params: columns.map((c) => (appended.includes(c) ? "" : row[c])) }];
  for (const c of appended) {
    for (const piece of pieces(row[c] as string)) {
      statements.push({ sql: `UPDATE "${table}" SET "${c}" = "${c}" || ? WHERE rowid = (SELECT max(rowid) FROM "${table}")`, params: [piece] });
    }
  }
  return statements;
}

export async function restoreShard(shard: number, file: string, target: Target): Promise<number> {
  const db = await open(shard, target);
  const held = await db.all("SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM webhook_events) + (SELECT count(*) FROM account_moves) AS n");
  if (Number(held[0]?.n ?? 0) > 0) throw new Error(`${shardBinding(shard)} is not empty: restore into a shard with the migrations applied and no rows.`);
  let batch: Statement[] = [];
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
  await db.flush();
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = cli(USAGE, { shard: { type: "string" }, output: { type: "string" }, input: { type: "string" }, ...targetOptions }, rest);
  try {
    const shard = Number(values.shard);
    if (values.shard === undefined || !configuredShards().includes(shard)) throw new Error(`--shard must be one of the configured shards (${configuredShards().join(", ")}).`);
    const target = targetFrom(values);
    const where = `${target.remote ? `remote${target.env ? ` ${target.env}` : ""}` : "local"} ${shardBinding(shard)}`;
    const named = (err: unknown) => new Error(`db:${command} of the ${where}: ${(err as Error).message}`);
    if (command === "export") {
      if (!values.output) throw new Error("--output <file> is required.");
      console.log(`Exported ${await exportShard(shard, values.output, target).catch((err) => { throw named(err); })} rows of ${shardBinding(shard)} to ${values.output} (the search index is rebuilt on restore; API keys live in KV and are not in it).`);
    } else if (command === "restore") {
      if (!values.input) throw new Error("--input <file> is required.");
      console.log(`Restored ${await restoreShard(shard, values.input, target).catch((err) => { throw named(err); })} rows into ${shardBinding(shard)}; its search index was rebuilt by the triggers.`);
    } else {
      throw new Error("Use db:export or db:restore (--help shows the usage).");
    }
    await closeLocal();
  } catch (err) {
    fail(err);
  }
  process.exit(0);
}
