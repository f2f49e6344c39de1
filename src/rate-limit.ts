import type { ApiRequest, Env } from "./env";
import { fail } from "./errors";

/**
 * Counts the request against its account and mode (the `[[ratelimits]]` binding in wrangler.toml) and refuses it
 * with 429 once over the limit. Without the binding (e.g. a deployment that removed it), nothing is limited.
 */
export async function enforceRateLimit(request: ApiRequest, env: Env): Promise<void> {
  const { caller } = request;
  if (!caller || !env.RATE_LIMITER) return;
  const { success } = await env.RATE_LIMITER.limit({ key: `${caller.accountId}:${caller.testmode ? "test" : "live"}` });
  if (!success) {
    fail(429, "Too many requests. Please try again later.", { headers: { "Retry-After": env.RATE_LIMIT_PERIOD_SECONDS ?? "60" } });
  }
}
