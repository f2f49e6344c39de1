// Hashing and signing, shared by the API-key lookup, idempotency fingerprints, webhooks, scripts/ and bench/.
// SHA-256 goes through WebCrypto: on every request (the key's hash) it costs about 1.5 µs less than node:crypto's
// per-call Hash stream (`npm run bench -- --own`, bench/RESULTS.md). The fingerprint's HMAC goes through WebCrypto
// too; signing a delivery stays on node:crypto, so that it is synchronous code.
import { createHmac } from "node:crypto";

const utf8 = new TextEncoder();

export const sha256Hex = async (text: string): Promise<string> => toHex(await crypto.subtle.digest("SHA-256", utf8.encode(text)));

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let hex = "";
  for (let i = 0; i < view.length; i++) hex += HEX[view[i]!];
  return hex;
}

export const toBase64 = (bytes: ArrayBuffer | Uint8Array) => btoa(String.fromCharCode(...(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes))));
export const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/**
 * HMAC-SHA256 of `message` in hex through WebCrypto, for the hot path (the fingerprint of every keyed write): with the
 * key imported once per isolate it costs about 7 µs against node:crypto's 10 (`npm run bench -- --primitives`).
 */
let hmacKey: { secret: string; key: Promise<CryptoKey> } | undefined;
export async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  if (hmacKey?.secret !== secret) {
    hmacKey = { secret, key: crypto.subtle.importKey("raw", utf8.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]) };
  }
  return toHex(await crypto.subtle.sign("HMAC", await hmacKey.key, utf8.encode(message)));
}

/** HMAC-SHA256 of `message`, keyed with the UTF-8 bytes of `secret`. */
export const hmacSha256 = (secret: string, message: string): Uint8Array => new Uint8Array(createHmac("sha256", secret).update(message).digest());
