#!/usr/bin/env node
// API key management. Only the SHA-256 of a key is written to KV; the key itself is printed once, as the last line.
//   npm run key:create -- --account <accountId> --mode test|live [--remote]
//   npm run key:revoke -- <key> [--remote]
import { spawnSync } from "node:child_process";
import { createHash, randomInt } from "node:crypto";
import { fileURLToPath } from "node:url";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const KEY_FORMAT = /^(live|test)_[A-Za-z0-9]{32,}$/;

export const hashKey = (key) => createHash("sha256").update(key).digest("hex");
const kvName = (key) => `apikey:${hashKey(key)}`;

function wrangler(args, { remote }) {
  const result = spawnSync("wrangler", [...args, "--binding", "API_KEYS", remote ? "--remote" : "--local"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  if (result.status !== 0) throw new Error(`wrangler ${args[0]} ${args[1]} ${args[2]} failed:\n${result.stderr || result.stdout}`);
  return result.stdout;
}

export function createKey({ accountId, mode, remote = false }) {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(accountId ?? "")) throw new Error("--account must be 1 to 64 characters of A-Z a-z 0-9 _ -");
  if (mode !== "test" && mode !== "live") throw new Error("--mode must be test or live");
  const key = `${mode}_${Array.from({ length: 40 }, () => ALPHABET[randomInt(62)]).join("")}`;
  const stored = { accountId, mode, createdAt: new Date().toISOString(), revokedAt: null };
  wrangler(["kv", "key", "put", kvName(key), JSON.stringify(stored)], { remote });
  return key;
}

export function revokeKey(key, { remote = false } = {}) {
  if (!KEY_FORMAT.test(key ?? "")) throw new Error("usage: npm run key:revoke -- <live_... or test_... key> [--remote]");
  const raw = wrangler(["kv", "key", "get", kvName(key), "--text"], { remote }).trim();
  let stored;
  try {
    stored = JSON.parse(raw);
  } catch {
    throw new Error("No such key.");
  }
  stored.revokedAt = new Date().toISOString();
  wrangler(["kv", "key", "put", kvName(key), JSON.stringify(stored)], { remote });
  return stored;
}

function parseArgs(argv) {
  const flags = { remote: false, positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--remote") flags.remote = true;
    else if (arg === "--account" || arg === "--mode") flags[arg.slice(2)] = argv[++i];
    else if (arg.startsWith("--account=") || arg.startsWith("--mode=")) {
      const [name, value] = arg.slice(2).split("=");
      flags[name] = value;
    } else flags.positional.push(arg);
  }
  return flags;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, ...rest] = process.argv.slice(2);
  const flags = parseArgs(rest);
  try {
    if (command === "create") {
      const key = createKey({ accountId: flags.account, mode: flags.mode, remote: flags.remote });
      console.log(`Created a ${flags.mode} key for account ${flags.account} (${flags.remote ? "remote" : "local"} KV). It is shown only once:`);
      console.log(key);
    } else if (command === "revoke") {
      const stored = revokeKey(flags.positional[0], { remote: flags.remote });
      console.log(`Revoked the ${stored.mode} key of account ${stored.accountId} at ${stored.revokedAt}.`);
    } else {
      throw new Error("usage: keys.mjs create --account <id> --mode test|live [--remote] | keys.mjs revoke <key> [--remote]");
    }
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
