// Route stage: the request's D1 session, opened once. Handlers and repositories receive it; nothing below decides
// which replica to read from. The bookmark after the request's queries goes back in `X-D1-Bookmark` (request.ts).
import type { Database } from "../db/query";
import type { ApiRequest, Caller, Env } from "../env";
import { shardDatabase } from "../lib/shards";
import { BAD_BOOKMARK, fail } from "../lib/errors";

// The shape of the bookmarks D1 hands out; anything else is refused before it reaches D1.
export const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

/**
 * Reads may be served by a nearby replica, but never one older than the `X-D1-Bookmark` the client sent back;
 * writes go to the primary.
 */
export function openSession(request: ApiRequest, env: Env): void {
  const bookmark = request.headers.get("X-D1-Bookmark");
  if (bookmark !== null && !BOOKMARK.test(bookmark)) fail(400, BAD_BOOKMARK);
  const read = request.method === "GET";
  const caller = request.caller!;
  // While account:move copies the account to another shard, its writes would be lost: refuse them, keep reads.
  if (!read && caller.moving) {
    fail(503, "This account is being moved between databases; writes resume within a few minutes.", { headers: { "Retry-After": "30" } });
  }
  request.db = shardDatabase(env, caller.shard).withSession(read ? (bookmark ?? "first-unconstrained") : "first-primary");
}

/** A fresh session on the caller's primary, for a read that must see every committed write (e.g. after losing a race). */
export const primary = (env: Env, caller: Caller): Database => shardDatabase(env, caller.shard).withSession("first-primary");

/** Which unique index a failed write hit, read from the D1 error message (or that of its `cause`). */
export function uniqueViolation(err: unknown): string | null {
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    const m = /UNIQUE constraint failed: (?:index '([^']+)'|(\w+)\.)/.exec(e.message ?? "");
    if (m) return m[1] ?? m[2]!;
  }
  return null;
}
