// Cron Triggers (wrangler.toml `[triggers]`): background work, apart from the routes. Each job visits every shard.
import type { Env } from "../env";
import { shardDatabase, shardsOf } from "../lib/shards";
import { deleteExpiredIdempotencyKeys } from "../pipeline/idempotency.repository";
import { claimOverdueEvents, deleteEventsBefore } from "../webhooks/delivery.repository";

const SWEEP_CRON = "*/5 * * * *";
/** A pending event whose attempt is this overdue lost its queue message (a send that failed after commit). */
export const SWEEP_GRACE_MS = 5 * 60 * 1000;
export const EVENT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/** Runs a job on every shard; the total of what it did. */
async function onEveryShard(env: Env, event: string, job: (db: D1Database, shard: number) => Promise<number>): Promise<number> {
  let count = 0;
  for (const shard of shardsOf(env)) count += await job(shardDatabase(env, shard), shard);
  console.log(JSON.stringify({ level: "info", event, count }));
  return count;
}

/** Forget idempotency keys older than the 24-hour window. */
export const cleanUpIdempotencyKeys = (env: Env, now = Date.now()) =>
  onEveryShard(env, "idempotency_cleanup", (db) => deleteExpiredIdempotencyKeys(db, now));

/** Re-enqueue undelivered events that are not in flight: a lost send after commit is never a lost event. */
export const sweepUndelivered = (env: Env, now = Date.now()) =>
  onEveryShard(env, "webhook_sweep", async (db, shard) => {
    const due = await claimOverdueEvents(db, now - SWEEP_GRACE_MS, now, 500);
    for (let i = 0; i < due.length; i += 100) await env.WEBHOOK_QUEUE.sendBatch(due.slice(i, i + 100).map((e) => ({ body: { ...e, shard } })));
    return due.length;
  });

/** Events (and their attempts) are kept 30 days. */
export const deleteOldEvents = (env: Env, now = Date.now()) =>
  onEveryShard(env, "webhook_event_retention", (db) => deleteEventsBefore(db, now - EVENT_RETENTION_MS));

export async function runCron(controller: ScheduledController, env: Env): Promise<void> {
  if (controller.cron === SWEEP_CRON) {
    await sweepUndelivered(env, controller.scheduledTime);
    return;
  }
  await cleanUpIdempotencyKeys(env, controller.scheduledTime);
  await deleteOldEvents(env, controller.scheduledTime);
}
