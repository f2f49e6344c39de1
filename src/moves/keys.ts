// A moved account's key records, pointed at its new shard. The shard in a record is a routing hint (the old shard
// forwards), so this only saves new isolates a hop. It must never undo a revocation: every revocation (`key:revoke`,
// and the keys `npm run dev` and `webhooks:listen` replace) writes a marker `revoked:<hash>` before it rewrites the
// record, and each pass re-applies any marker a concurrent rewrite here may have overwritten. The workflow runs it
// twice, the second time after KV and the key caches have settled.
import type { Env } from "../env";
import { accountIndexKey, KEY_PREFIX, REVOKED_PREFIX, type StoredKey } from "../lib/api-keys";

export async function pointKeysAt(env: Env, accountId: string, shard: number): Promise<number> {
  const prefix = accountIndexKey(accountId, "");
  let changed = 0;
  let cursor: string | undefined;
  do {
    const page = await env.API_KEYS.list({ prefix, cursor });
    for (const { name } of page.keys) {
      const hash = name.slice(prefix.length);
      const stored = await env.API_KEYS.get<StoredKey>(KEY_PREFIX + hash, "json");
      if (!stored) continue;
      const revokedAt = stored.revokedAt ? null : await env.API_KEYS.get(REVOKED_PREFIX + hash);
      if (stored.shard === shard && !revokedAt) continue;
      await env.API_KEYS.put(KEY_PREFIX + hash, JSON.stringify({ ...stored, shard, ...(revokedAt ? { revokedAt } : {}) }));
      changed++;
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return changed;
}
