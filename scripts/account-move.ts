// `npm run account:move -- --account <id> --to <shard>`: starts the AccountMove Workflow (src/moves/workflow.ts) with
// `wrangler workflows trigger`, then follows it from the move records on the shards until it is done. The copy runs
// inside Cloudflare (or inside `npm run dev` locally), never through this machine. Started again on an interrupted
// move, it resumes it; `--cancel` undoes an unfinished one; `--status` shows moves and exits.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { shardBinding } from "../src/lib/shards";
import { isUnfinishedSource, type MoveRecord } from "../src/moves/repository";
import { closeLocal, devPort, openLocal } from "./local";
import { configuredShards, remoteQuery } from "./shards";
import { cli, fail, targetFrom, targetOptions, type Target } from "./wrangler";

const USAGE = `Usage: npm run account:move -- --account <id> --to <shard> [--remote [--env staging|production]] [--port <port>] [--settle <seconds>]
       npm run account:move -- --account <id> --cancel [--remote [--env staging|production]] [--port <port>]
       npm run account:move -- [--account <id>] --status [--remote [--env staging|production]]

Moves every row of the account to shard <shard> (0 is DB, 1 is DB_1, ...) while it stays writable: a Workflow copies
it inside Cloudflare, checks every page on both shards, catches up the writes made meanwhile, and refuses writes (503,
Retry-After: 1) only during the cutover, under a lease of 5 s that the source ends by itself. Locally it needs
\`npm run dev\` running (--port, default ${devPort()}: where npm run dev serves now, else $PORT or 8787).
Run it again to resume an interrupted move (one whose Workflow died is taken over); --cancel undoes an unfinished move
before it has moved (after that, the way back is a move back). --status without --account lists every unfinished
move on every shard. --settle: seconds the Workflow lets key caches settle before it re-checks revocations (default 70).`;

type Move = MoveRecord & { shard: number };

/** A SELECT on a shard: the remote one through the REST API, the local one in this process. */
async function rowsOf(shard: number, sql: string, params: unknown[], target: Target): Promise<Record<string, unknown>[]> {
  if (target.remote) return remoteQuery(shard, sql, params, target);
  // Local D1 is SQLite that npm run dev writes too: a read that meets its lock is tried again, a little later each time.
  for (let attempt = 1; ; attempt++) {
    try {
      return (await (await openLocal(target.persistTo)).db(shard).prepare(sql).bind(...params).all()).results;
    } catch (err) {
      if (attempt === 8 || !/SQLITE_BUSY|database is locked/.test(String((err as Error).message))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/** The move records on every shard: the account's, or (no account) every unfinished one. */
export async function moveRecords(accountId: string | undefined, target: Target): Promise<Move[]> {
  const sql = `SELECT * FROM account_moves WHERE ${accountId === undefined ? "finished_at IS NULL" : "account_id = ?"} ORDER BY account_id`;
  const params = accountId === undefined ? [] : [accountId];
  const out: Move[] = [];
  for (const shard of configuredShards()) {
    const rows = await rowsOf(shard, sql, params, target);
    out.push(...(rows as unknown as MoveRecord[]).map((m) => ({ ...m, shard })));
  }
  return out;
}

/** Whether any shard holds rows of the account. */
async function holdsRows(accountId: string, target: Target): Promise<number[]> {
  const sql = "SELECT 1 AS x FROM customers WHERE account_id = ?1 UNION ALL SELECT 1 FROM webhook_endpoints WHERE account_id = ?1 LIMIT 1";
  const shards: number[] = [];
  for (const shard of configuredShards()) {
    const rows = await rowsOf(shard, sql, [accountId], target);
    if (rows.length) shards.push(shard);
  }
  return shards;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

export function describeMove(m: Move): string {
  if (m.state === "incoming" || m.state === "filling") {
    return `${m.account_id}: ${shardBinding(m.shard)} holds the copy being built for a move from ${shardBinding(m.source_shard ?? 0)} (${shardBinding(m.shard)} forwards the account's requests to ${shardBinding(m.source_shard ?? 0)} until the move commits)`;
  }
  const refused = m.cutover_at !== null ? `${seconds((m.moved_at ?? Date.now()) - m.cutover_at)} of refused writes` : "no write refused yet";
  const owner = m.owner ? `, Workflow instance ${m.owner}` : "";
  return `${m.account_id}: ${shardBinding(m.shard)} → ${shardBinding(m.target_shard)}, ${m.phase} (${m.state}), ${m.copied} rows copied of ${m.total} counted at the start (writes since then are caught up after the copy), ${refused}${owner}`;
}

/** The Workflow's name in the target environment, and where wrangler finds it. */
function workflow(target: Target & { port?: string }) {
  const name = target.remote && target.env ? `account-move-${target.env}` : "account-move";
  const where = target.remote ? (target.env ? ["--env", target.env] : []) : ["--local", "--port", target.port ?? devPort(target.persistTo)];
  return { name, where };
}

/** Runs wrangler without blocking the progress display; its output, or the error it printed. */
function wranglerAsync(args: string[]): Promise<{ ok: boolean; output: string; code?: number | null }> {
  return new Promise((resolve) => {
    const child = spawn("wrangler", args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" } });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.on("close", (code) => resolve({ ok: code === 0, output, code }));
    child.on("error", (err) => resolve({ ok: false, output: err.message }));
  });
}

/** Starts an instance of the Workflow with our own id. */
export async function startMove(params: object, target: Target & { port?: string }): Promise<string> {
  const { name, where } = workflow(target);
  const id = `move-${randomUUID()}`;
  const started = await wranglerAsync(["workflows", "trigger", name, JSON.stringify(params), "--id", id, ...where]);
  if (!started.ok) {
    const local = !target.remote && /ECONNREFUSED|fetch failed|connect|Could not/i.test(started.output);
    throw new Error(local ? `Could not reach npm run dev on port ${target.port ?? devPort(target.persistTo)}: start it first (or pass --port).` : `wrangler workflows trigger failed: ${started.output.split("\n").filter((l) => l.trim() && !/Logs were written|^[─⛅ ]/.test(l)).slice(-3).join(" ") || `no reason given (exit status ${started.code})`}`);
  }
  return id;
}

/** An instance's status and output, as wrangler describes it (null when wrangler could not say). */
async function instanceStatus(id: string, target: Target & { port?: string }): Promise<{ status: string; output?: { state?: string; reason?: string } } | null> {
  const { name, where } = workflow(target);
  const described = await wranglerAsync(["workflows", "instances", "describe", name, id, "--json", ...where]);
  if (!described.ok) return null;
  try {
    const json = JSON.parse(described.output.slice(described.output.indexOf("{"))) as { status?: string; output?: unknown };
    const output = typeof json.output === "string" ? JSON.parse(json.output) : json.output;
    return { status: String(json.status ?? ""), output: output as { state?: string; reason?: string } };
  } catch {
    return null;
  }
}

/**
 * Waits for an instance to end; its output (a refusal's reason, or what a cancel did). The records are read first
 * (cheap) until nothing of the account is in motion; only then is the instance asked (a wrangler process each time).
 */
async function finished(id: string, accountId: string, target: Target & { port?: string }): Promise<{ state: string; reason?: string; from?: number | null }> {
  const settled = (m: Move) => m.state === "moved" || !(isUnfinishedSource(m) || m.state === "incoming" || m.state === "filling");
  for (let i = 0; i < 120 && !(await moveRecords(accountId, target)).every(settled); i++) await new Promise((resolve) => setTimeout(resolve, 250));
  for (;;) {
    const status = await instanceStatus(id, target);
    if (status?.output?.state) return status.output as { state: string; reason?: string; from?: number | null };
    if (status && ["errored", "terminated"].includes(status.status)) return { state: status.status, reason: `The cancel's Workflow instance ${id} ${status.status}: run --cancel again.` };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Follows a move until it is done (or cancelled), printing the copy's pages as they go (rows, rows/s, ETA), then
 * each phase by name, the settle phase with its countdown. Returns when the records say it is over, or throws with
 * the Workflow's reason when it refused or stopped.
 */
async function follow(accountId: string, id: string, target: Target & { port?: string }, done: (records: Move[]) => boolean, print = (l: string) => console.log(l)) {
  const seen = new Map<string, number>();
  let last = "";
  let lastCopy = { at: Date.now(), copied: 0 };
  for (let tick = 0; ; tick++) {
    const records = await moveRecords(accountId, target);
    if (done(records)) return { records, seen };
    const source = records.find((m) => m.owner === id && m.state !== "incoming" && m.state !== "filling");
    if (source) {
      if (!seen.has(source.phase)) seen.set(source.phase, Date.now());
      let line = `${source.phase}`;
      if (source.phase === "copying") {
        const now = Date.now();
        const rate = now > lastCopy.at ? ((source.copied - lastCopy.copied) * 1000) / (now - lastCopy.at) : 0;
        if (source.copied !== lastCopy.copied) lastCopy = { at: now, copied: source.copied };
        const eta = rate > 0 ? ` ETA ${Math.max(0, Math.round((source.total - source.copied) / rate))} s` : "";
        line = `copying      ${source.copied}/${source.total} rows  ${Math.round(rate)} rows/s${eta}`;
      } else if (source.phase === "settling") {
        // A countdown on one line in a terminal; piped, the phase once.
        const left = process.stdout.isTTY ? `${Math.max(0, Math.ceil((source.heartbeat_at - Date.now()) / 1000))} s left` : `until ${new Date(source.heartbeat_at).toISOString().slice(11, 19)} UTC`;
        line = `settling     ${left}: key records may still be cached with ${shardBinding(source.shard)} (every request is forwarded meanwhile); then revocations are checked again`;
      } else if (source.phase === "cutover") {
        line = `cutover      writes refused (under a lease of at most 5 s) while the last changes are applied and checked`;
      }
      if (line !== last) {
        // The countdown rewrites its own line in a terminal; anything else starts a new one.
        const tty = process.stdout.isTTY === true;
        if (tty && source.phase === "settling") process.stdout.write(`\r\x1b[2K${line}`);
        else print(`${tty && last.startsWith("settling") ? "\n" : ""}${line}`);
      }
      last = line;
    }
    // Every few seconds (or at once when the move is not ours): what the Workflow itself says.
    if (tick % 5 === 4 || (tick >= 2 && !source)) {
      const status = await instanceStatus(id, target);
      if (status?.output?.state === "refused") throw new Error(status.output.reason ?? "refused");
      if (status && ["errored", "terminated"].includes(status.status)) {
        throw new Error(`The move's Workflow instance ${id} ${status.status}. Run the same command again to resume it, or --cancel to undo it.`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function main() {
  const { values } = cli(USAGE, { account: { type: "string" }, to: { type: "string" }, status: { type: "boolean" }, cancel: { type: "boolean" }, port: { type: "string" }, settle: { type: "string" }, ...targetOptions });
  const target = { ...targetFrom(values), port: values.port };
  const accountId = values.account;
  if (values.status) {
    const records = await moveRecords(accountId, target);
    if (accountId === undefined) console.log(records.length ? records.map(describeMove).join("\n") : "No unfinished move on any shard.");
    else console.log(records.length ? records.map(describeMove).join("\n") : `No move of ${accountId} on any shard.`);
    return;
  }
  if (!accountId) throw new Error(`--account is required.\n\n${USAGE}`);
  const records = await moveRecords(accountId, target);
  const unfinished = records.find((m) => m.finished_at === null && (m.state === "copying" || m.state === "cutover" || m.state === "moved"));

  if (values.cancel) {
    if (unfinished?.state === "moved") {
      throw new Error(`${accountId} has moved to ${shardBinding(unfinished.target_shard)}: the move committed and is finishing (${unfinished.phase}), so it cannot be cancelled; once it finishes, the way back is a move back: --to ${unfinished.shard}`);
    }
    if (!unfinished && !records.some((m) => m.state === "incoming" || m.state === "filling")) {
      const last = records.filter((m) => m.state === "moved" && m.finished_at !== null).sort((a, b) => b.finished_at! - a.finished_at!)[0];
      throw new Error(`${accountId} has no unfinished move to cancel${last ? `: its last move, to ${shardBinding(last.target_shard)}, committed and finished at ${new Date(last.finished_at!).toISOString()} (the way back is a move back: --to ${last.source_shard ?? last.shard})` : ""}.`);
    }
    const id = await startMove({ accountId, cancel: true }, target);
    const mover = unfinished?.owner ?? records.find((m) => m.owner)?.owner;
    console.log(`Cancelling the move of ${accountId} (the move's Workflow instance: ${mover ?? "none left"}; this cancel's: ${id}).`);
    // What happened is what the cancel's own instance says, never what the records looked like before it ran: the
    // move may commit meanwhile, and then the cancel is refused.
    const outcome = await finished(id, accountId, target);
    if (outcome.state !== "cancelled") throw new Error(outcome.reason ?? `The cancel's Workflow instance ${id} ended without cancelling (${outcome.state}).`);
    const home = outcome.from ?? records.find((m) => m.source_shard !== null)?.source_shard ?? 0;
    console.log(`Cancelled: ${accountId} is served from ${shardBinding(home)} as before the move; the copy and the change log are gone.`);
    return;
  }

  const to = Number(values.to);
  if (values.to === undefined || !Number.isInteger(to) || !configuredShards().includes(to)) throw new Error(`--to must be one of the configured shards (${configuredShards().join(", ")}).`);
  if (unfinished && unfinished.target_shard !== to) {
    throw new Error(`${accountId} has an unfinished move to ${shardBinding(unfinished.target_shard)} (${unfinished.phase}): finish it with --to ${unfinished.target_shard}${unfinished.state === "moved" ? "" : " or cancel it with --cancel"} first.`);
  }
  if (!unfinished) {
    const holders = await holdsRows(accountId, target);
    // The home: a shard holding the account's rows with no record (a shard it left keeps a forwarding one).
    const home = holders.find((s) => !records.some((m) => m.shard === s));
    if (holders.length === 0) throw new Error(`Unknown account ${accountId}: no shard holds its rows.`);
    if (home === to) throw new Error(`${accountId} is already on ${shardBinding(to)}.`);
  }
  const settle = values.settle === undefined ? undefined : Number(values.settle);
  const started = Date.now();
  const id = await startMove({ accountId, to, ...(settle === undefined ? {} : { settleSeconds: settle }) }, target);
  console.log(`${unfinished ? "Resuming" : "Started"} moving ${accountId} to ${shardBinding(to)} (Workflow instance ${id}; a dead earlier one is taken over, a live one refuses).`);
  const { records: end, seen } = await follow(accountId, id, target, (now) => now.some((m) => m.owner === id && m.finished_at !== null));
  const move = end.find((m) => m.owner === id)!;
  const at = (phase: string) => seen.get(phase);
  const copyEnd = move.copied_at ?? move.cutover_at ?? Date.now();
  const parts = [
    `copy ${move.copied} rows in ${seconds(copyEnd - (at("copying") ?? move.started_at))}`,
    move.cutover_at !== null ? `check and catch-up ${seconds(move.cutover_at - copyEnd)}` : null,
    move.cutover_at !== null && move.moved_at !== null ? `writes refused ${seconds(move.moved_at - move.cutover_at)}` : null,
    at("settling") !== undefined ? `keys and settle ${seconds((at("cleaning up") ?? Date.now()) - at("settling")!)}` : null,
    at("cleaning up") !== undefined ? `clean-up ${seconds((move.finished_at ?? Date.now()) - at("cleaning up")!)}` : null,
    move.repaired ? `${move.repaired} rows repaired by the content check` : "content checked, nothing to repair",
  ].filter(Boolean);
  console.log(`${accountId} is served from ${shardBinding(to)}. ${parts.join("; ")}; ${seconds(Date.now() - started)} in all.`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await main();
    await closeLocal();
    process.exit(0);
  } catch (err) {
    fail(err);
  }
}
