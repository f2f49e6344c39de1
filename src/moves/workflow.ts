// `account:move` as a Cloudflare Workflow: an account is copied from one D1 shard to another inside Cloudflare, in
// durable, bounded steps, while it stays writable. Phases (README, "Moving an account"):
//  1. begin: clear what an earlier attempt left on the target; the move record on the source turns on its change log;
//  2. copy: keyset pages of every table, each step about two seconds of pages, the cursor kept in the move record;
//  3. catch up: the changes logged meanwhile, until few are left;
//  4. cutover: writes refused (the source's triggers), the last changes applied, counts verified, the source marks the
//     account moved: from then on it forwards every request to the target. Writes are refused only here;
//  5. keys: the key records point at the target (a hint; the forward already routes), revocations kept;
//  6. clean up: the old copy is removed in pages.
// Every step is idempotent and reads its state from D1, so an interrupted move resumes: start it again.
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";
import type { Env } from "../env";
import { shardsOf } from "../lib/shards";
import { applyChanges, beginMove, copyPages, countRows, deleteMove, holdsAccount, readMove, removeRows, setMove, type MoveRecord } from "./repository";
import { pointKeysAt } from "./keys";

export interface MoveParams {
  accountId: string;
  to: number;
  /** Seconds to let key caches and KV settle before revocations are checked again (default 70; 0 in tests). */
  settleSeconds?: number;
  /** For tests: stop (as a crash would) after the first copy step, or right after the cutover began. */
  stopAfter?: "copy" | "cutover";
}

/** A copy step's share of work: bounded, whatever the account's size. */
const STEP_BUDGET_MS = 2_000;
/** Catch-up ends when fewer changes than this wait: the cutover then applies the rest with writes refused. */
const CUTOVER_BACKLOG = 200;
const MAX_CATCH_UP_ROUNDS = 30;
const retries = { retries: { limit: 5, delay: "1 second" as const, backoff: "exponential" as const }, timeout: "5 minutes" as const };

export class AccountMove extends WorkflowEntrypoint<Env, MoveParams> {
  async run(event: WorkflowEvent<MoveParams>, step: WorkflowStep) {
    const { accountId, to } = event.payload;
    const env = this.env;
    if (!shardsOf(env).includes(to)) throw new NonRetryableError(`Shard ${to} is not configured`);

    // Where the account is: the shard with an unfinished move of it, else the one that holds its rows.
    const from = await step.do("locate", retries, async () => {
      for (const shard of shardsOf(env)) {
        const move = await readMove(env, shard, accountId);
        if (move && move.finished_at === null) return shard;
      }
      for (const shard of shardsOf(env)) if (shard !== to && (await holdsAccount(env, shard, accountId))) return shard;
      return to;
    });
    if (from === to) return { accountId, from, to, state: "in place" };
    const move = () => readMove(env, from, accountId) as Promise<MoveRecord>;

    await step.do("begin", retries, async () => {
      if (await readMove(env, from, accountId)) return;
      // The target is not the account's home: whatever is there is left from an earlier attempt (or an old move away).
      while (!(await removeRows(env, to, accountId, STEP_BUDGET_MS)));
      await deleteMove(env, to, accountId);
      await beginMove(env, from, to, accountId, Date.now());
    });

    for (let page = 1; (await move()).state === "copying"; page++) {
      const { done } = await step.do(`copy ${page}`, retries, () => copyPages(env, from, to, accountId, STEP_BUDGET_MS));
      if (event.payload.stopAfter === "copy") throw new NonRetryableError("stopped after the first copy step (test)");
      if (done) break;
    }

    // Each round applies pages of changes for about two seconds; a writer faster than that still gets its cutover
    // after MAX_CATCH_UP_ROUNDS, whose backlog the cutover applies with writes refused.
    for (let round = 1; round <= MAX_CATCH_UP_ROUNDS && (await move()).state === "copying"; round++) {
      const waiting = await step.do(`catch up ${round}`, retries, async () => {
        await setMove(env, from, accountId, { phase: "catching up" });
        const deadline = Date.now() + STEP_BUDGET_MS;
        let left = await applyChanges(env, from, to, accountId);
        while (left >= CUTOVER_BACKLOG && Date.now() < deadline) left = await applyChanges(env, from, to, accountId);
        return left;
      });
      if (waiting < CUTOVER_BACKLOG) break;
    }

    const cutover = await step.do("cutover", retries, async () => {
      const current = await move();
      if (current.state === "moved") return { refusedMs: current.moved_at! - current.cutover_at! };
      const cutoverAt = current.cutover_at ?? Date.now();
      await setMove(env, from, accountId, { state: "cutover", phase: "cutover", cutover_at: cutoverAt });
      if (event.payload.stopAfter === "cutover") throw new NonRetryableError("stopped right after the cutover began (test)");
      while ((await applyChanges(env, from, to, accountId)) > 0);
      const [source, target] = await Promise.all([countRows(env, from, accountId), countRows(env, to, accountId)]);
      const differ = Object.keys(source).filter((table) => source[table] !== target[table]);
      if (differ.length) {
        // Writable again at once; the step's retry runs the cutover anew.
        await setMove(env, from, accountId, { state: "copying", phase: "catching up", cutover_at: null });
        throw new Error(`Verification failed: ${differ.map((t) => `${t} ${source[t]} on the source, ${target[t]} on the target`).join("; ")}`);
      }
      const movedAt = Date.now();
      await setMove(env, from, accountId, { state: "moved", phase: "keys", moved_at: movedAt });
      return { refusedMs: movedAt - cutoverAt };
    });

    await step.do("keys", retries, () => pointKeysAt(env, accountId, to, false));
    const settle = event.payload.settleSeconds ?? 70;
    if (settle > 0) await step.sleep("let key caches settle", `${settle} seconds`);
    await step.do("keys again", retries, () => pointKeysAt(env, accountId, to, true));

    await step.do("phase: cleaning up", retries, () => setMove(env, from, accountId, { phase: "cleaning up" }));
    for (let page = 1; ; page++) {
      if (await step.do(`clean up ${page}`, retries, () => removeRows(env, from, accountId, STEP_BUDGET_MS))) break;
    }
    await step.do("finish", retries, () => setMove(env, from, accountId, { phase: "done", finished_at: Date.now() }));
    return { accountId, from, to, state: "moved", refusedMs: cutover.refusedMs };
  }
}
