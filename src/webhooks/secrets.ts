// Endpoint signing secrets at rest: AES-256-GCM under WEBHOOK_SECRET_KEY, a Worker secret (`wrangler secret put`;
// `npm run dev` writes a local one to .dev.vars). What D1 holds is base64(iv || ciphertext), never the secret.
// Rotation: the old key moves to WEBHOOK_SECRET_KEY_PREVIOUS, which still decrypts until the sweep (jobs/cron.ts)
// has re-encrypted every secret under the new key and logs `remaining: 0`.
import type { Env } from "../env";
import { fromBase64, toBase64 } from "../lib/crypto";
import { fail } from "../lib/errors";

/** A key that is missing or not 32 bytes: nothing is encrypted or decrypted with it (AES-128 is never used silently). */
export class SecretKeyError extends Error {}

const imported = new Map<string, Promise<CryptoKey>>();

function importKey(name: "WEBHOOK_SECRET_KEY" | "WEBHOOK_SECRET_KEY_PREVIOUS", raw: string): Promise<CryptoKey> {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(raw.trim());
  } catch {
    throw new SecretKeyError(`${name} is not base64`);
  }
  if (bytes.length !== 32) throw new SecretKeyError(`${name} must be base64 of exactly 32 bytes (it has ${bytes.length})`);
  let key = imported.get(raw);
  if (!key) {
    key = crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]);
    imported.set(raw, key);
  }
  return key;
}

const current = (env: Env) => {
  if (!env.WEBHOOK_SECRET_KEY) throw new SecretKeyError("WEBHOOK_SECRET_KEY is not set (wrangler secret put WEBHOOK_SECRET_KEY)");
  return importKey("WEBHOOK_SECRET_KEY", env.WEBHOOK_SECRET_KEY);
};
const previous = (env: Env) => (env.WEBHOOK_SECRET_KEY_PREVIOUS ? importKey("WEBHOOK_SECRET_KEY_PREVIOUS", env.WEBHOOK_SECRET_KEY_PREVIOUS) : undefined);

/** Seals a secret under the current key; a request meeting a misconfigured key is told to come back (503), and logged. */
export async function encryptSecret(env: Env, secret: string): Promise<string> {
  let key: CryptoKey;
  try {
    key = await current(env);
  } catch (err) {
    if (!(err instanceof SecretKeyError)) throw err;
    console.error(JSON.stringify({ level: "error", event: "config", error: err.message }));
    fail(503, "Webhook endpoints cannot be changed on this server right now. Please try again later.", { headers: { "Retry-After": "60" } });
  }
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode(secret)));
  const out = new Uint8Array(iv.length + sealed.length);
  out.set(iv);
  out.set(sealed, iv.length);
  return toBase64(out);
}

const open = async (key: CryptoKey, bytes: Uint8Array) =>
  new TextDecoder().decode(await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12) }, key, bytes.slice(12)));

/** The secret, and whether it was sealed under the previous key (then it is due for re-encryption). */
export async function openSecret(env: Env, stored: string): Promise<{ secret: string; underPrevious: boolean }> {
  const bytes = fromBase64(stored);
  try {
    return { secret: await open(await current(env), bytes), underPrevious: false };
  } catch (err) {
    const old = previous(env);
    if (err instanceof SecretKeyError || !old) throw err;
    return { secret: await open(await old, bytes), underPrevious: true };
  }
}

export const decryptSecret = async (env: Env, stored: string) => (await openSecret(env, stored)).secret;
