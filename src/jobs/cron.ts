// Cron Triggers (wrangler.toml `[triggers]`): background work, apart from the routes. Each job visits every shard.
import type { Env } from "../env";
import { shardDatabase, shardsOf } from "../lib/shards";
import { backfillSearchIndex } from "../customers/search.repository";
import { deleteExpiredSessions } from "../dashboard/sessions.repository";
import { deleteExpiredIdempotencyKeys } from "../pipeline/idempotency.repository";
import { claimOverdueEvents, deleteEventsBefore, endpointSecretsAfter, resealEndpoint } from "../webhooks/delivery.repository";
import { enqueueDeliveries } from "../webhooks/events/event";
import { encryptSecret, openSecret } from "../webhooks/secrets";

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

/** How long one sweep may run, over every shard; the next starts 5 minutes later where this one stopped. */
export const SWEEP_BUDGET_MS = 20_000;
const SWEEP_PAGE = 500;

/**
 * Re-enqueue undelivered events that are not in flight: a lost send after commit is never a lost event. Pages of 500,
 * oldest due first, until none is overdue or the time budget is spent, so a backlog drains in minutes, not days. An
 * event sent here and by a late retry at once is still attempted once: the consumer claims each attempt in D1.
 */
export const sweepUndelivered = (env: Env, now = Date.now(), budgetMs = SWEEP_BUDGET_MS) => {
  const deadline = Date.now() + budgetMs;
  return onEveryShard(env, "webhook_sweep", async (db, shard) => {
    let count = 0;
    for (;;) {
      const due = await claimOverdueEvents(db, now - SWEEP_GRACE_MS, now, SWEEP_PAGE);
      await enqueueDeliveries(env, due.map((e) => ({ ...e, shard })));
      count += due.length;
      if (due.length < SWEEP_PAGE || Date.now() >= deadline) return count;
    }
  });
};

/**
 * While WEBHOOK_SECRET_KEY_PREVIOUS is set (a rotation of WEBHOOK_SECRET_KEY), re-encrypt every endpoint secret still
 * sealed under it. The log line's `remaining` says what could not be opened with either key; at 0 after a run, the
 * previous key can be deleted.
 */
export async function resealEndpointSecrets(env: Env): Promise<{ resealed: number; remaining: number }> {
  const totals = { resealed: 0, remaining: 0 };
  if (!env.WEBHOOK_SECRET_KEY_PREVIOUS) return totals;
  const reseal = async (stored: string | null) => {
    if (stored === null) return { value: null, changed: false };
    const { secret, underPrevious } = await openSecret(env, stored);
    return underPrevious ? { value: await encryptSecret(env, secret), changed: true } : { value: stored, changed: false };
  };
  for (const shard of shardsOf(env)) {
    const db = shardDatabase(env, shard);
    for (let after = ""; ;) {
      const page = await endpointSecretsAfter(db, after, 100);
      for (const row of page) {
        try {
          const [secret, previous] = [await reseal(row.secret), await reseal(row.previous_secret)];
          if (!secret.changed && !previous.changed) continue;
          await resealEndpoint(db, { id: row.id, oldSecret: row.secret, oldPrevious: row.previous_secret, secret: secret.value!, previousSecret: previous.value });
          totals.resealed++;
        } catch {
          totals.remaining++; // opens under neither key: said in the log, left as it is
        }
      }
      if (page.length < 100) break;
      after = page.at(-1)!.id;
    }
  }
  console.log(JSON.stringify({ level: "info", event: "webhook_secret_reseal", ...totals }));
  return totals;
}

/** Events (and their attempts) are kept 30 days. */
export const deleteOldEvents = (env: Env, now = Date.now()) =>
  onEveryShard(env, "webhook_event_retention", (db) => deleteEventsBefore(db, now - EVENT_RETENTION_MS));

/**
 * Batches of the search backfill per run, over every shard (each batch is a read and a batch of 2 queries: the
 * 5-minute run stays well within a Free plan's 50 queries an invocation): 200,000 customers every 5 minutes.
 */
export const BACKFILL_BATCHES = 4;

/** Indexes customers written before migration 0009 (search.repository.ts), a bounded part each run, until none is left. */
export async function backfillSearch(env: Env, batches = BACKFILL_BATCHES, rows?: number): Promise<number> {
  let left = batches;
  return onEveryShard(env, "search_backfill", async (db) => {
    let runs = 0;
    for (let more = true; more && left > 0; left--, runs++) more = (await backfillSearchIndex(db, rows)) !== null;
    return runs;
  });
}

export async function runCron(controller: ScheduledController, env: Env): Promise<void> {
  if (controller.cron === SWEEP_CRON) {
    await sweepUndelivered(env, controller.scheduledTime);
    await resealEndpointSecrets(env);
    await backfillSearch(env);
    return;
  }
  await cleanUpIdempotencyKeys(env, controller.scheduledTime);
  await deleteOldEvents(env, controller.scheduledTime);
  await deleteExpiredSessions(env.DB, controller.scheduledTime); // the dashboard's, on shard 0 only
}
