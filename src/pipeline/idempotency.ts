// Idempotency-Key, in one place for every write route (POST, PATCH, DELETE): the header rule, the fingerprint and the
// replay. The key's record is read and written by the route's repository in the same batch as the change
// (idempotency.repository.ts has the shared statements and the 24-hour window), so it exists exactly when the change
// committed, and a keyed write costs one round trip like any other.
import { StatusError } from "itty-router";
import type { ApiRequest, Caller, Env, IdempotentWrite, RouteRequest } from "../env";
import { hmacSha256Hex } from "../lib/crypto";
import { primary, uniqueViolation } from "./database";
import { fail } from "../lib/errors";
import { toErrorResponse } from "./errors";
import { findIdempotencyRecord, type StoredAnswer } from "./idempotency.repository";

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
 * Route stage, after the body is read: checks the header and fingerprints the request, without a D1 read. The key is
 * settled in the write's own batch (idempotency.repository.ts): a replay or a 409 costs the same one round trip.
 */
export async function idempotency(request: RouteRequest, env: Env): Promise<void> {
  const key = request.headers.get("Idempotency-Key");
  if (key === null) return;
  if (!IDEMPOTENCY_KEY.test(key)) fail(400, "The Idempotency-Key header must be 1 to 64 printable ASCII characters.");
  const request_ = `${request.method} ${canonicalPath(request.pathname)}\n${JSON.stringify(request.input ?? null)}`;
  request.idempotency = { key, fingerprint: await hmacSha256Hex(fingerprintSecret(env), request_), createdAt: request.receivedAt };
}

/**
 * What a write's batch found for its key: the stored answer (with Idempotent-Replayed), a 409 if the key was used for
 * another request, or undefined when the key is new (the batch then made the change). Marks the key as settled.
 */
export function replayStored(stored: StoredAnswer | undefined, write: IdempotentWrite | undefined): Response | undefined {
  if (!write) return undefined;
  write.settled = true;
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
export async function replayWinner(env: Env, caller: Caller, write: IdempotentWrite): Promise<Response | undefined> {
  return replayStored((await findIdempotencyRecord(primary(env, caller), caller, write)) ?? undefined, write);
}

/**
 * For a keyed write that failed: if it failed on a unique index (the key's own, or the resource's, which a concurrent
 * request with the same key may have reached first), the answer of that request; otherwise undefined.
 */
export async function replayRaceWinner(err: unknown, env: Env, caller: Caller, write: IdempotentWrite | undefined): Promise<Response | undefined> {
  return write && uniqueViolation(err) ? replayWinner(env, caller, write) : undefined;
}

/**
 * For the router's `catch` stage: a keyed write refused before its batch ran (a body that does not validate, an id
 * that cannot exist) still answers as its key says: the stored answer, or the 409 of a key used for another request,
 * as if the key had been checked first. The one path that reads the key alone, and only for a refused request.
 */
export async function answerOfKey(err: unknown, request: ApiRequest, env: Env): Promise<Response | undefined> {
  const write = request.idempotency;
  if (!write || write.settled || !request.caller || !(err instanceof StatusError) || err.status < 400 || err.status >= 500) return undefined;
  try {
    return replayStored((await findIdempotencyRecord(request.db ?? primary(env, request.caller), request.caller, write)) ?? undefined, write);
  } catch (conflict) {
    return toErrorResponse(conflict, request); // the 409
  }
}
