// The bench's data: the account and key it loads, and customers seeded straight into local D1.
import { randomInt } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredKey } from "../../src/lib/api-keys";
import { sha256Hex } from "../../src/lib/crypto";
import { OUT, ROOT, wrangler } from "./processes";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const base62 = (n: number, width: number) => {
  let s = "";
  for (let i = 0; i < width; i++, n = Math.floor(n / 62)) s = ALPHABET[n % 62] + s;
  return s;
};
export const randomChars = (n: number) => Array.from({ length: n }, () => ALPHABET[randomInt(62)]).join("");
export const KEY = `test_${randomChars(40)}`;
export const ACCOUNT = "acct_bench";

/** Appends `count` customers per scope to local D1 with generated SQL, oldest first; returns the main scope's ids. */
export function seed(persist: string, count: number, startMs: number): string[] {
  const scopes: [string, number][] = [[ACCOUNT, 1], ["acct_other", 1], [ACCOUNT, 0]];
  const ids: string[] = [];
  const file = join(OUT, "seed.sql");
  for (let from = 0; from < count; from += 50_000) {
    const lines: string[] = [];
    for (const [account, testmode] of scopes) {
      for (let chunk = from; chunk < Math.min(count, from + 50_000); chunk += 500) {
        const values: string[] = [];
        for (let i = chunk; i < Math.min(count, from + 50_000, chunk + 500); i++) {
          const id = `cus_${base62(startMs + i, 8)}${randomChars(14)}`;
          if (account === ACCOUNT && testmode === 1) ids.push(id);
          const created = new Date(startMs + i).toISOString().replace(/\.\d{3}Z$/, "Z");
          values.push(`('${id}','${account}',${testmode},'c${startMs + i}@example.com','{"plan":"pro"}','${created}')`);
        }
        lines.push(`INSERT INTO customers (id, account_id, testmode, email, metadata, created_at) VALUES ${values.join(",")};`);
      }
    }
    writeFileSync(file, lines.join("\n"));
    wrangler(ROOT, "d1", "execute", "DB", "--local", "--persist-to", persist, "--file", file);
  }
  return ids;
}

/** Migrated shards and the bench account's key (plus, for --shards, keys of accounts on each shard). */
export async function prepareState(persist: string, extraKeys: { key: string; accountId: string; shard: number }[] = []) {
  rmSync(persist, { recursive: true, force: true });
  mkdirSync(persist, { recursive: true });
  for (const binding of ["DB", "DB_1"]) wrangler(ROOT, "d1", "migrations", "apply", binding, "--local", "--persist-to", persist);
  for (const { key, accountId, shard } of [{ key: KEY, accountId: ACCOUNT, shard: 0 }, ...extraKeys]) {
    const hash = await sha256Hex(key);
    const stored: StoredKey = { accountId, mode: "test", createdAt: new Date().toISOString(), revokedAt: null, shard };
    const record = JSON.stringify(stored);
    wrangler(ROOT, "kv", "key", "put", `apikey:${hash}`, record, "--binding", "API_KEYS", "--local", "--persist-to", persist);
  }
}
