// Hashing and signing, shared by the API-key lookup, idempotency fingerprints and webhooks. node:crypto (nodejs_compat)
// hashes synchronously, so no promise per request; its Buffer wrapping costs about what that saves (bench/RESULTS.md).
import { createHash, createHmac } from "node:crypto";

export const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex");

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  let hex = "";
  for (const byte of bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)) hex += HEX[byte];
  return hex;
}

export const toBase64 = (bytes: ArrayBuffer | Uint8Array) => btoa(String.fromCharCode(...(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes))));
export const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** HMAC-SHA256 of `message`, keyed with the UTF-8 bytes of `secret`. */
export const hmacSha256 = (secret: string, message: string): Uint8Array => new Uint8Array(createHmac("sha256", secret).update(message).digest());
