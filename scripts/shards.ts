// The shards of this deployment (the D1 bindings DB, DB_1, ... in wrangler.toml) and SQL run on them: migrations
// with wrangler, remote queries through the REST API.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { shardBinding } from "../src/lib/shards";
import { d1Query, shardDatabase } from "./cloudflare";
import { cli, fail, targetArgs, targetFrom, targetOptions, wrangler, type Target } from "./wrangler";

/** The shard numbers configured in wrangler.toml, in order (DB is 0, DB_N is N). */
export function configuredShards(config = readFileSync("wrangler.toml", "utf8")): number[] {
  const top = config.split(/^\[env\./m)[0]!; // the top-level configuration, not the [env.*] ones
  const bindings = [...top.matchAll(/^\s*binding\s*=\s*"(DB(?:_(\d+))?)"/gm)].map((m) => Number(m[2] ?? 0));
  return [...new Set(bindings)].sort((a, b) => a - b);
}

/** Where a new account goes: a stable hash of its id over the configured shards. */
export function placeByHash(accountId: string, shards = configuredShards()): number {
  return shards[createHash("sha256").update(accountId).digest().readUInt32BE(0) % shards.length]!;
}

export type Row = Record<string, string | number | null>;

/** One statement on a remote shard (the environment's database in wrangler.toml) with bound parameters: one API request. */
export async function remoteQuery(shard: number, sql: string, params: unknown[], target: Target): Promise<Row[]> {
  return (await d1Query(shardDatabase(shard, target.env).id, sql, params)).results;
}

/** A value as an SQL literal. A text with a NUL is written as hex: SQLite reads SQL text only up to a NUL. */
export const literal = (value: string | number | null) =>
  value === null ? "NULL"
  : typeof value === "number" ? String(value)
  : value.includes("\0") ? `CAST(X'${Buffer.from(value, "utf8").toString("hex")}' AS TEXT)`
  : `'${value.replaceAll("'", "''")}'`;

/** `npm run db:migrate`: the migrations on every shard. */
export function migrateAll(target: Target): void {
  for (const shard of configuredShards()) wrangler(["d1", "migrations", "apply", shardBinding(shard), ...targetArgs(target)]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = cli("Usage: npm run db:migrate [-- --remote [--env staging|production]] [--persist-to <dir>]\n\nApplies migrations/ to every shard (DB, DB_1, ... in wrangler.toml).", targetOptions);
  try {
    migrateAll(targetFrom(values));
  } catch (err) {
    fail(err);
  }
  console.log(`Migrations applied to shards ${configuredShards().map(shardBinding).join(", ")} (${values.remote ? "remote" : "local"}).`);
}
