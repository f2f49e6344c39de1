// Route stage: the request's D1 session, opened once. Handlers and repositories receive it; nothing below decides
// which replica to read from. The bookmark after the request's queries goes back in `X-D1-Bookmark` (request.ts).
import { AccountDatabase, shardOf } from "../db/account-database";
import type { Database } from "../db/query";
import type { ApiRequest, Caller, Env } from "../env";
import { BAD_BOOKMARK, fail } from "../lib/errors";

// The shape of the bookmarks D1 hands out; anything else is refused before it reaches D1.
export const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

/**
 * Reads may be served by a nearby replica, but never one older than the `X-D1-Bookmark` the client sent back;
 * writes go to the primary. The session follows the account if it has moved to another shard (db/account-database.ts);
 * a well-formed bookmark the shard refuses (one of another shard, from before a move) reads from the primary.
 */
export function openSession(request: ApiRequest, env: Env): void {
  const bookmark = request.headers.get("X-D1-Bookmark");
  if (bookmark !== null && !BOOKMARK.test(bookmark)) fail(400, BAD_BOOKMARK);
  const caller = request.caller!;
  const constraint = request.method === "GET" ? (bookmark ?? "first-unconstrained") : "first-primary";
  request.db = new AccountDatabase(env, caller.accountId, shardOf(caller.accountId, caller.shard), constraint);
}

/** A fresh session on the caller's primary, for a read that must see every committed write (e.g. after losing a race). */
export const primary = (env: Env, caller: Caller): Database => new AccountDatabase(env, caller.accountId, shardOf(caller.accountId, caller.shard), "first-primary");

/** Which unique index a failed write hit, read from the D1 error message (or that of its `cause`). */
export function uniqueViolation(err: unknown): string | null {
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    const m = /UNIQUE constraint failed: (?:index '([^']+)'|(\w+)\.)/.exec(e.message ?? "");
    if (m) return m[1] ?? m[2]!;
  }
  return null;
}
