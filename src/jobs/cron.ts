// Cron Triggers (wrangler.toml `[triggers]`): background clean-up, apart from the routes.
import type { Env } from "../env";
import { expiredBefore } from "../pipeline/idempotency";
import { deleteExpiredIdempotencyKeys } from "../pipeline/idempotency.repository";

/** Forget idempotency keys older than the 24-hour window. */
export async function cleanUpIdempotencyKeys(env: Env, now = Date.now()): Promise<number> {
  const deleted = await deleteExpiredIdempotencyKeys(env.DB, expiredBefore(now));
  console.log(JSON.stringify({ level: "info", event: "idempotency_cleanup", deleted }));
  return deleted;
}

export async function runCron(controller: ScheduledController, env: Env): Promise<void> {
  await cleanUpIdempotencyKeys(env, controller.scheduledTime);
}
