// Cron Triggers (wrangler.toml `[triggers]`): background work, apart from the routes.
import type { Env } from "../env";
import { expiredBefore } from "../pipeline/idempotency";
import { deleteExpiredIdempotencyKeys } from "../pipeline/idempotency.repository";
import { claimOverdueEvents, deleteEventsBefore } from "../webhooks/repository";

export const SWEEP_CRON = "*/5 * * * *";
/** A pending event whose attempt is this overdue lost its queue message (a send that failed after commit). */
export const SWEEP_GRACE_MS = 5 * 60 * 1000;
export const EVENT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

const log = (event: string, count: number) => console.log(JSON.stringify({ level: "info", event, count }));

/** Forget idempotency keys older than the 24-hour window. */
export async function cleanUpIdempotencyKeys(env: Env, now = Date.now()): Promise<number> {
  const deleted = await deleteExpiredIdempotencyKeys(env.DB, expiredBefore(now));
  log("idempotency_cleanup", deleted);
  return deleted;
}

/** Re-enqueue undelivered events that are not in flight: a lost send after commit is never a lost event. */
export async function sweepUndelivered(env: Env, now = Date.now()): Promise<number> {
  const due = await claimOverdueEvents(env.DB, now - SWEEP_GRACE_MS, now, 500);
  for (let i = 0; i < due.length; i += 100) await env.WEBHOOK_QUEUE.sendBatch(due.slice(i, i + 100).map((body) => ({ body })));
  log("webhook_sweep", due.length);
  return due.length;
}

/** Events (and their attempts) are kept 30 days. */
export async function deleteOldEvents(env: Env, now = Date.now()): Promise<number> {
  const deleted = await deleteEventsBefore(env.DB, now - EVENT_RETENTION_MS);
  log("webhook_event_retention", deleted);
  return deleted;
}

export async function runCron(controller: ScheduledController, env: Env): Promise<void> {
  if (controller.cron === SWEEP_CRON) {
    await sweepUndelivered(env, controller.scheduledTime);
    return;
  }
  await cleanUpIdempotencyKeys(env, controller.scheduledTime);
  await deleteOldEvents(env, controller.scheduledTime);
}
