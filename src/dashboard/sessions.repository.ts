// Every query on the dashboard's links and sessions (table dashboard_sessions, shard 0 only; migrations/0008).
// Only SHA-256 hashes of tokens are stored.
import { and, eq, gt, lt, sql } from "drizzle-orm";
import { bind, build, p, type Database } from "../db/query";
import { dashboardSessions } from "../db/schema";
import type { Caller } from "../env";

const live = (kind: "link" | "session") =>
  and(eq(dashboardSessions.tokenHash, p("hash")), eq(dashboardSessions.kind, kind), gt(dashboardSessions.expiresAt, p("now")));

const queries = {
  insert: build.insert(dashboardSessions).values({
    tokenHash: p("hash"), kind: p("kind"), accountId: p("accountId"), testmode: p("testmode"), shard: p("shard"), expiresAt: p("expiresAt"),
  }).toSQL(),
  // A link becomes a session in one batch: the session is made from the link's row, then the link is deleted. Two
  // uses of one link at once: one batch finds the row, the other finds nothing and makes nothing.
  sessionFromLink: build.insert(dashboardSessions).select(build.select({
    tokenHash: sql`${p("sessionHash")}`.as("token_hash"), kind: sql`'session'`.as("kind"), accountId: dashboardSessions.accountId,
    testmode: dashboardSessions.testmode, shard: dashboardSessions.shard, expiresAt: sql`${p("expiresAt")}`.as("expires_at"),
  }).from(dashboardSessions).where(live("link"))).toSQL(),
  deleteLink: build.delete(dashboardSessions).where(eq(dashboardSessions.tokenHash, p("hash"))).toSQL(),
  find: build.select({ accountId: dashboardSessions.accountId, testmode: dashboardSessions.testmode, shard: dashboardSessions.shard, expiresAt: dashboardSessions.expiresAt })
    .from(dashboardSessions).where(live("session")).toSQL(),
  deleteSession: build.delete(dashboardSessions).where(and(eq(dashboardSessions.tokenHash, p("hash")), eq(dashboardSessions.kind, "session"))).toSQL(),
  deleteExpired: build.delete(dashboardSessions).where(lt(dashboardSessions.expiresAt, p("now"))).toSQL(),
};

export interface Grant { accountId: string; testmode: boolean; shard: number; expiresAt: number }

/** The statement that stores a link or session (the dashboard:link script runs it too, locally or through wrangler). */
export const insertQuery = queries.insert;
export const insertValues = (hash: string, kind: "link" | "session", grant: Grant) =>
  ({ hash, kind, accountId: grant.accountId, testmode: grant.testmode ? 1 : 0, shard: grant.shard, expiresAt: grant.expiresAt });

type Row = { account_id: string; testmode: number; shard: number; expires_at: number };
const toGrant = (row: Row | null | undefined): Grant | undefined =>
  row ? { accountId: row.account_id, testmode: row.testmode === 1, shard: row.shard, expiresAt: row.expires_at } : undefined;

/** Uses a link once: its session is stored and the link is gone, or nothing happened (unknown, used or expired). */
export async function exchangeLink(db: Database, linkHash: string, sessionHash: string, expiresAt: number, now: number): Promise<Grant | undefined> {
  const [, , found] = await db.batch([
    bind(db, queries.sessionFromLink, { hash: linkHash, sessionHash, expiresAt, now }),
    bind(db, queries.deleteLink, { hash: linkHash }),
    bind(db, queries.find, { hash: sessionHash, now }),
  ]);
  return toGrant(found!.results[0] as Row | undefined);
}

export const findSession = async (db: Database, hash: string, now: number) => toGrant(await bind(db, queries.find, { hash, now }).first<Row>());

export const deleteSession = (db: Database, hash: string) => bind(db, queries.deleteSession, { hash }).run();

/** Forgets expired links and sessions (hourly cron); how many. */
export const deleteExpiredSessions = async (db: Database, now: number) => (await bind(db, queries.deleteExpired, { now }).run()).meta.changes;

export const callerOf = (grant: Grant): Caller => ({ accountId: grant.accountId, testmode: grant.testmode, shard: grant.shard });
