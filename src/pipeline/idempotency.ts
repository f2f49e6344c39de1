// Idempotency-Key, in one place for every write route (POST, PATCH, DELETE): the header rule, the fingerprint, the
// lookup and the replay. The record itself is written by the route's repository in the same batch as the change
// (idempotency.repository.ts has the shared statements and the 24-hour window), so it exists exactly when the change
// committed.
import type { Caller, Env, IdempotentWrite, RouteRequest } from "../env";
import { hmacSha256, toHex } from "../lib/crypto";
import type { Database } from "../db/query";
import { primary, uniqueViolation } from "./database";
import { fail } from "../lib/errors";
import { findIdempotencyRecord } from "./idempotency.repository";

/**
 * 1 to 64 printable ASCII characters, not starting or ending with a space: HTTP trims header values, so a key with
 * spaces at its ends could never arrive as sent. The OpenAPI document states this very pattern.
 */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/;

/**
 * The fingerprint is an HMAC keyed with the IDEMPOTENCY_SECRET Worker secret, never a plain hash: what a request's body
 * held (an endpoint's secret, an email) cannot be confirmed by guessing against what D1 stores.
 */
function fingerprintSecret(env: Env): string {
  const secret = env.IDEMPOTENCY_SECRET;
  if (!secret || secret.length < 32) {
    console.error(JSON.stringify({ level: "error", event: "config", error: "IDEMPOTENCY_SECRET is missing or shorter than 32 characters (wrangler secret put IDEMPOTENCY_SECRET)" }));
    fail(503, "Idempotency-Key is not available on this server right now. Please try again later.", { headers: { "Retry-After": "60" } });
  }
  return secret;
}

/** `/v1/customers/` and `/v1/customers` are one resource, so one fingerprint. */
const canonicalPath = (pathname: string) => pathname.replace(/\/+$/, "") || "/";

/**
 * Route stage, after the body is read: a key seen before answers here (the stored answer, or 409 if it was used for
 * another request); a new key is handed to the handler as `request.idempotency`.
 */
export async function idempotency(request: RouteRequest, env: Env): Promise<Response | undefined> {
  const key = request.headers.get("Idempotency-Key");
  if (key === null) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) fail(400, "The Idempotency-Key header must be 1 to 64 printable ASCII characters.");
  const request_ = `${request.method} ${canonicalPath(request.pathname)}\n${JSON.stringify(request.input ?? null)}`;
  const fingerprint = toHex(hmacSha256(fingerprintSecret(env), request_));
  request.idempotency = { key, fingerprint, createdAt: request.receivedAt };
  return replay(request.db, request.caller, request.idempotency);
}

/** The stored answer for this key, a 409 if the key was used for another request, or undefined if it is new. */
async function replay(db: Database, caller: Caller, write: IdempotentWrite): Promise<Response | undefined> {
  const stored = await findIdempotencyRecord(db, caller, write);
  if (!stored) return undefined;
  if (stored.fingerprint !== write.fingerprint) {
    fail(409, "This Idempotency-Key was already used with a different request. Use a new key for a new request.");
  }
  const headers = new Headers(JSON.parse(stored.headers) as Record<string, string>);
  headers.set("Idempotent-Replayed", "true");
  if (stored.body) headers.set("Content-Type", "application/json; charset=utf-8");
  return new Response(stored.body || null, { status: stored.status, headers });
}

/**
 * After a write lost a unique-index race: if a concurrent request with the same key committed first, its answer
 * (or a 409 if it was another request). Read from the primary, so a lagging replica can never hide the winner's record.
 */
export function replayWinner(env: Env, caller: Caller, write: IdempotentWrite): Promise<Response | undefined> {
  return replay(primary(env, caller), caller, write);
}

/**
 * For a keyed write that failed: if it failed on a unique index (the key's own, or the resource's, which a concurrent
 * request with the same key may have reached first), the answer of that request; otherwise undefined.
 */
export async function replayRaceWinner(err: unknown, env: Env, caller: Caller, write: IdempotentWrite | undefined): Promise<Response | undefined> {
  return write && uniqueViolation(err) ? replayWinner(env, caller, write) : undefined;
}
