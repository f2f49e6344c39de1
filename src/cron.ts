import { deleteExpiredIdempotencyKeys, IDEMPOTENCY_WINDOW_MS } from "./customers/repository";
import type { Env } from "./env";


/** Cron Trigger: forget idempotency keys older than 24 hours. */
export async function cleanUpIdempotencyKeys(env: Env, now = Date.now()): Promise<number> {
  const deleted = await deleteExpiredIdempotencyKeys(env.DB, now - IDEMPOTENCY_WINDOW_MS);
  console.log(JSON.stringify({ level: "info", event: "idempotency_cleanup", deleted }));
  return deleted;
}
