import type { IRequestStrict } from "itty-router";

export interface Env {
  DB: D1Database;
  API_KEYS: KVNamespace;
  /** Overrides the request origin in `links` (e.g. "https://api.example.com"). Empty: use the request's origin. */
  PUBLIC_BASE_URL?: string;
  /** Requests per account and mode per period, from `[[ratelimits]]` in wrangler.toml. */
  RATE_LIMITER?: RateLimit;
  /** Requests without a valid key, per client address (CF-Connecting-IP). */
  AUTH_RATE_LIMITER?: RateLimit;
  /** How long an isolate trusts what KV said about an API key (default 60; account:move waits this long). */
  API_KEY_CACHE_SECONDS?: string;
  /** The period of the limiters in seconds, sent as Retry-After. */
  RATE_LIMIT_PERIOD_SECONDS?: string;
  /** Webhook deliveries (producer) and the events that ran out of attempts. */
  WEBHOOK_QUEUE: Queue<DeliveryMessage>;
  WEBHOOK_DEAD_LETTERS: Queue<DeliveryMessage>;
  /** base64 of the 32-byte AES key that encrypts endpoint secrets at rest (a Worker secret). */
  WEBHOOK_SECRET_KEY?: string;
  /** Seconds to wait before each retry of a failed delivery, comma-separated; its length + 1 is the number of attempts. */
  WEBHOOK_RETRY_DELAYS?: string;
}

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
  /** The D1 shard that holds the account (lib/shards.ts). */
  shard: number;
  /** The account is being moved to another shard: writes are refused until it is done. */
  moving?: boolean;
}

/** What the idempotency stage hands a write: the key and the fingerprint of this request. */
export interface IdempotentWrite {
  key: string;
  fingerprint: string;
  createdAt: number;
}

/** A request as the router's stages fill it in, in order. */
export type ApiRequest = IRequestStrict & {
  // startRequest
  requestId: string;
  receivedAt: number;
  pathname: string;
  /** `<base>` of every link in answers (PUBLIC_BASE_URL or the request's origin). */
  base: string;
  // authenticate
  caller?: Caller;
  // openSession
  db?: D1DatabaseSession;
  // readBody
  input?: Record<string, unknown>;
  // idempotency
  idempotency?: IdempotentWrite;
};

/** What a route handler receives: every stage has run. */
export type RouteRequest = ApiRequest & { caller: Caller; db: D1DatabaseSession };
