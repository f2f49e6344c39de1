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
  const { success } = await env.AUTH_RATE_LIMITER.limit({ key: addressKey(request.headers.get("CF-Connecting-IP")) });
  if (!success) tooMany(env);
}

/**
 * What an address is counted as: an IPv4 address as itself, an IPv6 address by its /64 (one subscriber's network
 * holds 2^64 addresses; counting each alone would let one client walk around the limit).
 */
export function addressKey(address: string | null): string {
  if (!address) return "unknown";
  if (!address.includes(":")) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = address.includes("::") && tail ? tail.split(":") : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups; only the first four groups matter here.
  const groups = address.includes("::") ? [...left, ...Array(Math.max(8 - left.length - right.length, 0)).fill("0"), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
