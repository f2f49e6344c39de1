import type { ApiRequest, Caller, Env } from "./env";
import { fail, UNAUTHENTICATED } from "./errors";

/** What KV holds for a key, under `apikey:<sha256 hex of the key>`. Never the key itself. */
export interface StoredKey {
  accountId: string;
  mode: "test" | "live";
  createdAt: string;
  revokedAt?: string | null;
}

export const KEY_PREFIX = "apikey:";
const CACHE_MS = 60_000;
const CACHE_MAX_ENTRIES = 10_000;

// Per-isolate cache (hash -> KV answer, including "no such key"), so a key seen in the last minute costs no KV read.
const cache = new Map<string, { stored: StoredKey | null; expires: number }>();

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
const encoder = new TextEncoder();

export async function sha256Hex(text: string): Promise<string> {
  let hex = "";
  for (const byte of new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)))) hex += HEX[byte];
  return hex;
}

async function lookup(env: Env, hash: string, now: number): Promise<StoredKey | null> {
  const hit = cache.get(hash);
  if (hit && hit.expires > now) return hit.stored;
  // A KV failure throws here and becomes a 500: an outage never lets an unknown key in.
  const stored = await env.API_KEYS.get<StoredKey>(KEY_PREFIX + hash, { type: "json", cacheTtl: 60 });
  if (cache.size >= CACHE_MAX_ENTRIES) cache.clear();
  cache.set(hash, { stored, expires: now + CACHE_MS });
  return stored;
}

const unauthenticated = () => fail(401, UNAUTHENTICATED, { headers: { "WWW-Authenticate": "Bearer" } });

/** Route stage: resolves `Authorization: Bearer <key>` to the caller (account and mode), or ends the request. */
export async function authenticate(request: ApiRequest, env: Env): Promise<void> {
  const match = /^Bearer +(\S+) *$/i.exec(request.headers.get("Authorization") ?? "");
  if (!match) return unauthenticated();
  const key = match[1]!;
  const mode = key.startsWith("live_") ? "live" : key.startsWith("test_") ? "test" : null;
  if (!mode) fail(403, "Auth token must start with live_ or test_.");

  const stored = await lookup(env, await sha256Hex(key), request.receivedAt);
  if (!stored || stored.mode !== mode) return unauthenticated();
  if (stored.revokedAt) fail(403, "This API key has been revoked.");
  request.caller = { accountId: stored.accountId, testmode: mode === "test" } satisfies Caller;
}
