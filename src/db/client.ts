import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Database = DrizzleD1Database<typeof schema>;

// One drizzle instance per D1 binding per isolate, not one per request.
const instances = new WeakMap<D1Database, Database>();

export function database(d1: D1Database): Database {
  let db = instances.get(d1);
  if (!db) instances.set(d1, (db = drizzle(d1, { schema })));
  return db;
}

/** Which unique index a failed write hit, read from the D1 error (drizzle wraps it as `cause`). */
export function uniqueViolation(err: unknown): string | null {
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    const m = /UNIQUE constraint failed: (?:index '([^']+)'|(\w+)\.)/.exec(e.message ?? "");
    if (m) return m[1] ?? m[2]!;
  }
  return null;
}
