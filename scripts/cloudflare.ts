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
  token ??= process.env.CLOUDFLARE_API_TOKEN || (JSON.parse(wrangler(["auth", "token", "--json"])) as { token: string }).token;
  return token;
}

export interface Envelope<T> { success: boolean; errors: { code: number; message: string }[]; result: T; result_info?: { cursor?: string; count?: number; total_count?: number } }

/** Calls the API; a refusal throws one line: the method, the path (account id left out) and Cloudflare's errors. */
export async function cloudflare<T>(method: string, path: string, body?: unknown): Promise<Envelope<T>> {
  const json = body !== undefined && typeof body !== "string";
  const res = await reach(`${base()}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiToken()}`, ...(json ? { "content-type": "application/json" } : {}) },
    body: json ? JSON.stringify(body) : (body as string | undefined),
  });
  const text = await res.text();
  const parsed = envelopeOf<T>(text);
  if (!res.ok || !parsed?.success) throw refusal(method, path, res.status, text);
  return parsed;
}

/** fetch, with a connection that fails named in one line (the address, and what to check). */
async function reach(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const cause = ((err as Error).cause as { code?: string } | undefined)?.code ?? (err as Error).message;
    throw new Error(`Could not reach Cloudflare's API at ${new URL(url).origin} (${cause}): check the network (or CLOUDFLARE_API_BASE_URL), then run this again.`);
  }
}

function envelopeOf<T>(text: string): Envelope<T> | undefined {
  try {
    return JSON.parse(text) as Envelope<T>;
  } catch {
    return undefined; // not JSON: a refusal reports the status and the text
  }
}

function refusal(method: string, path: string, status: number, text: string): Error {
  const errors = envelopeOf(text)?.errors?.map((e) => `${e.message} [code: ${e.code}]`).join("; ") || `${status} ${text.slice(0, 200)}`;
  return new Error(`Cloudflare's API refused ${method} ${path.replace(/^\/accounts\/[^/]+/, "")}: ${errors}`);
}

/** The account the commands act on. */
export async function accountId(): Promise<string> {
  if (account) return account;
  if (process.env.CLOUDFLARE_ACCOUNT_ID) return (account = process.env.CLOUDFLARE_ACCOUNT_ID);
  const accounts = (await cloudflare<{ id: string; name: string }[]>("GET", "/accounts")).result;
  if (accounts.length !== 1) throw new Error(`Your login reaches ${accounts.length} Cloudflare accounts: set CLOUDFLARE_ACCOUNT_ID to the one to use, then run this again.`);
  return (account = accounts[0]!.id);
}

/** wrangler.toml's tables, each from its `[header]` line to the next one. */
export const tomlBlocks = (toml = readFileSync("wrangler.toml", "utf8")) => toml.split(/(?=^\[)/m);

/** The `[[env.<env>.<kind>]]` (or top-level) block of a binding in wrangler.toml. */
function bindingBlock(kind: "d1_databases" | "kv_namespaces", binding: string, env?: string, toml?: string): string {
  const header = env ? `[[env.${env}.${kind}]]` : `[[${kind}]]`;
  const block = tomlBlocks(toml).find((b) => b.startsWith(header) && new RegExp(`^binding = "${binding}"$`, "m").test(b));
  if (!block) throw new Error(`wrangler.toml has no ${header} with binding "${binding}".`);
  return block;
}

/** A shard's D1 database in wrangler.toml (its environment's, else the top level's): its name and id. */
export function shardDatabase(shard: number, env?: string, toml?: string): { name: string; id: string } {
  const block = bindingBlock("d1_databases", shardBinding(shard), env, toml);
  return { name: /^database_name = "(.*)"$/m.exec(block)![1]!, id: /^database_id = "(.*)"$/m.exec(block)![1]! };
}

/**
 * A KV namespace of wrangler.toml through the REST API: what `wrangler kv key get|put|list --remote` do, in this
 * process (a request each, not a wrangler process each).
 */
export function kvNamespace(binding: string, env?: string) {
  const id = /^id = "(.*)"$/m.exec(bindingBlock("kv_namespaces", binding, env))![1]!;
  const path = async (rest: string) => `/accounts/${await accountId()}/storage/kv/namespaces/${id}${rest}`;
  return {
    async get(key: string): Promise<string | null> {
      const at = await path(`/values/${encodeURIComponent(key)}`);
      const res = await reach(`${base()}${at}`, { headers: { authorization: `Bearer ${apiToken()}` } });
      const text = await res.text();
      if (res.status === 404) return null;
      if (!res.ok) throw refusal("GET", at, res.status, text);
      return text;
    },
    async put(key: string, value: string): Promise<void> {
      await cloudflare("PUT", await path(`/values/${encodeURIComponent(key)}`), value);
    },
    async names(prefix: string): Promise<string[]> {
      const names: string[] = [];
      let cursor = "";
      do {
        const page = await cloudflare<{ name: string }[]>("GET", await path(`/keys?prefix=${encodeURIComponent(prefix)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`));
        names.push(...page.result.map((k) => k.name));
        cursor = page.result_info?.cursor ?? "";
      } while (cursor);
      return names;
    },
  };
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
