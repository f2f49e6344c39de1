import type { IRequestStrict } from "itty-router";

export interface Env {
  DB: D1Database;
  API_KEYS: KVNamespace;
  /** Overrides the request origin in `links` (e.g. "https://api.example.com"). Empty: use the request's origin. */
  PUBLIC_BASE_URL?: string;
  /** Requests per account and mode per period, from `[[ratelimits]]` in wrangler.toml. */
  RATE_LIMITER?: RateLimit;
  /** The period of RATE_LIMITER in seconds, sent as Retry-After. */
  RATE_LIMIT_PERIOD_SECONDS?: string;
}

/** The caller, as resolved from its API key. */
export interface Caller {
  accountId: string;
  testmode: boolean;
}

/** A request after the router's `before` stages and the auth stage have run. */
export type ApiRequest = IRequestStrict & {
  requestId: string;
  receivedAt: number;
  /** The request URL's origin and path, parsed once. */
  origin: string;
  pathname: string;
  caller?: Caller;
  d1Session?: D1DatabaseSession;
};

export type Handler = (request: ApiRequest, env: Env, ctx: ExecutionContext) => Promise<Response | undefined> | Response | undefined;
