// `account:move` as a Cloudflare Workflow: an account is copied from one D1 shard to another inside Cloudflare, in
// durable, bounded steps, while it stays writable. A move is a state machine kept in D1, on both shards (README,
// "Moving an account"), and every state is safe to stop in:
//  1. locate: find the account's home and claim the move (one per account; a dead one is taken over);
//  2. begin: the target's record (`incoming`: it forwards to the home) before its first row, leftovers removed;
//  3. copy: keyset pages of every table, each step about two seconds of pages, the cursor kept in the record;
//  4. verify: every page compared column by column on both shards; a row that differs is copied again;
//  5. catch up: the changes logged meanwhile, until few are left;
//  6. cutover: writes refused under a lease the source's triggers enforce, the last changes applied, the rows changed
//     since the check compared, and the source marks the account moved (the commit point) while its lease runs;
//  7. keys: the key records point at the target (a hint; the forward already routes), revocations kept;
//  8. clean up: the old copy is removed in pages.
// Every step reads its state from D1 and writes under the owner's fence, so a move resumes when started again, a
// second instance is refused while the first is alive, and a cancel (`cancel: true`) undoes any move before `moved`.
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";
import type { Env } from "../env";
import { accountIndexKey } from "../lib/api-keys";
import { shardBinding, shardsOf } from "../lib/shards";
import { pointKeysAt } from "./keys";
import {
  applyChanges, changeOwner, checkChanged, claimSource, commitMove, copyPages, countRows, dropSource, dropTarget, holdsAccount,
  isFenced, isUnfinishedSource, lastSeq, prepareTarget, readMove, readMoves, releaseLease, removeRows, setMove, settleTarget,
  takeLease, TABLES, verifyPages, type Interrupt, type MoveRecord,
} from "./repository";

export interface MoveParams {
  accountId: string;
  /** The shard to move to (not needed with `cancel`). */
  to?: number;
  /** Cancel the account's unfinished move (before `moved`): back to exactly the state before it. */
  cancel?: boolean;
  /** How long the cutover may refuse writes (default 5 s): the lease the source's triggers enforce. */
  leaseSeconds?: number;
  /** Seconds to let key caches and KV settle before revocations are checked again (default KEY_SETTLE_SECONDS, 70; 0 in tests). */
  settleSeconds?: number;
  /**
   * For tests: stop as a crash would, after the named step (`locate`, `begin`, `copy`, `verify`, `catch up`, `keys`,
   * `settle`, `keys again`, `clean up`, `finish`: the first step of that name), inside one (`copy page`: after a
   * page's write, before its cursor is kept; `catch-up page`: likewise for changes; `cutover`: right after the lease
   * is taken; `commit`: right after the source says moved, before the target's record is settled), or in a cancel
   * (`cancel`: after the source is given back, before the target's copy is removed).
   */
  stopAfter?: string;
}

/** A step's share of work: bounded, whatever the account's size. */
const STEP_BUDGET_MS = 2_000;
/** Catch-up ends when fewer changes than this wait: the cutover then applies the rest with writes refused. */
const CUTOVER_BACKLOG = 200;
const MAX_CATCH_UP_ROUNDS = 30;
/** The rows changed since the content check are compared under the lease when this few; more are compared before. */
const CHECK_UNDER_LEASE = 200;
const retries = { retries: { limit: 5, delay: "1 second" as const, backoff: "exponential" as const }, timeout: "5 minutes" as const };
/** A move that must not start (or a cancel that must not run): the instance ends with the reason as its output. */
const refuse = (reason: string) => ({ refused: reason });
const ALIVE = new Set(["queued", "running", "paused", "waiting", "waitingForPause"]);

export class AccountMove extends WorkflowEntrypoint<Env, MoveParams> {
  async run(event: WorkflowEvent<MoveParams>, step: WorkflowStep) {
    const { accountId, stopAfter } = event.payload;
    const me = event.instanceId;
    const env = this.env;
    /** A step whose writes a newer owner fenced off ends this instance: the move goes on (or was cancelled) elsewhere. */
    const run = <T extends Rpc.Serializable<T>>(name: string, fn: () => Promise<T>): Promise<T> => step.do<T>(name, retries, async () => {
      try {
        return await fn();
      } catch (err) {
        if (isFenced(err)) throw new NonRetryableError(`Account ${accountId}: this move was taken over by another instance or cancelled`);
        throw err;
      }
    });
    const stop = (name: string) => {
      if (stopAfter && (name === stopAfter || name.startsWith(`${stopAfter} `))) throw new NonRetryableError(`stopped after ${name} (test)`);
    };
    const interrupt: Interrupt = (point) => {
      if (stopAfter === point) throw new NonRetryableError(`stopped inside a step, at ${point} (test)`);
    };

    if (event.payload.cancel) {
      const cancelled = await run("cancel", () => this.cancel(accountId, me));
      if ("refused" in cancelled) return { accountId, state: "refused", reason: cancelled.refused };
      stop("cancel");
      if (cancelled.target !== null) {
        for (let page = 1; !(await run(`cancel: remove the copy ${page}`, () => removeRows(env, cancelled.target!, accountId, me, STEP_BUDGET_MS))); page++);
        await run("cancel: finish", () => dropTarget(env, cancelled.target!, accountId, me, Date.now()));
      }
      return { accountId, state: "cancelled", ...cancelled };
    }

    const to = event.payload.to;
    if (to === undefined || !shardsOf(env).includes(to)) throw new NonRetryableError(`Shard ${to} is not configured`);
    const located = await run("locate", () => this.locate(accountId, to, me));
    if ("refused" in located) return { accountId, state: "refused", reason: located.refused };
    const { from } = located;
    stop("locate");
    const move = async () => (await readMove(env, from, accountId))!;
    /** Whether the move, read once from the source's record, has not committed and is still in a phase. */
    const still = async (inPhase: (m: MoveRecord) => boolean = () => true) => {
      const current = await move();
      return current.state !== "moved" && inPhase(current);
    };

    await run("begin", async () => {
      const current = await move();
      if (current.state === "moved") return; // resumed after the commit: the target is home already
      await prepareTarget(env, from, to, accountId, current);
      if (current.phase === "starting") {
        // The target is not the account's home: whatever it holds is left from an earlier attempt or an old move away.
        while (!(await removeRows(env, to, accountId, me, STEP_BUDGET_MS)));
        const total = Object.values(await countRows(env, from, accountId)).reduce((a, b) => a + b, 0);
        await setMove(env, from, accountId, me, { phase: "copying", total });
      }
    });
    stop("begin");

    for (let page = 1; await still((m) => m.copied_at === null); page++) {
      await run(`copy ${page}`, () => copyPages(env, from, to, accountId, me, STEP_BUDGET_MS, interrupt));
      stop(`copy ${page}`);
    }
    for (let page = 1; await still((m) => JSON.parse(m.cursor)[0] < TABLES.length); page++) {
      await run(`verify ${page}`, () => verifyPages(env, from, to, accountId, me, STEP_BUDGET_MS));
      stop(`verify ${page}`);
    }

    // Each round applies pages of changes for about two seconds; a writer faster than that still gets its cutover
    // after MAX_CATCH_UP_ROUNDS, whose backlog the cutover applies with writes refused.
    for (let round = 1; round <= MAX_CATCH_UP_ROUNDS && (await still()); round++) {
      const waiting = await run(`catch up ${round}`, async () => {
        const deadline = Date.now() + STEP_BUDGET_MS;
        let left = await applyChanges(env, from, to, accountId, me, interrupt);
        while (left >= CUTOVER_BACKLOG && Date.now() < deadline) left = await applyChanges(env, from, to, accountId, me, interrupt);
        // The rows changed since the content check, compared now if there are many, so the lease has few left.
        const current = await move();
        const upTo = current.applied_seq;
        let checked = current.verified_seq ?? 0;
        while (upTo - checked > CHECK_UNDER_LEASE && Date.now() < deadline) checked = (await checkChanged(env, from, to, accountId, me, checked, upTo)).checkedTo;
        if (checked !== current.verified_seq) await setMove(env, from, accountId, me, { verified_seq: checked });
        return left + (upTo - checked > CHECK_UNDER_LEASE ? CUTOVER_BACKLOG : 0);
      });
      stop(`catch up ${round}`);
      if (waiting < CUTOVER_BACKLOG) break;
    }

    const cutover = await run("cutover", async () => {
      const current = await move();
      if (current.state !== "moved") {
        await takeLease(env, from, accountId, me, Date.now(), event.payload.leaseSeconds === undefined ? undefined : event.payload.leaseSeconds * 1000);
        interrupt("cutover");
        while ((await applyChanges(env, from, to, accountId, me)) > 0);
        // Content: every row changed since the check, column by column; then every table's count.
        const upTo = await lastSeq(env, from, accountId);
        const differ: string[] = [];
        for (let checked = (await move()).verified_seq ?? 0; checked < upTo;) {
          const page = await checkChanged(env, from, to, accountId, me, checked, upTo);
          differ.push(...page.differ);
          checked = page.checkedTo;
        }
        const [source, target] = await Promise.all([countRows(env, from, accountId), countRows(env, to, accountId)]);
        differ.push(...Object.keys(source).filter((t) => source[t] !== target[t]).map((t) => `${t}: ${source[t]} rows on the source, ${target[t]} on the target`));
        if (differ.length) {
          // Writable again at once (the rows that differed were copied again); the step's retry starts the cutover over.
          await releaseLease(env, from, accountId, me);
          throw new Error(`Verification failed, not cut over: ${differ.slice(0, 5).join("; ")}`);
        }
        if (!(await commitMove(env, from, accountId, me, Date.now()))) throw new Error("The cutover's lease ran out before the commit; starting the cutover over");
        interrupt("commit");
      }
      await settleTarget(env, to, accountId, current.move_id);
      const done = await move();
      return { refusedMs: done.moved_at! - done.cutover_at! };
    });

    await run("keys", () => pointKeysAt(env, accountId, to));
    stop("keys");
    const settle = event.payload.settleSeconds ?? Number(env.KEY_SETTLE_SECONDS || 70);
    await run("phase: settling", () => setMove(env, from, accountId, me, { phase: "settling", heartbeat_at: Date.now() + settle * 1000 }));
    if (settle > 0) await step.sleep("let key caches settle", `${settle} seconds`);
    stop("settle");
    await run("keys again", () => pointKeysAt(env, accountId, to));
    stop("keys again");

    await run("phase: cleaning up", () => setMove(env, from, accountId, me, { phase: "cleaning up" }));
    for (let page = 1; ; page++) {
      const empty = await run(`clean up ${page}`, () => removeRows(env, from, accountId, me, STEP_BUDGET_MS));
      stop(`clean up ${page}`);
      if (empty) break;
    }
    await run("finish", () => setMove(env, from, accountId, me, { phase: "done", finished_at: Date.now() }));
    return { accountId, from, to, state: "moved", refusedMs: cutover.refusedMs, repaired: (await readMove(env, from, accountId))!.repaired };
  }

  /** Whether the Workflow instance that owns a record still runs (an unknown one, e.g. past retention, does not). */
  private async alive(owner: string, me: string): Promise<boolean> {
    if (owner === me) return false;
    try {
      return ALIVE.has((await (await this.env.ACCOUNT_MOVE.get(owner)).status()).status);
    } catch {
      return false;
    }
  }

  /**
   * The account's home and its move: an unfinished move is resumed (its owner dead: taken over; alive: refused), to
   * its own target only; otherwise a new move is claimed on the home. Unknown accounts and moves to the home fail.
   */
  private async locate(accountId: string, to: number, me: string): Promise<{ from: number } | { refused: string }> {
    const env = this.env;
    const records = await readMoves(env, accountId);
    const active = records.find((r) => isUnfinishedSource(r.move));
    if (active) {
      const { move } = active;
      if (move.target_shard !== to) {
        return refuse(`Account ${accountId} has an unfinished move to ${shardBinding(move.target_shard)} (${move.phase}): finish it with --to ${move.target_shard}${move.state === "moved" ? "" : " or cancel it with --cancel"} first`);
      }
      if (await this.alive(move.owner, me)) return refuse(`Account ${accountId} is already being moved to ${shardBinding(to)} by Workflow instance ${move.owner}`);
      await changeOwner(env, [active.shard, to], accountId, move.owner, me);
      if ((await readMove(env, active.shard, accountId))?.owner !== me) return refuse(`Account ${accountId}: another instance took this move over first`);
      return { from: active.shard };
    }
    const leftover = records.find((r) => r.move.state === "incoming" || r.move.state === "filling");
    if (leftover && leftover.shard !== to) {
      return refuse(`Account ${accountId}: a cancelled or failed move left a copy on ${shardBinding(leftover.shard)}; run the cancel again (--cancel) first`);
    }
    // The home: the shard without a forwarding record that holds the account's rows, else the shard its keys name.
    const candidates: number[] = [];
    for (const shard of shardsOf(env)) {
      if (records.some((r) => r.shard === shard)) continue;
      if (await holdsAccount(env, shard, accountId)) candidates.push(shard);
    }
    let home = candidates[0];
    if (home === undefined) {
      const keys = await env.API_KEYS.list({ prefix: accountIndexKey(accountId, ""), limit: 1 });
      if (keys.keys.length === 0) return refuse(`Unknown account ${accountId}: no shard holds its rows and it has no API key`);
      const forward = records.find((r) => r.move.state === "moved");
      home = forward ? forward.move.target_shard : (await env.API_KEYS.get<{ shard?: number }>(`apikey:${keys.keys[0]!.name.slice(accountIndexKey(accountId, "").length)}`, "json"))?.shard ?? 0;
    }
    if (home === to) return refuse(`Account ${accountId} is already on ${shardBinding(to)}`);
    const claimed = await claimSource(env, home, to, accountId, me, Date.now());
    if (claimed.owner !== me) return refuse(`Account ${accountId} is already being moved to ${shardBinding(claimed.target_shard)} by Workflow instance ${claimed.owner}`);
    return { from: home };
  }

  /**
   * Cancel: the unfinished move's records are fenced off from its owner (a live instance stops at its next write),
   * the source is given back (record and change log gone: home and writable at once), then the target's copy goes.
   */
  private async cancel(accountId: string, me: string): Promise<{ from: number | null; target: number | null } | { refused: string }> {
    const env = this.env;
    const records = await readMoves(env, accountId);
    const active = records.find((r) => isUnfinishedSource(r.move));
    if (active?.move.state === "moved") {
      return refuse(`Account ${accountId} has already moved to ${shardBinding(active.move.target_shard)}; the way back is a move back (--to ${active.shard})`);
    }
    if (active) {
      await changeOwner(env, [active.shard, active.move.target_shard], accountId, active.move.owner, me);
      if (!(await dropSource(env, active.shard, accountId, me))) {
        return refuse(`Account ${accountId} moved to ${shardBinding(active.move.target_shard)} while it was being cancelled; the way back is a move back (--to ${active.shard})`);
      }
    }
    // The copy: the target's (a move stopped before begin has none), or one a cancel that died left behind (its
    // source record is gone).
    const target = records.find((r) => r.move.state === "incoming" || r.move.state === "filling")?.shard ?? null;
    if (target === null && !active) return refuse(`Account ${accountId} has no unfinished move to cancel`);
    if (target !== null) await changeOwner(env, [target], accountId, (await readMove(env, target, accountId))?.owner ?? me, me);
    return { from: active?.shard ?? null, target };
  }
}

export type { MoveRecord };
