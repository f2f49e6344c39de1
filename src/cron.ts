import { deleteExpiredIdempotencyKeys } from "./customers/repository";
import { primaryDatabase } from "./db/client";
import type { Env } from "./env";

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Cron Trigger: forget idempotency keys older than 24 hours. */
export async function cleanUpIdempotencyKeys(env: Env, now = Date.now()): Promise<number> {
  const deleted = await deleteExpiredIdempotencyKeys(primaryDatabase(env), now - IDEMPOTENCY_WINDOW_MS);
  console.log(JSON.stringify({ level: "info", event: "idempotency_cleanup", deleted }));
  return deleted;
}
