// How a delivery is signed: Vatly's own header, and Standard Webhooks (https://www.standardwebhooks.com/).
import { hmacSha256, toBase64, toHex } from "../lib/crypto";

/**
 * `Vatly-Signature`: lowercase hex HMAC-SHA256 of the exact body with the current secret (what the PHP client's
 * WebhookSignatureValidator checks). `webhook-signature`: `v1,<base64 HMAC of "id.timestamp.body">` for each secret
 * still valid (the previous one for 24 hours after a rotation), space-separated.
 */
export function signatureHeaders(body: string, eventId: string, timestamp: number, secrets: [string, ...string[]]): Record<string, string> {
  const signed = `${eventId}.${timestamp}.${body}`;
  const standard = secrets.map((secret) => `v1,${toBase64(hmacSha256(secret, signed))}`);
  return {
    "Vatly-Signature": toHex(hmacSha256(secrets[0], body)),
    "webhook-id": eventId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": standard.join(" "),
  };
}

/**
 * A secret in the form Standard Webhooks libraries take: `whsec_` + base64 of its UTF-8 bytes (the HMAC key both
 * signatures use), so it pastes straight into `new Webhook(...)`.
 */
export const standardWebhooksSecret = (secret: string) => `whsec_${toBase64(new TextEncoder().encode(secret))}`;
