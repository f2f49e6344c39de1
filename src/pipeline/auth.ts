// Route stage: `Authorization: Bearer <key>` → the caller (account and mode), or the request ends here.
import type { ApiRequest, Caller, Env } from "../env";
import { KEY_PREFIX, type StoredKey } from "../lib/api-keys";
import { sha256Hex } from "../lib/crypto";
import { fail, UNAUTHENTICATED } from "../lib/errors";
import { limitAddress } from "./rate-limit";

/** How long an isolate trusts what KV said about a key, unless API_KEY_CACHE_SECONDS says otherwise. */
export const KEY_CACHE_MS = 60_000;
const cacheMs = (env: Env) => (env.API_KEY_CACHE_SECONDS ? Number(env.API_KEY_CACHE_SECONDS) * 1000 : KEY_CACHE_MS);

/**
 * Per-isolate caches, hash → KV answer. Known keys and unknown ones are kept apart and each is bounded on its own,
 * least recently used out first: a flood of guessed keys can never push out the keys merchants are using.
 */
class BoundedCache<T> {
  private readonly entries = new Map<string, { value: T; expires: number }>();
  constructor(private readonly max: number) {}

  get(hash: string, now: number): T | undefined {
    const hit = this.entries.get(hash);
    if (!hit) return undefined;
    this.entries.delete(hash);
    if (hit.expires <= now) return undefined;
    this.entries.set(hash, hit); // most recently used last: eviction takes the first
    return hit.value;
  }

  set(hash: string, value: T, expires: number): void {
    this.entries.delete(hash);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(hash, { value, expires });
  }
}

const known = new BoundedCache<StoredKey>(10_000);
const unknown = new BoundedCache<true>(1_000);

const unauthenticated = () => fail(401, UNAUTHENTICATED, { headers: { "WWW-Authenticate": "Bearer" } });

export async function authenticate(request: ApiRequest, env: Env): Promise<void> {
  // A dashboard request: its session cookie was checked by the dashboard's router (src/dashboard/session.ts).
  if (request.session) return void (request.caller = request.session);
  const match = /^Bearer +(\S+) *$/i.exec(request.headers.get("Authorization") ?? "");
  const key = match?.[1];
  const mode = key?.startsWith("live_") ? "live" : key?.startsWith("test_") ? "test" : null;
  const hash = mode ? await sha256Hex(key!) : null;
  const now = request.receivedAt;

  let stored = hash ? known.get(hash, now) : undefined;
  let counted = false;
  if (!stored) {
    // Anything not answered by a known key costs its address a token before KV is asked: guessing is throttled.
    await limitAddress(request, env);
    counted = true;
    if (!key) return unauthenticated();
    if (!mode) fail(403, "Auth token must start with live_ or test_.");
    if (unknown.get(hash!, now)) return unauthenticated();
    // A KV failure throws here and becomes a 500: an outage never lets an unknown key in.
    stored = (await env.API_KEYS.get<StoredKey>(KEY_PREFIX + hash, { type: "json", cacheTtl: 60 })) ?? undefined;
    if (stored) known.set(hash!, stored, now + cacheMs(env));
    else unknown.set(hash!, true, now + cacheMs(env));
  }
  if (!stored || stored.mode !== mode) return unauthenticated();
  if (stored.revokedAt) {
    // A revoked key is refused, and counted like an unknown one: hammering with it is throttled all the same.
    if (!counted) await limitAddress(request, env);
    fail(403, "This API key has been revoked.");
  }
  request.caller = { accountId: stored.accountId, testmode: mode === "test", shard: stored.shard ?? 0 } satisfies Caller;
}
