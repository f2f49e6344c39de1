// The operator's first day, as the README's Deploy section prints it, against the stand-in for Cloudflare's API
// (scripts/standin/): every block marked "rehearsed" runs as printed through wrangler's own remote code and the
// scripts' REST calls, in a copy of the project (env:create rewrites its wrangler.toml), then again. The backup's
// rows are compared value for value with what was seeded, and with the local export they came from.
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { getPlatformProxy } from "wrangler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStandin } from "../../scripts/standin/server";

const readme = readFileSync("README.md", "utf8");
const rehearsed = [...readme.matchAll(/<!-- rehearsed[^\n]*-->\n```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
const project = mkdtempSync(join(tmpdir(), "vatly-first-day-"));
const TOKEN = "first-day-token";
const ACCOUNT = "f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1";
let standin: Awaited<ReturnType<typeof startStandin>>;
let env: NodeJS.ProcessEnv;

// Values the remote path has broken before: `?` spliced over, quotes, `;` and `--`, NUL, long non-ASCII text.
const cjk = "顧客".repeat(20_000); // 40,000 characters, 120,000 bytes in UTF-8
const astral = "😀".repeat(30_001); // pieces must not cut a surrogate pair
const metadata = JSON.stringify(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "ü".repeat(250) + "漢".repeat(250)])));
const seed = [
  ["customers", { id: "cus_0000000000000000000001", account_id: "acct_123", testmode: 0, email: "q?uote'@first-day.example", name: "O'Brien; -- not a comment ? {", metadata: JSON.stringify({ note: "a?b", sql: "'); DROP TABLE customers; --", brace: "{?}" }), created_at: "2026-12-01T00:00:00.000Z", etag: "e1" }],
  ["customers", { id: "cus_0000000000000000000002", account_id: "acct_123", testmode: 0, email: "nul@first-day.example", name: "before\0after", metadata, created_at: "2026-12-02T00:00:00.000Z", etag: "e2" }],
  ["webhook_endpoints", { id: "webhook_endpoint_00000000000000000001", account_id: "acct_123", testmode: 0, url: "https://merchant.example/hook?a=1&b=?", secret: "c2VjcmV0?", previous_secret: null, previous_secret_until: null, created_at: "2026-12-01T00:00:00.000Z" }],
  ["webhook_events", { id: "webhook_event_0000000000000000000001", account_id: "acct_123", testmode: 0, event_name: "customer.created", entity_id: "cus_0000000000000000000001", body: JSON.stringify({ cjk, astral }), created_at: 1764547200000, delivery: "none", attempts: 0, next_attempt_at: 0 }],
  ["idempotency_keys", { account_id: "acct_123", testmode: 0, key: "k?1", fingerprint: "f", status: 201, body: `{"pad":"${"'?;".repeat(40_000)}"}`, headers: "{}", resource_id: "cus_0000000000000000000001", created_at: 1764547200000 }],
] as const;

/** A rehearsed block as one bash script; `statuses`: each command's exit status recorded instead of stopping. */
async function run(block: string, statuses = false) {
  const lines = block.split("\n").filter((l) => l.trim());
  const script = statuses ? lines.map((l) => `${l}\necho "status $?" >&3`).join("\n") : `set -euo pipefail\n${block}`;
  // Not spawnSync: the stand-in answers from this process's event loop.
  const child = spawn("bash", ["-c", `exec 3>"${join(project, "statuses")}"\n${script}`], { cwd: project, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  const status = await new Promise<number | null>((done) => child.on("close", done));
  const recorded = statuses ? readFileSync(join(project, "statuses"), "utf8").trim().split("\n").map((l) => Number(l.split(" ")[1])) : [];
  return { status, stdout, stderr, recorded, lines };
}

/** The first value that differs between two lists of rows, named by row and column and shortened ("" if none). */
function firstDifference(actual: unknown[], expected: unknown[], onlyExpectedColumns = false): string {
  if (actual.length !== expected.length) return `${actual.length} rows, expected ${expected.length}`;
  for (const [i, want] of expected.entries()) {
    const got = actual[i] as Record<string, unknown>;
    const flat = (o: unknown) => ("row" in (o as object) ? { table: (o as { table: unknown }).table, ...(o as { row: object }).row } : o) as Record<string, unknown>;
    const [g, w] = [flat(got), flat(want)];
    for (const key of new Set([...Object.keys(w), ...(onlyExpectedColumns ? [] : Object.keys(g))])) {
      if (JSON.stringify(g[key]) !== JSON.stringify(w[key])) return `row ${i} (${String(w.table ?? w.id ?? "")}) column ${key}: ${JSON.stringify(g[key])?.slice(0, 120)} instead of ${JSON.stringify(w[key])?.slice(0, 120)}`;
    }
  }
  return "";
}

const jsonl = (file: string) => readFileSync(join(project, file), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { table: string; row: Record<string, unknown> });

beforeAll(async () => {
  for (const entry of ["package.json", "wrangler.toml", "openapi.json", "tsconfig.json", "src", "scripts", "migrations", "public"]) cpSync(entry, join(project, entry), { recursive: true });
  symlinkSync(resolve("node_modules"), join(project, "node_modules"));
  standin = await startStandin({ dir: join(project, ".standin"), token: TOKEN, accountId: ACCOUNT });
  env = { ...process.env, CLOUDFLARE_API_BASE_URL: standin.url, CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CI: "true", WRANGLER_SEND_METRICS: "false", VATLY_PERSIST_TO: "" };
  delete env.VATLY_PERSIST_TO;
  // The local state the backup block exports: shard 0 migrated, then the rows above with bound parameters.
  execFileSync("node_modules/.bin/wrangler", ["d1", "migrations", "apply", "DB", "--local"], { cwd: project, env, stdio: "ignore" });
  const local = await getPlatformProxy<{ DB: D1Database }>({ configPath: join(project, "wrangler.toml"), persist: { path: join(project, ".wrangler/state/v3") } });
  for (const [table, row] of seed) {
    const columns = Object.keys(row);
    await local.env.DB.prepare(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`).bind(...Object.values(row)).run();
  }
  await local.dispose();
}, 180_000);

afterAll(async () => {
  await standin?.close();
  rmSync(project, { recursive: true, force: true });
});

describe("the README's first day against the stand-in for Cloudflare's API", () => {
  it("has the two rehearsed blocks: the environment, and the first keys, link, moves and backup", () => {
    expect(rehearsed).toHaveLength(2);
    expect(rehearsed[0]).toMatch(/npm run env:create -- --env staging[\s\S]*db:migrate -- --remote --env staging[\s\S]*deploy -- --env staging --dry-run/);
    expect(rehearsed[1]).toMatch(/key:create[\s\S]*key:revoke[\s\S]*key:list[\s\S]*dashboard:link[\s\S]*account:move -- --status[\s\S]*db:export[\s\S]*db:restore/);
  });

  it("creates the environment with read replication on, migrates every shard through D1's /query, and dry-runs the deploy", async () => {
    const first = await run(rehearsed[0]!);
    expect(first.status, first.stderr + first.stdout).toBe(0);
    const toml = readFileSync(join(project, "wrangler.toml"), "utf8");
    const dbs = standin.state.databases;
    expect(dbs.map((d) => d.name).sort()).toEqual(["vatly-customers-staging", "vatly-customers-staging-1"]);
    for (const db of dbs) {
      expect(toml).toContain(`database_name = "${db.name}"\ndatabase_id = "${db.uuid}"`);
      expect(db.read_replication).toEqual({ mode: "auto" });
    }
    expect(toml).toContain(`id = "${standin.state.namespaces.find((n) => n.title === "vatly-api-keys-staging")!.id}"`);
    expect(standin.state.queues.map((q) => q.queue_name).sort()).toEqual(["vatly-webhooks-dlq-staging", "vatly-webhooks-staging"]);
    expect(standin.state.secrets["vatly-customers-staging"]?.sort()).toEqual(["IDEMPOTENCY_SECRET", "WEBHOOK_SECRET_KEY"]);
    expect(first.stdout).toMatch(/Migrations applied to shards DB, DB_1 \(remote\)/);
    expect(first.stdout).toMatch(/Total Upload: [\d.]+ KiB \/ gzip: [\d.]+ KiB/);
    expect(first.stdout).toContain("--dry-run: exiting now.");
    // The README's figure for the bundle is what the dry run prints, within 10%.
    const printed = Number(/gzip: ([\d.]+) KiB/.exec(first.stdout)![1]);
    const stated = Number(/a deploy bundle of about (\d+) KiB gzip/.exec(readme)![1]);
    expect(Math.abs(printed - stated) / stated, `README says ${stated} KiB, the dry run printed ${printed}`).toBeLessThan(0.1);

    // Again: nothing new is made, no id changes, every migration stays applied once.
    const second = await run(rehearsed[0]!);
    expect(second.status, second.stderr).toBe(0);
    expect(readFileSync(join(project, "wrangler.toml"), "utf8")).toBe(toml);
    expect(standin.state.databases).toHaveLength(2);
    expect(standin.state.namespaces).toHaveLength(1);
    expect(standin.state.queues).toHaveLength(2);
    expect(second.stdout).toMatch(/Migrations applied to shards DB, DB_1 \(remote\)/);
    for (const db of dbs) {
      const applied = (await (await standin.d1(db.name)).prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>()).results.map((r) => r.name);
      expect(applied).toEqual(readdirSync(join(project, "migrations")).filter((f) => f.endsWith(".sql")).sort());
    }
  }, 300_000);

  it("makes keys, a link and a backup whose every value comes back, and a second run changes nothing it should not", async () => {
    const first = await run(rehearsed[1]!);
    expect(first.status, first.stderr + first.stdout).toBe(0);
    expect(first.stdout).toMatch(/^live_\w{40}$/m);
    expect(first.stdout).toMatch(/Revoked the test key of account acct_123 at /);
    expect(first.stdout).toMatch(/live_…\w{4} {2}created \S+ {2}active {2}shard \d {2}made by key:create/);
    expect(first.stdout).toMatch(/test_…\w{4} {2}created \S+ {2}revoked \S+/);
    expect(first.stdout).toMatch(/^https:\/\/api-staging\.example\.com\/dashboard\/#link=[0-9a-f]{64}$/m);
    expect(first.stdout).toContain("No unfinished move on any shard.");

    // Value for value: the local export holds what was seeded, and the remote shard gives back the local export.
    const local = jsonl("local-DB.jsonl");
    const remote = jsonl("staging-DB_1.jsonl");
    for (const [table, row] of seed) expect(firstDifference([local.find((l) => l.table === table && l.row[Object.keys(row)[0]!] === Object.values(row)[0])?.row ?? {}], [row], true), table).toBe("");
    expect(firstDifference(remote, local)).toBe("");
    // And the restored shard's own search index was rebuilt by its triggers.
    const db = await standin.d1("vatly-customers-staging-1");
    expect((await db.prepare("SELECT count(*) AS n FROM customer_search").first<{ n: number }>())!.n).toBe(2);

    const revokedAt = /test_…\w{4} {2}created \S+ {2}revoked (\S+)/.exec(first.stdout)![1];
    const second = await run(rehearsed[1]!, true);
    const restoreLine = second.lines.findIndex((l) => l.includes("db:restore"));
    expect(second.recorded).toEqual(second.lines.map((_, i) => (i === restoreLine ? 1 : 0)));
    expect(second.stderr).toMatch(/db:restore of the remote staging DB_1: DB_1 is not empty: restore into a shard with the migrations applied and no rows\.\n/);
    expect(firstDifference(jsonl("staging-DB_1.jsonl"), local)).toBe("");
    expect(second.stdout).toContain(`revoked ${revokedAt}`);
    expect(standin.stats.requests).toBeLessThan(1200);
  }, 300_000);
});
