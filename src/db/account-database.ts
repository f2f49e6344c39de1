// The database of one account, wherever it is. Every batch (and every single statement, sent as a batch of one) gets a
// first statement that reads the account's move record on the shard it runs on, in the same round trip:
//  - no record, `copying` or `cutover`: the shard is the account's home; the results are its own. In a cutover, while
//    its lease runs, the shard's triggers refuse writes: 503 with Retry-After;
//  - `moved`: the shard holds a dead copy; whatever was asked runs again on the target shard;
//  - `incoming` (or `filling`): the shard holds a copy being built; whatever was asked runs again on the source.
//    Writes on either are refused by the triggers, so nothing is ever written there by a request.
// This isolate remembers each forward for the account's next requests. A request routed by a stale key record or
// forward therefore costs a hop, never a read or write elsewhere. Forwarding cannot loop: a shard already visited is
// never asked again. The one moment two records point at each other (the source says `moved`, the target still says
// `incoming`) is a committed move whose target was not settled yet: the request settles it, and is served there.
import { StatusError } from "itty-router";
import type { Env } from "../env";
import { shardDatabase } from "../lib/shards";
import { meter, type D1Usage, type Database } from "./query";

const MOVE = "SELECT state, target_shard, source_shard, move_id FROM account_moves WHERE account_id = ?";
/** Where accounts went, as this isolate has learnt from the shards it asked (accountId → shard). */
const forwards = new Map<string, number>();

/** The shard to ask first for an account: the one its key record names, unless a forward was learnt since. */
export const shardOf = (accountId: string, recorded: number) => forwards.get(accountId) ?? recorded;

interface Move {
  state: "copying" | "cutover" | "moved" | "incoming" | "filling";
  target_shard: number;
  source_shard: number | null;
  move_id: string;
}

/** Where a record sends the account's requests: nowhere (the shard is home), or another shard. */
const forwardOf = (move: Move | undefined): number | null =>
  move?.state === "moved" ? move.target_shard : move?.state === "incoming" || move?.state === "filling" ? move.source_shard : null;

/** A statement as repositories build it; it is prepared on whichever shard ends up running it. */
class AccountStatement {
  constructor(readonly db: AccountDatabase, readonly sql: string, readonly params: unknown[] = []) {}
  bind(...params: unknown[]) {
    return new AccountStatement(this.db, this.sql, params);
  }
  async first<T = Record<string, unknown>>(): Promise<T | null> {
    return ((await this.db.batch<T>([this as unknown as D1PreparedStatement]))[0]!.results[0] as T | undefined) ?? null;
  }
  async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return (await this.db.batch<T>([this as unknown as D1PreparedStatement]))[0]!;
  }
  async run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return (await this.db.batch<T>([this as unknown as D1PreparedStatement]))[0]!;
  }
}

const isMoved = (err: unknown) => /ACCOUNT_MOVED/.test(String((err as Error)?.message ?? err));
const isBookmarkRefused = (err: unknown) => /bookmark/i.test(String((err as Error)?.message ?? err));

export const CUTOVER_RETRY_SECONDS = 1;

export class AccountDatabase implements Database {
  private session: D1DatabaseSession | D1Database;
  private latestBookmark: string | null = null;
  /** Every round trip this database made, forwards included (the request's log line shows it). */
  readonly usage: D1Usage = { calls: 0, rowsRead: 0, rowsWritten: 0 };

  /**
   * `constraint`: the D1 session of a request (`first-primary` for writes, a bookmark or `first-unconstrained` for
   * reads), or null for background work that uses the database itself.
   */
  constructor(private readonly env: Env, readonly accountId: string, public shard: number, private constraint: string | null) {
    this.session = this.open();
  }

  private open(): D1DatabaseSession | D1Database {
    const db = shardDatabase(this.env, this.shard);
    return this.constraint === null ? db : db.withSession(this.constraint);
  }

  prepare(sql: string) {
    return new AccountStatement(this, sql) as unknown as D1PreparedStatement;
  }

  getBookmark(): string | null {
    return this.latestBookmark ?? ("getBookmark" in this.session ? this.session.getBookmark() : null);
  }

  async batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    const own = statements as unknown as AccountStatement[];
    let visited: Map<number, Move | undefined> | undefined; // only when a record forwards (never on the hot path)
    for (let attempt = 0; attempt < 8; attempt++) {
      const session = this.session;
      let move: Move | undefined;
      try {
        const prepared = [session.prepare(MOVE).bind(this.accountId), ...own.map((s) => session.prepare(s.sql).bind(...s.params))];
        const results = await session.batch<T>(prepared).catch((err: unknown) => {
          this.usage.calls++;
          throw err;
        });
        meter(this.usage, results);
        if ("getBookmark" in session) this.latestBookmark = session.getBookmark();
        move = results[0]!.results[0] as Move | undefined;
        if (forwardOf(move) === null) return results.slice(1);
      } catch (err) {
        if (this.constraint !== null && this.constraint !== "first-primary" && isBookmarkRefused(err)) {
          // A bookmark this shard never issued (another shard's, from before a move): read from the primary, which
          // is at least as new as anything the client saw here.
          this.constraint = "first-primary";
          this.session = this.open();
          continue;
        }
        if (!isMoved(err)) throw err;
        this.usage.calls++;
        move = (await shardDatabase(this.env, this.shard).prepare(MOVE).bind(this.accountId).first<Move>()) ?? undefined;
        if (move?.state === "cutover") throw busy();
        if (forwardOf(move) === null) continue; // the cutover's lease ended (or was given back) meanwhile: try again here
      }
      visited ??= new Map();
      visited.set(this.shard, move);
      const next = forwardOf(move)!;
      if (visited.has(next)) {
        // The records point at each other: a committed move (the source says moved) whose target still says incoming.
        const [a, b] = [move!, visited.get(next)];
        const target = a.state === "moved" ? next : b?.state === "moved" ? this.shard : null;
        if (target === null || a.move_id !== b?.move_id) throw busy();
        this.usage.calls++;
        await shardDatabase(this.env, target).prepare("DELETE FROM account_moves WHERE account_id = ? AND move_id = ? AND state = 'incoming'").bind(this.accountId, a.move_id).run();
        visited.clear();
        this.goTo(target);
        continue;
      }
      this.goTo(next);
    }
    throw busy();
  }

  private goTo(shard: number) {
    forwards.set(this.accountId, shard);
    this.shard = shard;
    this.session = this.open();
  }
}

/** The account cannot be served for a moment (a cutover's lease, a move committing): the client tries again shortly. */
const busy = () => new StatusError(503, {
  message: "This account is being moved between databases; writes resume within seconds.",
  headers: { "Retry-After": String(CUTOVER_RETRY_SECONDS) },
});
