// Rate limits, run before any D1 read. Without a binding (a deployment that removed it), nothing is limited.
import type { ApiRequest, Env } from "../env";
import { fail } from "../lib/errors";

const tooMany = (env: Env) =>
  fail(429, "Too many requests. Please try again later.", { headers: { "Retry-After": env.RATE_LIMIT_PERIOD_SECONDS ?? "60" } });

/** Route stage: counts the request against its account and mode (test and live apart); 429 once over. Replays count too. */
export async function limitCaller(request: ApiRequest, env: Env): Promise<void> {
  const { caller } = request;
  if (!caller || !env.RATE_LIMITER) return;
  const { success } = await env.RATE_LIMITER.limit({ key: `${caller.accountId}:${caller.testmode ? "test" : "live"}` });
  if (!success) tooMany(env);
}

/**
 * Counts a request that no known key answers against the client's address: called by authenticate, and a stage of
 * the public routes (the OpenAPI document).
 */
export async function limitAddress(request: ApiRequest, env: Env): Promise<void> {
  if (!env.AUTH_RATE_LIMITER) return;
  const address = request.headers.get("CF-Connecting-IP") ?? "unknown";
  const { success } = await env.AUTH_RATE_LIMITER.limit({ key: address });
  if (!success) tooMany(env);
}
