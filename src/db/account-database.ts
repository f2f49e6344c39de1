// The database of one account, wherever it is. Every batch (and every single statement, sent as a batch of one) gets a
// first statement that reads the account's move record on the shard it runs on, in the same round trip:
//  - no record, or `copying`: the shard holds the account; the results are its own;
//  - `cutover` (a move's last seconds): reads are served, writes are refused by the shard's triggers: 503;
//  - `moved`: the shard holds a dead copy; whatever was asked runs again on the target shard, and this isolate
//    remembers the forward for the account's next requests. Inserts and updates on the dead copy are refused by the
//    triggers, so nothing is ever written there (a delete only removes dead rows).
// A request routed by a stale key record is therefore served by the right shard, never by the old copy.
import { StatusError } from "itty-router";
import type { Env } from "../env";
import { shardDatabase } from "../lib/shards";
import type { Database } from "./query";

const MOVE = "SELECT state, target_shard FROM account_moves WHERE account_id = ?";
/** Where accounts went, as this isolate has learnt from the shards it asked (accountId → shard). */
const forwards = new Map<string, number>();

/** The shard to ask first for an account: the one its key record names, unless a forward was learnt since. */
export const shardOf = (accountId: string, recorded: number) => forwards.get(accountId) ?? recorded;

interface Move {
  state: "copying" | "cutover" | "moved";
  target_shard: number;
}

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
    for (let hop = 0; hop < 4; hop++) {
      const session = this.session;
      let move: Move | undefined;
      try {
        const prepared = [session.prepare(MOVE).bind(this.accountId), ...own.map((s) => session.prepare(s.sql).bind(...s.params))];
        const results = await session.batch<T>(prepared);
        if ("getBookmark" in session) this.latestBookmark = session.getBookmark();
        move = results[0]!.results[0] as Move | undefined;
        if (!move || move.state !== "moved") return results.slice(1);
      } catch (err) {
        if (this.constraint !== null && this.constraint !== "first-primary" && isBookmarkRefused(err)) {
          // A bookmark this shard never issued (another shard's, from before a move): read from the primary, which
          // is at least as new as anything the client saw here.
          this.constraint = "first-primary";
          this.session = this.open();
          continue;
        }
        if (!isMoved(err)) throw err;
        move = (await shardDatabase(this.env, this.shard).prepare(MOVE).bind(this.accountId).first<Move>()) ?? undefined;
        if (move?.state === "cutover") {
          throw new StatusError(503, {
            message: "This account is being moved between databases; writes resume within seconds.",
            headers: { "Retry-After": String(CUTOVER_RETRY_SECONDS) },
          });
        }
        if (move?.state !== "moved") continue; // the cutover ended (or was undone) meanwhile: try again here
      }
      forwards.set(this.accountId, move.target_shard);
      this.shard = move.target_shard;
      this.session = this.open();
    }
    throw new Error(`Account ${this.accountId}: too many forwards between shards`);
  }
}
