// API keys. KV holds only the SHA-256 of a key (src/lib/api-keys.ts); the key itself is printed once, as the last line.
import { randomInt } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ACCOUNT_ID, accountIndexKey, API_KEY, KEY_PREFIX, REVOKED_PREFIX, type Mode, type StoredKey } from "../src/lib/api-keys";
import { sha256Hex } from "../src/lib/crypto";
import { configuredShards, literal, placeByHash, query } from "./shards";
import { cli, targetArgs, targetFrom, targetOptions, wrangler, type Target } from "./wrangler";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const kv = (args: string[], target: Target) => wrangler(["kv", "key", ...args, "--binding", "API_KEYS", ...targetArgs(target)]);

/**
 * The shard of an account: that of its existing keys, else the shard that already holds its rows (an account whose
 * keys predate the key index), else `requested`, else a stable hash of its id.
 */
export function placeAccount(accountId: string, target: Target, requested?: number): number {
  const keys = listKeys(accountId, target);
  const current = keys.find((k) => !k.revokedAt) ?? keys[0];
  const shards = configuredShards();
  const existing = current
    ? (current.shard ?? 0)
    : shards.find((shard) => query(shard, `SELECT 1 AS x FROM customers WHERE account_id = ${literal(accountId)} LIMIT 1`, target).length > 0);
  if (requested !== undefined && !shards.includes(requested)) throw new Error(`--shard ${requested} is not configured (shards: ${shards.join(", ")})`);
  if (existing !== undefined && requested !== undefined && requested !== existing) {
    throw new Error(`Account ${accountId} lives on shard ${existing}; move it with npm run account:move -- --account ${accountId} --to ${requested}`);
  }
  return existing ?? requested ?? placeByHash(accountId, shards);
}

export async function createKey({ accountId, mode, shard, ...target }: { accountId: string; mode: Mode; shard?: number } & Target): Promise<string> {
  if (!ACCOUNT_ID.test(accountId)) throw new Error("--account must be 1 to 64 characters of A-Z a-z 0-9 _ -");
  if (mode !== "test" && mode !== "live") throw new Error("--mode must be test or live");
  const key = `${mode}_${Array.from({ length: 40 }, () => ALPHABET[randomInt(62)]).join("")}`;
  const hash = await sha256Hex(key);
  const placed = placeAccount(accountId, target, shard);
  const stored: StoredKey = { accountId, mode, createdAt: new Date().toISOString(), revokedAt: null, hint: key.slice(-4), shard: placed };
  kv(["put", KEY_PREFIX + hash, JSON.stringify(stored)], target);
  kv(["put", accountIndexKey(accountId, hash), "1"], target);
  return key;
}

export function readStored(name: string, target: Target): StoredKey | null {
  try {
    return JSON.parse(kv(["get", name, "--text"], target).trim()) as StoredKey;
  } catch {
    return null;
  }
}

export async function revokeKey(key: string, target: Target): Promise<StoredKey> {
  if (!API_KEY.test(key)) throw new Error("The key must look like live_... or test_... (as key:create printed it).");
  const name = KEY_PREFIX + (await sha256Hex(key));
  const stored = readStored(name, target);
  if (!stored) throw new Error("No such key.");
  const revoked = { ...stored, revokedAt: new Date().toISOString() };
  // The marker first: a move rewriting the record meanwhile (src/moves/keys.ts) re-applies it.
  kv(["put", REVOKED_PREFIX + name.slice(KEY_PREFIX.length), revoked.revokedAt], target);
  kv(["put", name, JSON.stringify(revoked)], target);
  return revoked;
}

/**
 * A fresh local key for a tool that mints one each time it starts (`npm run dev`, `webhooks:listen`), with the one
 * it minted last time revoked: one active key per tool and account, never a pile of them. Only the key's hash is kept
 * in the git-ignored local state; the key itself is printed once, as always.
 */
export async function replaceLocalKey(tool: "dev" | "listen", options: { accountId: string; mode: Mode } & Target): Promise<string> {
  const file = join(options.persistTo ?? process.env.VATLY_PERSIST_TO ?? ".wrangler/state", "vatly-local-keys.json");
  const minted = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>) : {};
  const slot = `${tool}:${options.accountId}`;
  const previous = minted[slot];
  const key = await createKey(options);
  if (previous) {
    const stored = readStored(KEY_PREFIX + previous, options);
    if (stored && !stored.revokedAt) {
      // The marker first, as key:revoke does: a move rewriting the record meanwhile re-applies it (src/moves/keys.ts).
      const revokedAt = new Date().toISOString();
      kv(["put", REVOKED_PREFIX + previous, revokedAt], options);
      kv(["put", KEY_PREFIX + previous, JSON.stringify({ ...stored, revokedAt })], options);
    }
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...minted, [slot]: await sha256Hex(key) }, null, 2));
  return key;
}

/** The KV names (apikey:<hash>) of an account's keys, from the account index. */
export function keyNames(accountId: string, target: Target): string[] {
  if (!ACCOUNT_ID.test(accountId)) throw new Error("--account must be 1 to 64 characters of A-Z a-z 0-9 _ -");
  const index = JSON.parse(wrangler(["kv", "key", "list", "--prefix", accountIndexKey(accountId, ""), "--binding", "API_KEYS", ...targetArgs(target)])) as { name: string }[];
  return index.map(({ name }) => KEY_PREFIX + name.slice(accountIndexKey(accountId, "").length));
}

export function listKeys(accountId: string, target: Target): StoredKey[] {
  return keyNames(accountId, target)
    .map((name) => readStored(name, target))
    .filter((s): s is StoredKey => s !== null)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

const USAGE = `Usage:
  npm run key:create -- --account <id> --mode test|live [--shard <n>] [--remote [--env staging|production]] [--persist-to <dir>]
  npm run key:revoke -- <key> [--remote [--env staging|production]] [--persist-to <dir>]
  npm run key:list -- --account <id> [--remote [--env staging|production]] [--persist-to <dir>]

Local KV (what \`npm run dev\` serves) unless --remote. The key is stored hashed; key:create prints it once, as its last line.
A new account is placed on a shard by a stable hash of its id (or --shard); an existing one keeps its shard.`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, ...rest] = process.argv.slice(2);
  const { values, positionals } = cli(USAGE, { account: { type: "string" }, mode: { type: "string" }, shard: { type: "string" }, ...targetOptions }, rest, command === "revoke");
  const target = targetFrom(values);
  try {
    if (command === "create") {
      const shard = values.shard === undefined ? undefined : Number(values.shard);
      if (shard !== undefined && !Number.isInteger(shard)) throw new Error("--shard must be a shard number (0 is DB, 1 is DB_1, ...)");
      const key = await createKey({ accountId: values.account ?? "", mode: values.mode as Mode, shard, ...target });
      console.log(`Created a ${values.mode} key for account ${values.account} (${target.remote ? "remote" : "local"} KV). It is shown only once:`);
      console.log(key);
    } else if (command === "revoke") {
      if (positionals.length !== 1) throw new Error(USAGE);
      const stored = await revokeKey(positionals[0]!, target);
      console.log(`Revoked the ${stored.mode} key of account ${stored.accountId} at ${stored.revokedAt}.`);
    } else if (command === "list") {
      const keys = listKeys(values.account ?? "", target);
      if (keys.length === 0) console.log(`No keys for account ${values.account} (keys created before key:list existed are not indexed).`);
      for (const k of keys) {
        console.log(`${k.mode}_…${k.hint ?? "????"}  created ${k.createdAt}  ${k.revokedAt ? `revoked ${k.revokedAt}` : "active"}  shard ${k.shard ?? 0}`);
      }
    } else {
      throw new Error(USAGE);
    }
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
