// The Queues consumer: delivers webhook events. It knows nothing of HTTP routes; it reads the event and the
// endpoint it goes to now from D1, signs, POSTs, records the attempt, and retries with backoff or dead-letters.
import type { DeliveryMessage, Env } from "../env";
import { shardDatabase } from "../lib/shards";
import { decryptSecret } from "../webhooks/secrets";
import { signatureHeaders } from "../webhooks/signature";
import { loadDelivery, markNoEndpoint, recordAttempt } from "../webhooks/delivery.repository";

/** Seconds before each retry; 9 retries (10 attempts) over about 34 hours, unless WEBHOOK_RETRY_DELAYS says otherwise. */
export const DEFAULT_RETRY_DELAYS = [30, 120, 600, 1800, 3600, 7200, 21600, 43200, 43200];
const DELIVERY_TIMEOUT_MS = 10_000;

export function retryDelays(env: Env): number[] {
  if (!env.WEBHOOK_RETRY_DELAYS?.trim()) return DEFAULT_RETRY_DELAYS;
  const configured = env.WEBHOOK_RETRY_DELAYS.split(",").map((s) => (s.trim() === "" ? NaN : Number(s)));
  // Queues accept a retry delay of at most 12 hours.
  return configured.every((n) => Number.isInteger(n) && n >= 0 && n <= 43_200) ? configured : DEFAULT_RETRY_DELAYS;
}

export async function deliverBatch(batch: MessageBatch<DeliveryMessage>, env: Env): Promise<void> {
  await Promise.all(batch.messages.map((message) => deliver(message, env).catch((err: unknown) => {
    // D1 or the queue failed: try again soon; after the queue's max_retries the message goes to the dead-letter queue.
    console.error(JSON.stringify({ level: "error", event: "webhook_delivery_error", eventId: message.body.eventId, error: String(err) }));
    message.retry({ delaySeconds: 30 });
  })));
}

async function deliver(message: Message<DeliveryMessage>, env: Env): Promise<void> {
  const { eventId, accountId, testmode } = message.body;
  const db = shardDatabase(env, message.body.shard ?? 0);
  const { event, endpoint } = await loadDelivery(db, eventId, { accountId, testmode });
  if (!event || event.delivery !== "pending") return message.ack(); // delivered, dead, past retention, or moved away
  if (!endpoint) {
    await markNoEndpoint(db, eventId); // deleted since: nothing more is sent
    return message.ack();
  }

  const started = Date.now();
  const secrets: [string, ...string[]] = [await decryptSecret(env, endpoint.secret)];
  if (endpoint.previousSecret && (endpoint.previousSecretUntil ?? 0) > started) secrets.push(await decryptSecret(env, endpoint.previousSecret));
  let status: number | null = null;
  let error: string | null = null;
  try {
    const response = await fetch(endpoint.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "User-Agent": "Vatly-Webhooks/1", ...(signatureHeaders(event.body, eventId, Math.floor(started / 1000), secrets)) },
      body: event.body,
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    status = response.status;
    await response.body?.cancel();
  } catch (err) {
    error = (err as Error).name === "TimeoutError" ? `No answer within ${DELIVERY_TIMEOUT_MS / 1000} s` : String((err as Error).message ?? err).slice(0, 200);
  }

  const delays = retryDelays(env);
  const attempt = event.attempts + 1;
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
    await env.WEBHOOK_DEAD_LETTERS.send(message.body);
    return message.ack();
  }
  message.retry({ delaySeconds: delay });
}
