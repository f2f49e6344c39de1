// The local state `npm run dev` serves (D1 shards and KV under .wrangler/state, or --persist-to), opened in this
// process through wrangler's getPlatformProxy: one start of about a second, then every query is a call, not a
// `wrangler` process each (seconds apiece). Remote resources keep going through wrangler (scripts/wrangler.ts).
// Also where `npm run dev` records the port it serves, so helpers in another terminal find it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { getPlatformProxy } from "wrangler";
import { shardBinding } from "../src/lib/shards";

export interface LocalState {
  db(shard: number): D1Database;
  kv: KVNamespace;
  dispose(): Promise<void>;
}

/** The isolate's key cache under npm run dev (API_KEY_CACHE_SECONDS): local KV has no edge cache to wait for. */
export const LOCAL_KEY_CACHE_SECONDS = 3;

export const stateDir = (persistTo?: string) => persistTo ?? process.env.VATLY_PERSIST_TO ?? ".wrangler/state";

let opened: Promise<LocalState> | undefined;

/** The local bindings (opened once per process; wrangler's own `v3` layout under the state directory). */
export function openLocal(persistTo?: string): Promise<LocalState> {
  opened ??= (async () => {
    // wrangler's own notices (the Workflows binding it cannot run here, the .dev.vars it read) are not the script's
    // output; only for this call, since wrangler processes the scripts start print their results at the same level.
    const level = process.env.WRANGLER_LOG;
    process.env.WRANGLER_LOG = "error";
    const proxy = await getPlatformProxy<Record<string, unknown>>({ configPath: "wrangler.toml", persist: { path: join(stateDir(persistTo), "v3") } })
      .finally(() => (level === undefined ? delete process.env.WRANGLER_LOG : (process.env.WRANGLER_LOG = level)));
    return {
      db: (shard) => {
        const db = proxy.env[shardBinding(shard)] as D1Database | undefined;
        if (!db) throw new Error(`No D1 binding ${shardBinding(shard)} for shard ${shard} in wrangler.toml`);
        return db;
      },
      kv: proxy.env.API_KEYS as KVNamespace,
      dispose: () => proxy.dispose(),
    };
  })();
  return opened;
}

/** Closes the local bindings if they were opened (a script's last step; the process may exit without it). */
export async function closeLocal() {
  if (opened) await (await opened).dispose();
  opened = undefined;
}

/** Where `npm run dev` records where it serves, while it runs: beside the local state it serves. */
const devRecord = (persistTo?: string) => join(stateDir(persistTo), "vatly-dev.json");

export function recordDevServer(port: string, persistTo?: string) {
  mkdirSync(dirname(devRecord(persistTo)), { recursive: true });
  writeFileSync(devRecord(persistTo), JSON.stringify({ port, pid: process.pid }));
}

/** The port `npm run dev` serves now for this state (its record, if its process still runs), else $PORT, else 8787. */
export function devPort(persistTo?: string): string {
  try {
    if (existsSync(devRecord(persistTo))) {
      const { port, pid } = JSON.parse(readFileSync(devRecord(persistTo), "utf8")) as { port: string; pid: number };
      process.kill(pid, 0); // throws if that npm run dev has ended
      return String(port);
    }
  } catch {}
  return process.env.PORT ?? "8787";
}
