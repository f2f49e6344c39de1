// `npm run account:move -- --account <id> --to <shard>`: starts the AccountMove Workflow (src/moves/workflow.ts) with
// `wrangler workflows trigger`, then follows it from the move record on the source shard until it is done. The copy
// runs inside Cloudflare (or inside `npm run dev` locally), never through this machine. Started again on an
// interrupted move, it resumes it (the Workflow keeps its state in D1). `--status` shows a move and exits.
import { fileURLToPath } from "node:url";
import { shardBinding } from "../src/lib/shards";
import { configuredShards, query, type Row } from "./shards";
import { cli, targetFrom, targetOptions, wrangler, type Target } from "./wrangler";

const USAGE = `Usage: npm run account:move -- --account <id> --to <shard> [--remote [--env staging|production]] [--port <port>] [--settle <seconds>]
       npm run account:move -- --account <id> --status [--remote [--env staging|production]]

Moves every row of the account to shard <shard> (0 is DB, 1 is DB_1, ...) while it stays writable: a Workflow copies
it inside Cloudflare, catches up the writes made meanwhile, and refuses writes (503, Retry-After: 1) only during the
cutover, which is measured. Locally it needs \`npm run dev\` running (--port, default $PORT or 8787). Run it again to
resume an interrupted move. --settle: seconds the Workflow lets key caches settle before it re-checks revocations
(default 70).`;

interface Move extends Row {
  account_id: string;
  target_shard: number;
  state: string;
  phase: string;
  copied: number;
  total: number;
  started_at: number;
  cutover_at: number | null;
  moved_at: number | null;
  finished_at: number | null;
}

/** The account's move record on each shard that has one. */
export function moveRecords(accountId: string, target: Target): { shard: number; move: Move }[] {
  return configuredShards().flatMap((shard) =>
    (query(shard, `SELECT * FROM account_moves WHERE account_id = '${accountId.replaceAll("'", "''")}'`, target) as Move[]).map((move) => ({ shard, move })));
}

export function describeMove({ shard, move }: { shard: number; move: Move }): string {
  const refused = move.cutover_at !== null ? `${(((move.moved_at ?? Date.now()) - move.cutover_at) / 1000).toFixed(2)} s of refused writes` : "no write refused yet";
  return `${move.account_id}: ${shardBinding(shard)} → ${shardBinding(move.target_shard)}, ${move.phase} (${move.state}), ${move.copied} of ${move.total}+ rows copied, ${refused}`;
}

function progressLine(move: Move): string {
  const share = move.total > 0 ? Math.min(1, move.copied / move.total) : 1;
  const bar = `${"#".repeat(Math.round(share * 30))}${".".repeat(30 - Math.round(share * 30))}`;
  const refused = move.cutover_at !== null ? ((move.moved_at ?? Date.now()) - move.cutover_at) / 1000 : 0;
  return `[${bar}] ${move.phase.padEnd(12)} ${move.copied}/${move.total} rows  refused writes ${refused.toFixed(2)} s`;
}

/** Starts the Workflow (a new instance; it resumes whatever an earlier one left), by wrangler's workflows command. */
export function startMove(accountId: string, to: number, target: Target & { port?: string; settle?: number }): string {
  const name = target.remote && target.env ? `account-move-${target.env}` : "account-move";
  const params = JSON.stringify({ accountId, to, ...(target.settle === undefined ? {} : { settleSeconds: target.settle }) });
  const where = target.remote ? (target.env ? ["--env", target.env] : []) : ["--local", "--port", target.port ?? process.env.PORT ?? "8787"];
  return wrangler(["workflows", "trigger", name, params, ...where]);
}

/** Prints the progress of the account's move to `to` (one started, or resumed, since `since`) until it is done. */
export async function followMove(accountId: string, to: number, since: number, target: Target, print: (line: string) => void, pollMs = 1000): Promise<Move> {
  let last = "";
  for (;;) {
    const records = moveRecords(accountId, target).filter(({ move }) => move.target_shard === to && (move.finished_at === null || move.finished_at >= since));
    const current = records.sort((a, b) => b.move.started_at - a.move.started_at)[0];
    if (current) {
      const line = progressLine(current.move);
      if (line !== last) print(line);
      last = line;
      if (current.move.finished_at !== null) return current.move;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = cli(USAGE, { account: { type: "string" }, to: { type: "string" }, status: { type: "boolean" }, port: { type: "string" }, settle: { type: "string" }, ...targetOptions });
  const target = targetFrom(values);
  if (!values.account) {
    console.error(USAGE);
    process.exit(2);
  }
  try {
    if (values.status) {
      const records = moveRecords(values.account, target);
      console.log(records.length ? records.map(describeMove).join("\n") : `No move of ${values.account} on any shard.`);
      process.exit(0);
    }
    const to = Number(values.to);
    if (!Number.isInteger(to) || !configuredShards().includes(to)) {
      console.error(`--to must be one of the configured shards (${configuredShards().join(", ")}).\n\n${USAGE}`);
      process.exit(2);
    }
    const settle = values.settle === undefined ? undefined : Number(values.settle);
    const started = Date.now();
    startMove(values.account, to, { ...target, port: values.port, settle });
    console.log(`Started moving ${values.account} to ${shardBinding(to)}.`);
    const done = await followMove(values.account, to, started, target, (line) => console.log(line));
    const refused = done.moved_at !== null && done.cutover_at !== null ? (done.moved_at - done.cutover_at) / 1000 : 0;
    console.log(`${values.account} is served from ${shardBinding(to)}: ${done.copied} rows copied in ${((Date.now() - started) / 1000).toFixed(1)} s; writes were refused for ${refused.toFixed(2)} s.`);
  } catch (err) {
    const message = (err as Error).message;
    console.error(/ECONNREFUSED|fetch failed|connect/i.test(message) ? `Could not reach the local Worker: is \`npm run dev\` running (--port)?\n${message}` : message);
    process.exit(1);
  }
}
