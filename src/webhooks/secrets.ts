// Endpoint signing secrets at rest: AES-256-GCM under WEBHOOK_SECRET_KEY, a Worker secret (`wrangler secret put`;
// `npm run dev` writes a local one to .dev.vars). What D1 holds is base64(iv || ciphertext), never the secret.
import type { Env } from "../env";
import { fromBase64, toBase64 } from "../lib/crypto";

let cached: { raw: string; key: Promise<CryptoKey> } | undefined;

function key(env: Env): Promise<CryptoKey> {
  const raw = env.WEBHOOK_SECRET_KEY;
  if (!raw) throw new Error("WEBHOOK_SECRET_KEY is not set (wrangler secret put WEBHOOK_SECRET_KEY)");
  if (cached?.raw !== raw) {
    cached = { raw, key: crypto.subtle.importKey("raw", fromBase64(raw), "AES-GCM", false, ["encrypt", "decrypt"]) };
  }
  return cached.key;
}

export async function encryptSecret(env: Env, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await key(env), new TextEncoder().encode(secret)));
  const out = new Uint8Array(iv.length + sealed.length);
  out.set(iv);
  out.set(sealed, iv.length);
  return toBase64(out);
}

export async function decryptSecret(env: Env, stored: string): Promise<string> {
  const bytes = fromBase64(stored);
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12) }, await key(env), bytes.slice(12));
  return new TextDecoder().decode(plain);
}
