import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import worker from "../../src/index";
import type { DeliveryMessage } from "../../src/env";
import { call, callWithEnv, newKey, type CallOptions } from "../helpers";

export const SECRET = "whsec-test-secret-0123";

/** A queue binding that records what the API sends instead of delivering it (the real consumer is driven by hand). */
export function recordingQueue() {
  const sent: DeliveryMessage[] = [];
  const queue = {
    send: async (body: DeliveryMessage) => void sent.push(body),
    sendBatch: async (batch: { body: DeliveryMessage }[]) => void sent.push(...batch.map((m) => m.body)),
  } as unknown as Queue<DeliveryMessage>;
  return { sent, queue };
}

/** An account (test mode) with an endpoint, whose API calls go through a recording queue. */
export async function accountWithEndpoint(url = "https://receiver.example/hooks") {
  const { key, accountId } = await newKey();
  const { sent, queue } = recordingQueue();
  const dead = recordingQueue();
  const overrides = { WEBHOOK_QUEUE: queue, WEBHOOK_DEAD_LETTERS: dead.queue };
  const api = (path: string, options: CallOptions = {}) => callWithEnv(overrides, path, { key, ...options });
  const created = await api("/v1/webhook-endpoints", { json: { url, secret: SECRET } });
  expect(created.status).toBe(201);
  const endpoint = (await created.json()) as { id: string };
  return { key, accountId, sent, dead: dead.sent, overrides, api, endpoint };
}

/**
 * Runs the Worker's queue consumer over messages, with `fetch` answering as `receiver` does. As the queue would, it
 * hands a message over once its delay has passed: each event's next attempt is made due first (`early` skips that,
 * for a message that arrives before its time).
 */
export async function consume(
  messages: DeliveryMessage[], receiver: (request: Request) => Promise<Response> | Response, overrides: Partial<Cloudflare.Env> = {}, attempts = 1, early = false,
) {
  if (!early) {
    for (const m of messages) {
      if (typeof m?.eventId !== "string") continue; // a malformed message: nothing to make due
      const db = (env as unknown as Record<string, D1Database | undefined>)[(m.shard ?? 0) === 0 ? "DB" : `DB_${m.shard}`];
      await db?.prepare("UPDATE webhook_events SET next_attempt_at = min(next_attempt_at, ?) WHERE id = ?").bind(Date.now(), m.eventId).run();
    }
  }
  const received: Request[] = [];
  vi.stubGlobal("fetch", async (input: RequestInfo, init?: RequestInit) => {
    const request = new Request(input, init);
    received.push(request.clone());
    return receiver(request);
  });
  // A batch that records what the consumer decides for each message (ack, or retry and its delay).
  const result = { explicitAcks: [] as string[], retryMessages: [] as { msgId: string; delaySeconds?: number }[] };
  const batch = {
    queue: "vatly-webhooks",
    messages: messages.map((body, i) => ({
      id: `m${i}`, timestamp: new Date(), attempts, body,
      ack: () => void result.explicitAcks.push(`m${i}`),
      retry: (options?: { delaySeconds?: number }) => void result.retryMessages.push({ msgId: `m${i}`, delaySeconds: options?.delaySeconds }),
    })),
    ackAll() {}, retryAll() {},
  } as unknown as MessageBatch<DeliveryMessage>;
  try {
    await worker.queue(batch as MessageBatch, { ...env, ...overrides });
    return { result, received };
  } finally {
    vi.unstubAllGlobals();
  }
}

export async function hmacHex(secret: string, body: string) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return [...new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function hmacBase64(secret: string, body: string) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)))));
}

export const eventRow = (id: string) =>
  env.DB.prepare("SELECT delivery, attempts, next_attempt_at FROM webhook_events WHERE id = ?").bind(id).first<{ delivery: string; attempts: number; next_attempt_at: number }>();

export { call };
