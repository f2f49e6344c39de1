// API keys. KV holds only the SHA-256 of a key (src/lib/api-keys.ts); the key itself is printed once, as the last line.
import { randomInt } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ACCOUNT_ID, accountIndexKey, API_KEY, KEY_PREFIX, REVOKED_PREFIX, type Mode, type StoredKey } from "../src/lib/api-keys";
import { sha256Hex } from "../src/lib/crypto";
import { closeLocal, LOCAL_KEY_CACHE_SECONDS, openLocal, stateDir } from "./local";
import { kvNamespace, tomlBlocks } from "./cloudflare";
import { configuredShards, placeByHash, remoteQuery } from "./shards";
import { cli, fail, targetFrom, targetOptions, type Target } from "./wrangler";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * Where the key records are: the local KV and D1 in this process (scripts/local.ts, about a second to open, then
 * calls), or the deployed ones through the REST API (a request per call).
 */
interface Store {
  get(name: string): Promise<string | null>;
  put(name: string, value: string): Promise<void>;
  names(prefix: string): Promise<string[]>;
  holdsCustomers(shard: number, accountId: string): Promise<boolean>;
}

/**
 * Local KV is one SQLite file that `npm run dev` (and any other helper) may be writing: a call that meets its lock
 * (a 500 from the local KV) is tried again, a few times, a little later each time.
 */
async function unlocked<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt === 6 || !/KV (GET|PUT|LIST) failed: 5\d\d/.test(String((err as Error).message))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

function storeOf(target: Target): Store {
  if (!target.remote) {
    const local = () => openLocal(target.persistTo);
    return {
      get: async (name) => unlocked(async () => (await local()).kv.get(name)),
      put: async (name, value) => unlocked(async () => (await local()).kv.put(name, value)),
      names: async (prefix) => {
        const names: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await unlocked(async () => (await local()).kv.list({ prefix, cursor }));
          names.push(...page.keys.map((k) => k.name));
          cursor = page.list_complete ? undefined : page.cursor;
        } while (cursor);
        return names;
      },
      holdsCustomers: async (shard, accountId) =>
        (await (await local()).db(shard).prepare("SELECT 1 AS x FROM customers WHERE account_id = ? LIMIT 1").bind(accountId).first()) !== null,
    };
  }
  const kv = kvNamespace("API_KEYS", target.env);
  return {
    get: (name) => kv.get(name),
    put: (name, value) => kv.put(name, value),
    names: (prefix) => kv.names(prefix),
    holdsCustomers: async (shard, accountId) => (await remoteQuery(shard, "SELECT 1 AS x FROM customers WHERE account_id = ? LIMIT 1", [accountId], target)).length > 0,
  };
}

/**
 * The shard of an account: that of its existing keys, else the shard that already holds its rows (an account whose
 * keys predate the key index), else `requested`, else a stable hash of its id.
 */
export async function placeAccount(accountId: string, target: Target, requested?: number): Promise<number> {
  const keys = await listKeys(accountId, target);
  const current = keys.find((k) => !k.revokedAt) ?? keys[0];
  const shards = configuredShards();
  let existing = current ? (current.shard ?? 0) : undefined;
  for (const shard of shards) if (existing === undefined && (await storeOf(target).holdsCustomers(shard, accountId))) existing = shard;
  if (requested !== undefined && !shards.includes(requested)) throw new Error(`--shard ${requested} is not configured (shards: ${shards.join(", ")})`);
  if (existing !== undefined && requested !== undefined && requested !== existing) {
    throw new Error(`Account ${accountId} lives on shard ${existing}; move it with npm run account:move -- --account ${accountId} --to ${requested}`);
  }
  return existing ?? requested ?? placeByHash(accountId, shards);
}

/** The --account every key command (and dashboard:link) takes: present, and a valid account id. */
export function checkAccount(accountId: string) {
  if (!accountId) throw new Error("--account is required.");
  if (!ACCOUNT_ID.test(accountId)) throw new Error("--account must be 1 to 64 characters of A-Z a-z 0-9 _ -");
}

/** The --mode of key:create and dashboard:link. */
export function checkMode(mode: string): asserts mode is Mode {
  if (mode !== "test" && mode !== "live") throw new Error("--mode must be test or live");
}

export async function createKey({ accountId, mode, shard, madeBy = "key:create", ...target }: { accountId: string; mode: Mode; shard?: number; madeBy?: string } & Target): Promise<string> {
  checkAccount(accountId);
  checkMode(mode);
  const key = `${mode}_${Array.from({ length: 40 }, () => ALPHABET[randomInt(62)]).join("")}`;
  const hash = await sha256Hex(key);
  const placed = await placeAccount(accountId, target, shard);
  const stored: StoredKey = { accountId, mode, createdAt: new Date().toISOString(), revokedAt: null, hint: key.slice(-4), shard: placed, madeBy };
  const store = storeOf(target);
  await store.put(KEY_PREFIX + hash, JSON.stringify(stored));
  await store.put(accountIndexKey(accountId, hash), "1");
  return key;
}

export async function readStored(name: string, target: Target): Promise<StoredKey | null> {
  try {
    return JSON.parse((await storeOf(target).get(name)) ?? "null") as StoredKey | null;
  } catch {
    return null;
  }
}

/** Revokes by hash: the marker first, so a move rewriting the record meanwhile re-applies it (src/moves/keys.ts). */
async function revokeHash(hash: string, stored: StoredKey, target: Target): Promise<StoredKey> {
  const revoked = { ...stored, revokedAt: new Date().toISOString() };
  const store = storeOf(target);
  await store.put(REVOKED_PREFIX + hash, revoked.revokedAt);
  await store.put(KEY_PREFIX + hash, JSON.stringify(revoked));
  return revoked;
}

/** Revokes a key; one revoked already is left as it is (its first revocation time stands), `already` says so. */
export async function revokeKey(key: string, target: Target): Promise<StoredKey & { already: boolean }> {
  if (!API_KEY.test(key)) throw new Error("The key must look like live_... or test_... (as key:create printed it).");
  const hash = await sha256Hex(key);
  const stored = await readStored(KEY_PREFIX + hash, target);
  if (!stored) throw new Error("No such key.");
  if (stored.revokedAt) return { ...stored, already: true };
  return { ...(await revokeHash(hash, stored, target)), already: false };
}

const TOOL_NAMES = { dev: "npm run dev", trigger: "webhooks:trigger" } as const;

/**
 * A fresh local key for a tool that mints one each time it starts (`npm run dev`, `webhooks:listen`), with the one
 * it minted last time revoked: one active key per tool and account, never a pile of them. Only the key's hash is kept
 * in the git-ignored local state; the key itself is printed once, as always.
 */
export async function replaceLocalKey(tool: "dev" | "trigger", options: { accountId: string; mode: Mode } & Target): Promise<string> {
  const file = join(stateDir(options.persistTo), "vatly-local-keys.json");
  const minted = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>) : {};
  const slot = `${tool}:${options.accountId}`;
  const previous = minted[slot];
  const key = await createKey({ ...options, madeBy: TOOL_NAMES[tool] });
  if (previous) {
    const stored = await readStored(KEY_PREFIX + previous, options);
    if (stored && !stored.revokedAt) await revokeHash(previous, stored, options);
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...minted, [slot]: await sha256Hex(key) }, null, 2));
  return key;
}

/** The KV names (apikey:<hash>) of an account's keys, from the account index. */
export async function keyNames(accountId: string, target: Target): Promise<string[]> {
  checkAccount(accountId);
  const index = await storeOf(target).names(accountIndexKey(accountId, ""));
  return index.map((name) => KEY_PREFIX + name.slice(accountIndexKey(accountId, "").length));
}

export async function listKeys(accountId: string, target: Target): Promise<StoredKey[]> {
  const stored = await Promise.all((await keyNames(accountId, target)).map((name) => readStored(name, target)));
  return stored.filter((s): s is StoredKey => s !== null).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/**
 * How long a revoked key may still be accepted where it was revoked. Deployed: KV's edge cache of the record
 * (cacheTtl 60 s, src/pipeline/auth.ts) and the isolate's own (API_KEY_CACHE_SECONDS of the environment in
 * wrangler.toml, default 60). Locally: npm run dev's isolate cache alone (shortened; local KV has no edge cache).
 */
export function stillAccepted(target: Target, toml = readFileSync("wrangler.toml", "utf8")): string {
  if (!target.remote) return `npm run dev may still accept it for up to ${LOCAL_KEY_CACHE_SECONDS} s (its isolate's key cache; local KV has no edge cache).`;
  const blocks = tomlBlocks(toml);
  const vars = target.env ? blocks.find((b) => b.startsWith(`[env.${target.env}]`)) : blocks.find((b) => b.startsWith("[vars]"));
  const isolate = Number(/API_KEY_CACHE_SECONDS\s*=\s*"(\d+)"/.exec(vars ?? "")?.[1] ?? 60);
  return `Workers that read it recently may still accept it for up to ${60 + isolate} s (KV's cache 60 s + the isolate's ${isolate} s).`;
}

const USAGE = `Usage:
  npm run key:create -- --account <id> --mode test|live [--shard <n>] [--remote [--env staging|production]] [--persist-to <dir>]
  npm run key:revoke -- <key>|- [--remote [--env staging|production]] [--persist-to <dir>]
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
      if (positionals.length !== 1) throw new Error("key:revoke takes the key to revoke (--help shows the usage).");
      // `-`: the key from standard input, so it stays out of shell history and process lists.
      const stored = await revokeKey(positionals[0] === "-" ? readFileSync(0, "utf8").trim() : positionals[0]!, target);
      if (stored.already) {
        console.log(`The ${stored.mode} key of account ${stored.accountId} was already revoked at ${stored.revokedAt}; nothing changed.`);
        await closeLocal();
        process.exit(0);
      }
      console.log(`Revoked the ${stored.mode} key of account ${stored.accountId} at ${stored.revokedAt}. ${stillAccepted(target)}`);
    } else if (command === "list") {
      const keys = await listKeys(values.account ?? "", target);
      if (keys.length === 0) console.log(`No keys for account ${values.account} (keys created before key:list existed are not indexed).`);
      for (const k of keys) {
        console.log(`${k.mode}_…${k.hint ?? "????"}  created ${k.createdAt}  ${k.revokedAt ? `revoked ${k.revokedAt}` : "active"}  shard ${k.shard ?? 0}  made by ${k.madeBy ?? "key:create"}`);
      }
    } else {
      throw new Error("Use key:create, key:revoke or key:list (--help shows the usage).");
    }
    await closeLocal();
  } catch (err) {
    fail(err);
  }
  process.exit(0);
}
