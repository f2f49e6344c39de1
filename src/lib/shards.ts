// Accounts are sharded over D1 databases: shard 0 is the binding DB, shard N the binding DB_N (wrangler.toml), all
// with the same migrations. An API key's KV record names its account's shard, so routing costs no extra lookup.
import type { Env } from "../env";

export const shardBinding = (shard: number) => (shard === 0 ? "DB" : `DB_${shard}`);

/** The database of a shard. A key record naming a shard this deployment lacks is a configuration error (500). */
export function shardDatabase(env: Env, shard: number): D1Database {
  const db = (env as unknown as Record<string, D1Database | undefined>)[shardBinding(shard)];
  if (!db) throw new Error(`No D1 binding ${shardBinding(shard)} for shard ${shard}`);
  return db;
}

/** Every configured shard, in order: DB, DB_1, DB_2, ... (the cron jobs visit each). */
export function shardsOf(env: Env): number[] {
  const shards = [0];
  while ((env as unknown as Record<string, unknown>)[shardBinding(shards.length)]) shards.push(shards.length);
  return shards;
}
