import type { IRequestStrict } from "itty-router";

/** The Worker's bindings and vars: generated from wrangler.toml by `npm run cf-typegen` (worker-configuration.d.ts). */
export type Env = Cloudflare.Env;

/** A queue message: which event to deliver. The consumer reads everything else from D1. */
export interface DeliveryMessage {
  eventId: string;
  accountId: string;
  testmode: boolean;
  /** The account's shard when the event was enqueued (absent in messages from before sharding: 0). */
  shard?: number;
}

/** The caller, as resolved from its API key. */
export interface Caller {
  accountId: string;
  testmode: boolean;
  /** The D1 shard its key record names (lib/shards.ts); a moved account is followed from there (db/account-database.ts). */
  shard: number;
}

/** What the idempotency stage hands a write: the key and the fingerprint of this request. */
export interface IdempotentWrite {
  key: string;
  fingerprint: string;
  createdAt: number;
  /** Set once the key's record has been consulted (in the write's batch, or alone). */
  settled?: boolean;
}

/**
 * The request's D1 session as the stages and handlers use it (db/account-database.ts implements it, following the
 * account across shards); declared here so that the request's type needs nothing from db/.
 */
export interface RequestDatabase extends Pick<D1Database, "prepare" | "batch"> {
  getBookmark(): string | null;
  /** Round trips and D1's rows read and written so far (db/query.ts, D1Usage). */
  readonly usage?: { calls: number; rowsRead: number; rowsWritten: number };
}

/** A request as the router's stages fill it in, in order. */
export type ApiRequest = IRequestStrict & {
  // startRequest
  requestId: string;
  receivedAt: number;
  pathname: string;
  /** `<base>` of every link in answers (PUBLIC_BASE_URL or the request's origin). */
  base: string;
  /** The method the client sent, when it is routed as another (HEAD runs as GET). */
  sentMethod?: string;
  /** Set only by the dashboard's router (src/dashboard/router.ts): the signed-in session's caller, instead of a key. */
  session?: Caller;
  /** Set on a dashboard request once handed to the API (forward): the API's own log line is its record. */
  forwarded?: boolean;
  // authenticate
  caller?: Caller;
  // openSession
  db?: RequestDatabase;
  // readBody
  input?: Record<string, unknown>;
  // idempotency
  idempotency?: IdempotentWrite;
};

/** What a route handler receives: every stage has run. */
export type RouteRequest = ApiRequest & { caller: Caller; db: RequestDatabase };
