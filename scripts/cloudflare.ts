// Cloudflare's REST API, for what wrangler cannot do (turn on read replication) or does a process per call (D1
// queries with bound parameters, imports of large files). The same credentials and base URL as wrangler:
// CLOUDFLARE_API_TOKEN (else the login of `wrangler login`, read with `wrangler auth token --json`),
// CLOUDFLARE_ACCOUNT_ID (else the login's only account), CLOUDFLARE_API_BASE_URL (else api.cloudflare.com).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { shardBinding } from "../src/lib/shards";
import { wrangler } from "./wrangler";

const base = () => (process.env.CLOUDFLARE_API_BASE_URL ?? "https://api.cloudflare.com/client/v4").replace(/\/+$/, "");

let token: string | undefined;
let account: string | undefined;

function apiToken(): string {
  token ??= process.env.CLOUDFLARE_API_TOKEN ?? (JSON.parse(wrangler(["auth", "token", "--json"])) as { token: string }).token;
  return token;
}

export interface Envelope<T> { success: boolean; errors: { code: number; message: string }[]; result: T; result_info?: { cursor?: string; count?: number; total_count?: number } }

/** Calls the API; a refusal throws one line: the method, the path (account id left out) and Cloudflare's errors. */
export async function cloudflare<T>(method: string, path: string, body?: unknown): Promise<Envelope<T>> {
  const res = await fetch(`${base()}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiToken()}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Envelope<T> | undefined;
  try {
    parsed = JSON.parse(text) as Envelope<T>;
  } catch {
    // not JSON: reported below with the status
  }
  if (!res.ok || !parsed?.success) {
    const errors = parsed?.errors?.map((e) => `${e.message} [code: ${e.code}]`).join("; ") || `${res.status} ${text.slice(0, 200)}`;
    throw new Error(`Cloudflare's API refused ${method} ${path.replace(/^\/accounts\/[^/]+/, "")}: ${errors}`);
  }
  return parsed;
}

/** The account the commands act on. */
export async function accountId(): Promise<string> {
  if (account) return account;
  if (process.env.CLOUDFLARE_ACCOUNT_ID) return (account = process.env.CLOUDFLARE_ACCOUNT_ID);
  const accounts = (await cloudflare<{ id: string; name: string }[]>("GET", "/accounts")).result;
  if (accounts.length !== 1) throw new Error(`Your login reaches ${accounts.length} Cloudflare accounts: set CLOUDFLARE_ACCOUNT_ID to the one to use, then run this again.`);
  return (account = accounts[0]!.id);
}

/** The `[[env.<env>.d1_databases]]` (or top-level) block of a shard in wrangler.toml: its database name and id. */
export function shardDatabase(shard: number, env?: string, toml = readFileSync("wrangler.toml", "utf8")): { name: string; id: string } {
  const header = env ? `[[env.${env}.d1_databases]]` : "[[d1_databases]]";
  const block = toml.split(/(?=^\[)/m).find((b) => b.startsWith(header) && new RegExp(`^binding = "${shardBinding(shard)}"$`, "m").test(b));
  if (!block) throw new Error(`wrangler.toml has no ${header} with binding "${shardBinding(shard)}".`);
  return { name: /^database_name = "(.*)"$/m.exec(block)![1]!, id: /^database_id = "(.*)"$/m.exec(block)![1]! };
}

export interface QueryResult { results: Record<string, string | number | null>[]; meta: { rows_read?: number; rows_written?: number } }

/** One statement on a remote shard with bound parameters (one API request). */
export async function d1Query(databaseId: string, sql: string, params: unknown[] = []): Promise<QueryResult> {
  const out = await cloudflare<QueryResult[]>("POST", `/accounts/${await accountId()}/d1/database/${databaseId}/query`, { sql, params });
  return out.result[0]!;
}

/**
 * Runs a file of SQL on a remote shard through D1's import (init, upload, ingest, poll): the path wrangler's
 * `d1 execute --file --remote` takes, in this process. Three API requests whatever the file's size (the upload goes
 * to R2, not the API); D1 applies the file whole or not at all.
 */
export async function d1Import(databaseId: string, sql: string): Promise<{ num_queries: number }> {
  const path = `/accounts/${await accountId()}/d1/database/${databaseId}/import`;
  const etag = createHash("md5").update(sql).digest("hex");
  const init = (await cloudflare<{ upload_url?: string; filename: string }>("POST", path, { action: "init", etag })).result;
  let state: ImportState;
  if (init.upload_url) {
    const upload = await fetch(init.upload_url, { method: "PUT", body: sql });
    if (upload.status !== 200 || upload.headers.get("etag")?.replace(/^"|"$/g, "") !== etag) throw new Error(`The upload of ${init.filename} did not arrive whole (${upload.status}): run this again.`);
    state = (await cloudflare<ImportState>("POST", path, { action: "ingest", filename: init.filename, etag })).result;
  } else {
    state = init as unknown as ImportState;
  }
  while (state.status !== "complete") {
    if (state.status === "error" || state.success === false) throw new Error(`D1 refused the import: ${(state.errors ?? [state.error]).join("; ")}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    state = (await cloudflare<ImportState>("POST", path, { action: "poll", current_bookmark: state.at_bookmark })).result;
  }
  return { num_queries: state.result?.num_queries ?? 0 };
}

interface ImportState { success?: boolean; status?: string; at_bookmark?: string; error?: string; errors?: string[]; result?: { num_queries: number } }
