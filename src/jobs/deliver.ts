// The Queues consumer: delivers webhook events. It knows nothing of HTTP routes; it claims the event's next attempt
// in D1, signs, POSTs to the endpoint the event is bound to, records the attempt, and retries with backoff or
// dead-letters. Each message is handled alone: one that fails, or is malformed, never fails or repeats the others.
import * as v from "valibot";
import type { DeliveryMessage, Env } from "../env";
import { EVENT_ID } from "../lib/ids";
import { AccountDatabase, shardOf } from "../db/account-database";
import { claimDelivery, markNoEndpoint, recordAttempt } from "../webhooks/delivery.repository";
import { openSecret } from "../webhooks/secrets";
import { signatureHeaders } from "../webhooks/signature";

/** Seconds before each retry; 9 retries (10 attempts) over about 34 hours, unless WEBHOOK_RETRY_DELAYS says otherwise. */
export const DEFAULT_RETRY_DELAYS = [30, 120, 600, 1800, 3600, 7200, 21600, 43200, 43200];
const DELIVERY_TIMEOUT_MS = 10_000;
/** How long a claimed attempt is held: longer than the POST's timeout plus recording it. */
export const ATTEMPT_LEASE_MS = 30_000;
/** A failure of D1 or the queue itself (not of the receiver): the message comes back after the lease. */
const INFRASTRUCTURE_RETRY_SECONDS = ATTEMPT_LEASE_MS / 1000;

export function retryDelays(env: Env): number[] {
  if (!env.WEBHOOK_RETRY_DELAYS?.trim()) return DEFAULT_RETRY_DELAYS;
  const configured = env.WEBHOOK_RETRY_DELAYS.split(",").map((s) => (s.trim() === "" ? NaN : Number(s)));
  // Queues accept a retry delay of at most 12 hours.
  return configured.every((n) => Number.isInteger(n) && n >= 0 && n <= 43_200) ? configured : DEFAULT_RETRY_DELAYS;
}

const MessageSchema = v.object({
  eventId: v.pipe(v.string(), v.regex(EVENT_ID)),
  accountId: v.pipe(v.string(), v.minLength(1)),
  testmode: v.boolean(),
  shard: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
});

/**
 * What an attempt that got no answer says. workerd reports a closed port (connection refused) and a connection cut
 * mid-way alike, as "Network connection lost.": the text names both, and where nothing was listening.
 */
function fetchError(err: unknown, url: string): string {
  if ((err as Error).name === "TimeoutError") return `No answer within ${DELIVERY_TIMEOUT_MS / 1000} s`;
  const message = String((err as Error).message ?? err);
  if (message === "Network connection lost.") {
    return `Connection refused or lost before an answer: is anything listening at ${new URL(url).host}? (Network connection lost.)`;
  }
  return message.slice(0, 200);
}

const log = (level: "info" | "error", event: string, fields: object) => console[level === "error" ? "error" : "log"](JSON.stringify({ level, event, ...fields }));

export async function deliverBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await Promise.all(batch.messages.map((message) => deliverOne(message, env)));
}

async function deliverOne(message: Message<unknown>, env: Env): Promise<void> {
  const parsed = v.safeParse(MessageSchema, message.body);
  if (!parsed.success) {
    // Nothing to deliver and nothing a retry could fix: acknowledged, and said in the log.
    log("error", "webhook_message_malformed", { messageId: message.id, body: JSON.stringify(message.body ?? null).slice(0, 200) });
    return message.ack();
  }
  const body: DeliveryMessage = parsed.output;
  let db: AccountDatabase;
  try {
    // The shard the message names, followed if the account has moved since (the old copy never delivers).
    db = new AccountDatabase(env, body.accountId, shardOf(body.accountId, body.shard ?? 0), null);
  } catch (err) {
    // The shard is not bound to this deployment: no retry can reach it. Dead-lettered with the reason, once.
    log("error", "webhook_delivery_failed", { eventId: body.eventId, shard: body.shard, error: String((err as Error).message) });
    await env.WEBHOOK_DEAD_LETTERS.send(body).catch(() => {});
    return message.ack();
  }
  try {
    await deliver(message, body, db, env);
  } catch (err) {
    // D1 or the queue failed: try again after the lease; after the queue's max_retries, the dead-letter queue.
    log("error", "webhook_delivery_error", { eventId: body.eventId, error: String(err) });
    message.retry({ delaySeconds: INFRASTRUCTURE_RETRY_SECONDS });
  }
}

async function deliver(message: Message<unknown>, body: DeliveryMessage, db: AccountDatabase, env: Env): Promise<void> {
  const { eventId } = body;
  const started = Date.now();
  const { event, endpoint } = await claimDelivery(db, eventId, body, started, started + ATTEMPT_LEASE_MS);
  // Delivered, dead, past retention, moved away, or not due (another message holds or made this attempt).
  if (!event) return message.ack();
  if (!endpoint || endpoint.id !== event.endpointId) {
    await markNoEndpoint(db, eventId); // the endpoint it was for is gone: nothing more is sent, to it or to another
    return message.ack();
  }

  let status: number | null = null;
  let error: string | null = null;
  try {
    const secrets: [string, ...string[]] = [(await openSecret(env, endpoint.secret)).secret];
    if (endpoint.previousSecret && (endpoint.previousSecretUntil ?? 0) > started) secrets.push((await openSecret(env, endpoint.previousSecret)).secret);
    try {
      const response = await fetch(endpoint.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "User-Agent": "Vatly-Webhooks/1", ...signatureHeaders(event.body, eventId, Math.floor(started / 1000), secrets) },
        body: event.body,
        redirect: "manual",
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      status = response.status;
      await response.body?.cancel();
    } catch (err) {
      error = fetchError(err, endpoint.url);
    }
  } catch (err) {
    // Nothing was sent: the delivery could not be signed. It is an attempt all the same, with the reason, on the
    // schedule: fixing the key in time lets a later one through; otherwise the event ends as failed, saying why.
    error = `Not sent: the endpoint's signing secret could not be decrypted (${String((err as Error).message ?? err).slice(0, 150)})`;
  }

  const delays = retryDelays(env);
  const attempt = event.attempts;
  const delivered = status !== null && status >= 200 && status < 300;
  const exhausted = !delivered && attempt > delays.length;
  const delay = delivered || exhausted ? 0 : delays[attempt - 1]!;
  await recordAttempt(db, {
    eventId, attempt, at: started, url: endpoint.url, status, error, durationMs: Date.now() - started,
    delivery: delivered ? "delivered" : exhausted ? "failed" : "pending",
    nextAttemptAt: started + delay * 1000,
  });
  if (delivered) return message.ack();
  if (exhausted) {
    // Out of attempts: the dead-letter queue has it; the event stays retrievable through the API.
    log("error", "webhook_delivery_failed", { eventId, attempts: attempt, error: error ?? `HTTP ${status}` });
    await env.WEBHOOK_DEAD_LETTERS.send(body);
    return message.ack();
  }
  message.retry({ delaySeconds: delay });
}
