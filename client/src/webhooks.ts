// Verifying a delivery: the Standard Webhooks headers (webhook-id, webhook-timestamp within a tolerance,
// webhook-signature over id.timestamp.body, signed with every secret still valid), against one or several secrets,
// compared in constant time. After a rotation a receiver holding only the old secret or only the new one verifies every
// delivery for 24 hours. A delivery with Vatly-Signature alone (hex HMAC-SHA256 of the raw body, no timestamp) is
// refused unless the caller accepts replays by name: that signature never expires, so a copy of one genuine
// delivery could be sent again at any time. WebCrypto only: Node 18+, Workers, Deno, Bun.
import type { components } from "./openapi.js";

export interface VerifyOptions {
  /**
   * The endpoint's secret, or several during a rotation: as given to the API, or in the `whsec_...` form the Standard
   * Webhooks libraries and `webhooks:listen` print (the same key, base64).
   */
  secrets: string | string[];
  /** How far webhook-timestamp may be from now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** Now, in seconds (for tests). */
  now?: number;
  /**
   * Also accept a delivery that carries only `Vatly-Signature` (a sender without the Standard Webhooks headers). That
   * signature covers the body alone, with no id or time: it CANNOT refuse a replay. Anyone who saw one genuine
   * delivery (a log, a proxy) can send it again a week later and it verifies. Off by default; turn it on only for a
   * sender you know cannot send the Standard Webhooks headers, and refuse repeated event ids yourself.
   */
  acceptReplayableVatlySignature?: boolean;
}

type Headers_ = Headers | Record<string, string | string[] | undefined>;

const header = (headers: Headers_, name: string): string | undefined => {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
  return Array.isArray(found) ? found[0] : found;
};

async function subtle(): Promise<SubtleCrypto> {
  // Node 18 has WebCrypto but not always as a global.
  return (globalThis as { crypto?: Crypto }).crypto?.subtle ?? ((await import("node:crypto" as string)) as { webcrypto: Crypto }).webcrypto.subtle;
}

/**
 * The HMAC keys a secret may stand for: its UTF-8 bytes, and for a `whsec_...` secret also the base64 bytes after the
 * prefix (the Standard Webhooks form of the same key). Both are secrets only the receiver holds.
 */
function keysOf(secret: string): Uint8Array<ArrayBuffer>[] {
  const keys: Uint8Array<ArrayBuffer>[] = [Uint8Array.from(new TextEncoder().encode(secret))];
  if (secret.startsWith("whsec_")) {
    try {
      keys.unshift(Uint8Array.from(atob(secret.slice(6)), (c) => c.charCodeAt(0)));
    } catch {
      // not base64: only the secret as typed
    }
  }
  return keys;
}

async function hmac(keyBytes: Uint8Array<ArrayBuffer>, message: string): Promise<Uint8Array> {
  const s = await subtle();
  const key = await s.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await s.sign("HMAC", key, new TextEncoder().encode(message)));
}

/** Equal strings, in time that does not depend on where they differ. */
function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

/**
 * The event of a delivery whose signatures check out, or a thrown Error saying what did not. `body` is the raw body
 * as received (a string or bytes), before any JSON parsing.
 */
export async function verifyWebhook(body: string | Uint8Array, headers: Headers_, options: VerifyOptions): Promise<components["schemas"]["WebhookEvent"]> {
  const text = typeof body === "string" ? body : new TextDecoder().decode(body);
  const secrets = [options.secrets].flat().filter((s) => s.length > 0).flatMap(keysOf);
  if (secrets.length === 0) throw new Error("No secret to verify with");

  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (id !== undefined || timestamp !== undefined || signatures !== undefined) {
    // Standard Webhooks: signed with every secret still valid (the old one for 24 hours after a rotation), so a
    // receiver that holds either one verifies it; the timestamp bounds replays.
    if (id === undefined || timestamp === undefined || signatures === undefined) throw new Error("Missing Standard Webhooks headers");
    const now = options.now ?? Math.floor(Date.now() / 1000);
    if (!/^\d+$/.test(timestamp) || Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? 300)) throw new Error("webhook-timestamp is outside the tolerance");
    const given = signatures.split(" ").filter((s) => s.startsWith("v1,")).map((s) => s.slice(3));
    let standard = false;
    for (const secret of secrets) {
      const expected = base64(await hmac(secret, `${id}.${timestamp}.${text}`));
      for (const signature of given) standard = constantTimeEqual(expected, signature) || standard;
    }
    if (!standard) throw new Error("webhook-signature does not match");
    const event = JSON.parse(text) as components["schemas"]["WebhookEvent"];
    if (event.id !== id) throw new Error("webhook-id does not name the event in the body");
    return event;
  }
  // Only Vatly-Signature (a sender without the Standard Webhooks headers): the current secret's HMAC of the body, which
  // a replay carries unchanged. Only when the caller said it accepts that.
  const vatly = header(headers, "Vatly-Signature");
  if (!options.acceptReplayableVatlySignature) {
    throw new Error("Missing the Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature): a delivery signed by Vatly-Signature alone cannot be told from a replay (acceptReplayableVatlySignature: true accepts it anyway)");
  }
  if (!vatly) throw new Error("Missing webhook-signature and Vatly-Signature");
  let matched = false;
  for (const secret of secrets) matched = constantTimeEqual(hex(await hmac(secret, text)), vatly.trim().toLowerCase()) || matched;
  if (!matched) throw new Error("Vatly-Signature does not match");
  return JSON.parse(text) as components["schemas"]["WebhookEvent"];
}
