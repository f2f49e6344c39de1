// `npm run account:move -- --account <id> --to <shard> [--remote]`: moves an account's rows to another shard.
//
//  1. mark every key record of the account `moving` (the Worker then refuses its writes with 503 + Retry-After;
//     reads keep working) and wait until no isolate can still hold an unmarked record;
//  2. copy every row of the account to the target (after clearing what an earlier attempt left there);
//  3. verify counts and a checksum per table, source against target (a mismatch stops here, unmarked: the source
//     still serves the account);
//  4. flip every key record to the target shard, unmarked, and wait again (isolates still caching the old record
//     read from the source, which is still complete, and refuse writes);
//  5. delete the account's rows everywhere but the target.
// Interrupted before 4, the source is the one complete copy the keys name; after 4, the target is. Run it again.
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { shardBinding } from "../src/lib/shards";
import { listKeys, updateKeys } from "./keys";
import { configuredShards, execute, literal, queryEach, type Row } from "./shards";
import { cli, targetFrom, targetOptions, type Target } from "./wrangler";

const USAGE = `Usage: npm run account:move -- --account <id> --to <shard> [--remote [--env staging|production]] [--persist-to <dir>] [--settle <seconds>]

Moves every row of the account to shard <shard> (0 is DB, 1 is DB_1, ...) and points its API keys there. Writes of the
account get 503 + Retry-After while it runs; reads keep working. --settle is how long to wait for API-key caches
(default: 130 s with --remote, KV's cacheTtl plus the isolate cache; 65 s locally). Safe to run again after a failure.`;

/** Every table holding account data, with how to select one account's rows, a stable order and the primary key. */
const TABLES: { name: string; where: (account: string) => string; order: string; key: string[] }[] = [
  { name: "customers", where: (a) => `account_id = ${a}`, order: "id", key: ["id"] },
  { name: "customer_tombstones", where: (a) => `account_id = ${a}`, order: "id", key: ["id"] },
  { name: "idempotency_keys", where: (a) => `account_id = ${a}`, order: "testmode, key", key: ["account_id", "testmode", "key"] },
  { name: "webhook_endpoints", where: (a) => `account_id = ${a}`, order: "id", key: ["id"] },
  { name: "webhook_events", where: (a) => `account_id = ${a}`, order: "id", key: ["id"] },
  { name: "webhook_attempts", where: (a) => `event_id IN (SELECT id FROM webhook_events WHERE account_id = ${a})`, order: "event_id, attempt", key: ["event_id", "attempt"] },
];

/** Every row of the account on a shard, table by table (one wrangler call). */
const rowsOf = (shard: number, account: string, target: Target) =>
  queryEach(shard, TABLES.map((t) => `SELECT * FROM ${t.name} WHERE ${t.where(literal(account))} ORDER BY ${t.order}`), target);
const checksum = (rows: Row[]) => createHash("sha256").update(JSON.stringify(rows)).digest("hex");
/**
 * D1 refuses a statement longer than 100,000 bytes (SQLITE_TOOBIG), and a customer's metadata alone may take about
 * 110 KB. A longer text is inserted as its first piece, then appended piece by piece: 10,000 code points are at most
 * 80 KB as a literal (a text with a NUL is written as hex, twice its UTF-8 bytes), and a piece never splits one.
 */
const PIECE = 10_000;
export function insertStatements(table: (typeof TABLES)[number], row: Row): string[] {
  const first: Row = {};
  const appends: string[] = [];
  const where = table.key.map((column) => `${column} = ${literal(row[column]!)}`).join(" AND ");
  for (const [column, value] of Object.entries(row)) {
    const codePoints = typeof value === "string" && value.length > PIECE ? Array.from(value) : [];
    if (codePoints.length <= PIECE) {
      first[column] = value;
      continue;
    }
    first[column] = codePoints.slice(0, PIECE).join("");
    for (let at = PIECE; at < codePoints.length; at += PIECE) {
      appends.push(`UPDATE ${table.name} SET ${column} = ${column} || ${literal(codePoints.slice(at, at + PIECE).join(""))} WHERE ${where};`);
    }
  }
  return [`INSERT INTO ${table.name} (${Object.keys(first).join(", ")}) VALUES (${Object.values(first).map(literal).join(", ")});`, ...appends];
}
export const tableNamed = (name: string) => TABLES.find((t) => t.name === name)!;
/** Deletes in dependency order: attempts name events of the account. */
const deleteAll = (account: string) => [...TABLES].reverse().map((t) => `DELETE FROM ${t.name} WHERE ${t.where(literal(account))};`);
const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

export async function moveAccount(account: string, to: number, target: Target, settleSeconds: number, log = console.log): Promise<void> {
  const shards = configuredShards();
  if (!shards.includes(to)) throw new Error(`--to ${to} is not a configured shard (${shards.join(", ")})`);
  const keys = listKeys(account, target);
  if (keys.length === 0) throw new Error(`No keys for account ${account}: nothing routes to it.`);
  const from = new Set(keys.map((k) => k.shard ?? 0));
  if (from.size > 1) throw new Error(`The keys of ${account} name several shards (${[...from].join(", ")}); fix them before moving.`);
  const source = [...from][0]!;

  if (source !== to) {
    log(`Marking ${keys.length} key(s) of ${account} as moving; waiting ${settleSeconds} s for key caches.`);
    updateKeys(account, target, (k) => ({ ...k, moving: true }));
    await sleep(settleSeconds);

    log(`Copying ${account} from ${shardBinding(source)} to ${shardBinding(to)}.`);
    try {
      const copied = rowsOf(source, account, target);
      execute(to, [...deleteAll(account), ...TABLES.flatMap((table, i) => copied[i]!.flatMap((row) => insertStatements(table, row)))], target);

      const landed = rowsOf(to, account, target);
      for (const [i, table] of TABLES.entries()) {
        const rows = copied[i]!;
        const there = landed[i]!;
        if (there.length !== rows.length || checksum(there) !== checksum(rows)) {
          throw new Error(`Verification failed for ${table.name} (${rows.length} rows on ${shardBinding(source)}, ${there.length} on ${shardBinding(to)}); nothing was moved.`);
        }
        log(`  ${table.name}: ${rows.length} rows, checksum ${checksum(rows).slice(0, 12)} on both`);
      }
    } catch (err) {
      // Whatever failed (the copy, a refused statement, the verification): the source stays the one copy, writable.
      execute(to, deleteAll(account), target);
      updateKeys(account, target, ({ moving: _, ...k }) => k);
      throw err;
    }

    updateKeys(account, target, ({ moving: _, ...k }) => ({ ...k, shard: to }));
    log(`Keys now name ${shardBinding(to)}; waiting ${settleSeconds} s before removing the old copy.`);
    await sleep(settleSeconds);
  }

  for (const shard of shards.filter((s) => s !== to)) {
    const left = rowsOf(shard, account, target).reduce((n, rows) => n + rows.length, 0);
    if (left === 0) continue;
    execute(shard, deleteAll(account), target);
    log(`Removed ${left} rows of ${account} from ${shardBinding(shard)}.`);
  }
  log(`${account} is served from ${shardBinding(to)}.`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = cli(USAGE, { account: { type: "string" }, to: { type: "string" }, settle: { type: "string" }, ...targetOptions });
  const to = Number(values.to);
  if (!values.account || !Number.isInteger(to)) {
    console.error(USAGE);
    process.exit(2);
  }
  const target: Target = targetFrom(values);
  moveAccount(values.account, to, target, values.settle === undefined ? (target.remote ? 130 : 65) : Number(values.settle)).catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
