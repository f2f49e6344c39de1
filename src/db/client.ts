import type { ApiRequest, Env } from "../env";
import { fail } from "../errors";

/** What the repository runs its queries on: a request's D1 session, or the database itself (the cron). */
export type Database = Pick<D1Database, "prepare" | "batch">;

// The shape of the bookmarks D1 hands out; anything else is refused before it reaches D1.
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

/**
 * The request's database, through a D1 session: reads may be served by a nearby replica, but never one older than
 * the `X-D1-Bookmark` the client sent back; writes go to the primary. The bookmark after this request's queries is
 * returned in `X-D1-Bookmark` (see observability.ts).
 */
export function openDatabase(request: ApiRequest, env: Env): Database {
  const bookmark = request.headers.get("X-D1-Bookmark");
  if (bookmark !== null && !BOOKMARK.test(bookmark)) fail(400, "The X-D1-Bookmark header is not a bookmark this API returned.");
  const constraint = request.method === "GET" ? (bookmark ?? "first-unconstrained") : "first-primary";
  request.d1Session = env.DB.withSession(constraint);
  return request.d1Session;
}

/** Which unique index a failed write hit, read from the D1 error message (or that of its `cause`). */
export function uniqueViolation(err: unknown): string | null {
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    const m = /UNIQUE constraint failed: (?:index '([^']+)'|(\w+)\.)/.exec(e.message ?? "");
    if (m) return m[1] ?? m[2]!;
  }
  return null;
}
