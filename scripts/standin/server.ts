// A stand-in for the parts of Cloudflare's REST API that the operator's commands call (wrangler's own remote code
// included, through CLOUDFLARE_API_BASE_URL): D1 databases (create, list, info, read replication, /query, /raw, the
// /import protocol, /export), KV namespaces, values, keys and bulk, queues, Worker secrets. D1's engine is local D1
// (miniflare: the same SQLite, authorizer and limits as `wrangler dev`); the REST layer in front of it refuses what
// the real one is documented or reported to refuse (./refusals.ts). State persists under its directory.
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { getPlatformProxy } from "wrangler";
import { ApiError, checkQuery, checkStatement, envelope, RateWindow } from "./refusals";
import { statements } from "./sql";

export interface StandinOptions {
  dir: string;
  token: string;
  accountId: string;
  port?: number;
}

interface Database { uuid: string; name: string; slot: number; created_at: string; read_replication: { mode: string } }
interface State {
  databases: Database[];
  namespaces: { id: string; title: string; values: Record<string, { value: string; metadata?: unknown }> }[];
  queues: { queue_id: string; queue_name: string; created_on: string }[];
  secrets: Record<string, string[]>;
}

/** How many D1 databases one stand-in holds (local D1 bindings declared up front). */
export const DATABASE_SLOTS = 16;

type Handler = (m: RegExpMatchArray, body: Buffer, url: URL, req: IncomingMessage) => Promise<unknown> | unknown;

export async function startStandin({ dir, token, accountId, port = 0 }: StandinOptions) {
  mkdirSync(dir, { recursive: true });
  const statePath = join(dir, "state.json");
  const state: State = existsSync(statePath) ? JSON.parse(readFileSync(statePath, "utf8")) : { databases: [], namespaces: [], queues: [], secrets: {} };
  const save = () => writeFileSync(statePath, JSON.stringify(state));
  // Local D1 as wrangler dev runs it, through wrangler's own getPlatformProxy: a configuration of its own that
  // declares every slot a created database may take.
  const config = join(dir, "wrangler.json");
  writeFileSync(config, JSON.stringify({ name: "standin", compatibility_date: "2026-11-01", d1_databases: Array.from({ length: DATABASE_SLOTS }, (_, i) => ({ binding: `D1_${i}`, database_name: `standin-${i}`, database_id: `standin-${i}` })) }));
  const level = process.env.WRANGLER_LOG;
  process.env.WRANGLER_LOG = "error";
  const proxy = await getPlatformProxy<Record<string, D1Database>>({ configPath: config, persist: { path: join(dir, "v3") } })
    .finally(() => (level === undefined ? delete process.env.WRANGLER_LOG : (process.env.WRANGLER_LOG = level)));
  const d1 = async (db: Database) => proxy.env[`D1_${db.slot}`]!;
  const uploads = new Map<string, Buffer>();
  const imports = new Map<string, unknown>();
  const window = new RateWindow(1200, 5 * 60_000);
  const lastWrite = new Map<string, number>();
  const stats = { requests: 0, admitted: 0, refused: 0, byRoute: {} as Record<string, number> };
  let base = "";

  const database = (idOrName: string) => {
    const db = state.databases.find((d) => d.uuid === idOrName || d.name === idOrName);
    if (!db) throw new ApiError(404, 7404, `The database ${idOrName} could not be found.`);
    return db;
  };
  const namespace = (id: string) => {
    const ns = state.namespaces.find((n) => n.id === id);
    if (!ns) throw new ApiError(404, 10013, "namespace not found");
    return ns;
  };
  const info = (db: Database) => ({ uuid: db.uuid, name: db.name, created_at: db.created_at, version: "production", num_tables: 0, file_size: 0, read_replication: db.read_replication });
  const json = (body: Buffer) => (body.length ? JSON.parse(body.toString("utf8")) : {}) as Record<string, unknown>;

  async function query(db: Database, body: Record<string, unknown>, raw: boolean) {
    const { sql, params } = checkQuery(body);
    const engine = await d1(db);
    const results = await engine.batch(sql.map((piece) => engine.prepare(piece).bind(...params))).catch((err: Error) => {
      throw new ApiError(400, 7500, `${err.message.replace(/^D1_ERROR: /, "")}`);
    });
    return results.map((r) => {
      const rows = (r.results ?? []) as Record<string, unknown>[];
      const result = raw ? { columns: Object.keys(rows[0] ?? {}), rows: rows.map((row) => Object.values(row)) } : rows;
      return { results: result, success: true, meta: { ...r.meta, served_by_primary: true } };
    });
  }

  async function ingest(db: Database, filename: string) {
    const file = uploads.get(filename);
    if (!file) throw new ApiError(400, 7500, `No uploaded file ${filename}: upload it first.`);
    const sqls = statements(file.toString("utf8"));
    sqls.forEach(checkStatement);
    const engine = await d1(db);
    const started = Date.now();
    try {
      const results = sqls.length ? await engine.batch(sqls.map((s) => engine.prepare(s))) : [];
      const meta = { duration: Date.now() - started, rows_read: results.reduce((n, r) => n + (r.meta.rows_read ?? 0), 0), rows_written: results.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0), size_after: 0, changed_db: true };
      return { success: true, type: "import", status: "complete", at_bookmark: "b1", messages: [], errors: [], result: { num_queries: sqls.length, final_bookmark: "b1", meta } };
    } catch (err) {
      return { success: true, type: "import", status: "error", at_bookmark: "b0", messages: [], errors: [(err as Error).message.replace(/^D1_ERROR: /, "")] };
    }
  }

  const A = `/client/v4/accounts/${accountId}`;
  const routes: [string, RegExp, Handler][] = [
    ["GET", /^\/client\/v4\/user\/tokens\/verify$/, () => ({ id: "standin", status: "active" })],
    ["GET", /^\/client\/v4\/accounts$/, () => [{ id: accountId, name: "Stand-in account" }]],
    ["GET", /^\/client\/v4\/memberships$/, () => [{ id: "m1", account: { id: accountId, name: "Stand-in account" } }]],
    ["GET", /^\/client\/v4\/user$/, () => ({ id: "u1", email: "operator@example.com" })],
    ["GET", new RegExp(`^${A}/d1/database$`), (_m, _b, url) => state.databases.filter((d) => !url.searchParams.get("name") || d.name === url.searchParams.get("name")).map(info)],
    ["POST", new RegExp(`^${A}/d1/database$`), (_m, body) => {
      const { name } = json(body) as { name?: string };
      if (typeof name !== "string" || !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) throw new ApiError(400, 7400, "Database name is invalid.");
      if (state.databases.some((d) => d.name === name)) throw new ApiError(400, 7502, "A database with that name already exists.");
      if (state.databases.length >= DATABASE_SLOTS) throw new ApiError(400, 7406, `The stand-in holds at most ${DATABASE_SLOTS} databases.`);
      const db = { uuid: randomUUID(), name, slot: state.databases.length, created_at: new Date().toISOString(), read_replication: { mode: "disabled" } };
      state.databases.push(db);
      save();
      return info(db);
    }],
    ["GET", new RegExp(`^${A}/d1/database/([^/]+)$`), (m) => info(database(decodeURIComponent(m[1]!)))],
    ["PATCH|PUT", new RegExp(`^${A}/d1/database/([^/]+)$`), (m, body) => {
      const db = database(m[1]!);
      const mode = (json(body).read_replication as { mode?: unknown } | undefined)?.mode;
      if (mode !== "auto" && mode !== "disabled") throw new ApiError(400, 7400, 'read_replication.mode must be "auto" or "disabled".');
      db.read_replication = { mode };
      save();
      return info(db);
    }],
    ["POST", new RegExp(`^${A}/d1/database/([^/]+)/query$`), (m, body) => query(database(m[1]!), json(body), false)],
    ["POST", new RegExp(`^${A}/d1/database/([^/]+)/raw$`), (m, body) => query(database(m[1]!), json(body), true)],
    ["POST", new RegExp(`^${A}/d1/database/([^/]+)/export$`), async (m) => {
      const engine = await d1(database(m[1]!));
      const virtual = await engine.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'").all<{ name: string }>();
      if (virtual.results.length) throw new ApiError(400, 7500, `Cannot export a database with virtual tables (${virtual.results.map((r) => r.name).join(", ")}).`);
      throw new ApiError(501, 7500, "The stand-in does not model exports of databases without virtual tables.");
    }],
    ["POST", new RegExp(`^${A}/d1/database/([^/]+)/import$`), async (m, body) => {
      const db = database(m[1]!);
      const req = json(body) as { action?: string; etag?: string; filename?: string };
      if (req.action === "init") {
        if (typeof req.etag !== "string") throw new ApiError(400, 7400, "init needs the file's etag.");
        const filename = `${req.etag}.sql`;
        return { success: true, filename, upload_url: `${base}/__r2/${db.uuid}/${filename}` };
      }
      if (req.action === "ingest") {
        if (!req.filename || !uploads.has(req.filename)) throw new ApiError(400, 7400, "ingest names a file that was not uploaded.");
        imports.set(db.uuid, await ingest(db, req.filename));
        uploads.delete(req.filename);
        return { success: true, type: "import", status: "active", at_bookmark: "b0", messages: ["Import started"], errors: [] };
      }
      if (req.action === "poll") {
        const done = imports.get(db.uuid);
        if (!done) throw new ApiError(400, 7400, "No import is running on this database.");
        imports.delete(db.uuid);
        return done;
      }
      throw new ApiError(400, 7400, "action must be init, ingest or poll.");
    }],
    ["GET", new RegExp(`^${A}/storage/kv/namespaces$`), () => state.namespaces.map(({ id, title }) => ({ id, title, supports_url_encoding: true }))],
    ["POST", new RegExp(`^${A}/storage/kv/namespaces$`), (_m, body) => {
      const { title } = json(body) as { title?: string };
      if (typeof title !== "string" || !title) throw new ApiError(400, 10019, "title is required");
      if (state.namespaces.some((n) => n.title === title)) throw new ApiError(400, 10014, "a namespace with this account ID and title already exists");
      const ns = { id: randomUUID().replaceAll("-", ""), title, values: {} };
      state.namespaces.push(ns);
      save();
      return { id: ns.id, title, supports_url_encoding: true };
    }],
    ["GET", new RegExp(`^${A}/storage/kv/namespaces/([^/]+)/keys$`), (m, _b, url) => {
      const prefix = url.searchParams.get("prefix") ?? "";
      const limit = Math.min(Number(url.searchParams.get("limit") ?? 1000), 1000);
      const names = Object.keys(namespace(m[1]!).values).filter((k) => k.startsWith(prefix)).sort();
      const from = Number(url.searchParams.get("cursor") || 0);
      const page = names.slice(from, from + limit);
      return { list: page.map((name) => ({ name })), cursor: from + limit < names.length ? String(from + limit) : "" };
    }],
    ["GET", new RegExp(`^${A}/storage/kv/namespaces/([^/]+)/values/(.+)$`), (m) => {
      const entry = namespace(m[1]!).values[decodeURIComponent(m[2]!)];
      if (!entry) throw new ApiError(404, 10009, "get: 'key not found'");
      return new RawValue(entry.value);
    }],
    ["PUT", new RegExp(`^${A}/storage/kv/namespaces/([^/]+)/values/(.+)$`), async (m, body, url, req) => {
      const ns = namespace(m[1]!);
      const key = decodeURIComponent(m[2]!);
      const type = String(req.headers["content-type"] ?? "");
      let value = body.toString("utf8");
      let metadata: unknown;
      if (type.startsWith("multipart/form-data")) {
        const form = await new Response(body, { headers: { "content-type": type } }).formData();
        value = String(form.get("value") ?? "");
        metadata = form.get("metadata") ? JSON.parse(String(form.get("metadata"))) : undefined;
      }
      writeOnce(`${ns.id}/${key}`);
      ns.values[key] = { value, metadata };
      save();
      return null;
    }],
    ["DELETE", new RegExp(`^${A}/storage/kv/namespaces/([^/]+)/values/(.+)$`), (m) => {
      const ns = namespace(m[1]!);
      delete ns.values[decodeURIComponent(m[2]!)];
      save();
      return null;
    }],
    ["PUT", new RegExp(`^${A}/storage/kv/namespaces/([^/]+)/bulk$`), (m, body) => {
      const ns = namespace(m[1]!);
      const pairs = JSON.parse(body.toString("utf8")) as { key: string; value: string; base64?: boolean }[];
      if (!Array.isArray(pairs) || pairs.length > 10_000) throw new ApiError(400, 10026, "a bulk write takes at most 10,000 pairs");
      for (const p of pairs) writeOnce(`${ns.id}/${p.key}`);
      for (const p of pairs) ns.values[p.key] = { value: p.base64 ? Buffer.from(p.value, "base64").toString("utf8") : p.value };
      save();
      return { successful_key_count: pairs.length, unsuccessful_keys: [] };
    }],
    ["DELETE|POST", new RegExp(`^${A}/storage/kv/namespaces/([^/]+)/bulk(?:/delete)?$`), (m, body) => {
      const ns = namespace(m[1]!);
      for (const key of JSON.parse(body.toString("utf8")) as string[]) delete ns.values[key];
      save();
      return { successful_key_count: 0, unsuccessful_keys: [] };
    }],
    ["GET", new RegExp(`^${A}/queues$`), (_m, _b, url) => state.queues.filter((q) => !url.searchParams.get("name") || q.queue_name === url.searchParams.get("name"))],
    ["POST", new RegExp(`^${A}/queues$`), (_m, body) => {
      const { queue_name } = json(body) as { queue_name?: string };
      if (typeof queue_name !== "string" || !/^[a-z0-9-]{1,63}$/.test(queue_name)) throw new ApiError(400, 11003, "Queue name is invalid");
      if (state.queues.some((q) => q.queue_name === queue_name)) throw new ApiError(400, 11009, "Queue name already taken");
      const queue = { queue_id: randomUUID().replaceAll("-", ""), queue_name, created_on: new Date().toISOString() };
      state.queues.push(queue);
      save();
      return queue;
    }],
    ["PUT", new RegExp(`^${A}/workers/scripts/([^/]+)/secrets$`), (m, body) => {
      // Only the name is kept: a stand-in has no business holding a secret.
      const { name, type } = json(body) as { name?: string; type?: string };
      if (typeof name !== "string" || type !== "secret_text") throw new ApiError(400, 10021, "name and type secret_text are required");
      state.secrets[m[1]!] = [...new Set([...(state.secrets[m[1]!] ?? []), name])];
      save();
      return { name, type };
    }],
  ];

  /** KV's documented limit: one write a second to a key. */
  function writeOnce(key: string) {
    const now = Date.now();
    if (now - (lastWrite.get(key) ?? -Infinity) < 1000) throw new ApiError(429, 10048, "KV PUT failed: 429 Too Many Requests (one write a second per key)");
    lastWrite.set(key, now);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", base);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (url.pathname === "/__standin/stats") return send(res, 200, stats);
    const upload = /^\/__r2\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (upload && req.method === "PUT") {
      // R2's presigned upload: not Cloudflare's API, so not counted against its rate limit.
      uploads.set(upload[2]!, body);
      res.writeHead(200, { etag: `"${createHash("md5").update(body).digest("hex")}"` }).end();
      return;
    }
    stats.requests++;
    try {
      if (req.headers.authorization !== `Bearer ${token}`) throw new ApiError(403, 10000, "Authentication error");
      if (!window.admit(token)) throw new ApiError(429, 971, "Please wait and consider throttling your request speed (1,200 requests in 5 minutes)");
      stats.admitted++;
      if (url.pathname.startsWith("/client/v4/accounts/") && !url.pathname.startsWith(`${A}/`) && url.pathname !== "/client/v4/accounts") throw new ApiError(403, 10000, "Authentication error");
      for (const [methods, pattern, handler] of routes) {
        const m = url.pathname.match(pattern);
        if (!m || !methods.split("|").includes(req.method ?? "")) continue;
        const key = `${req.method} ${pattern.source.replace(A, "")}`;
        stats.byRoute[key] = (stats.byRoute[key] ?? 0) + 1;
        const result = await handler(m, body, url, req);
        if (result instanceof RawValue) return void res.writeHead(200, { "content-type": "application/octet-stream" }).end(result.value);
        const list = result && typeof result === "object" && "list" in result ? (result as { list: unknown[]; cursor: string }) : undefined;
        return send(res, 200, envelope(list ? list.list : result, list ? { count: list.list.length, cursor: list.cursor } : Array.isArray(result) ? { page: 1, per_page: 1000, count: result.length, total_count: result.length } : undefined));
      }
      throw new ApiError(404, 7003, `The stand-in does not model ${req.method} ${url.pathname.replace("/client/v4", "")}`);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, 10002, (err as Error).message);
      stats.refused++;
      return send(res, e.status, { success: false, errors: [{ code: e.code, message: e.message }], messages: [], result: null }, e.status === 429 ? { "retry-after": "60" } : {});
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url: `${base}/client/v4`,
    stats,
    state,
    d1: async (name: string) => d1(database(name)),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await proxy.dispose();
    },
  };
}

class RawValue {
  constructor(readonly value: string) {}
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}
