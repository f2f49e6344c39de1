// db:export and db:restore: `wrangler d1 export` refuses a database with the FTS5 search index, so a shard's backup
// is every real table, row by row, restored into an empty migrated shard whose triggers rebuild the index. Round
// trip on a state of its own (no npm run dev needed), every table compared value for value, the index checked by
// the same search on both sides.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const TSX = "node_modules/.bin/tsx";
const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), "vatly-backup-"));
  dirs.push(dir);
  // Shard 0 only, the one the round trip uses (every shard's migrations take seconds each).
  const migrated = spawnSync("node_modules/.bin/wrangler", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", dir], { encoding: "utf8", env: { ...process.env, CI: "true" } });
  expect(migrated.status, migrated.stderr).toBe(0);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Every statement in one wrangler call: the results of each, in order. */
function rows(state: string, sqls: string[]) {
  const run = spawnSync("node_modules/.bin/wrangler", ["d1", "execute", "DB", "--local", "--persist-to", state, "--command", sqls.join("; "), "--json"], { encoding: "utf8", maxBuffer: 1 << 28, env: { ...process.env, CI: "true" } });
  expect(run.status, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { results: Record<string, unknown>[] }[]).map((r) => r.results);
}

describe("db:export and db:restore", () => {
  it("round-trip a shard's real tables into an empty shard, value for value, with the search index rebuilt", () => {
    const source = fresh();
    const seed = join(source, "seed.sql");
    const long = "x".repeat(95_000); // longer than a D1 statement may be: restored in pieces
    writeFileSync(seed, [
      `INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at, etag) VALUES
        ('cus_0000000000000000000001', 'acct_b', 1, 'ada@backup.example', 'Åsa Lindqvist', '{"plan":"pro"}', '2026-01-01T00:00:00Z', 'e1'),
        ('cus_0000000000000000000002', 'acct_b', 1, 'bob@backup.example', NULL, '{}', '2026-01-02T00:00:00Z', 'e2'),
        ('cus_0000000000000000000003', 'acct_c', 0, 'cid@backup.example', 'Cid', '{"k":"v","crm":"C-1"}', '2026-01-03T00:00:00Z', 'e3');`,
      "DELETE FROM customers WHERE id = 'cus_0000000000000000000002';",
      "INSERT INTO customer_tombstones (id, account_id, testmode, created_at, deleted_at) VALUES ('cus_0000000000000000000002', 'acct_b', 1, '2026-01-02T00:00:00Z', 1767312000000);",
      `INSERT INTO webhook_events (id, account_id, testmode, event_name, entity_id, body, created_at, delivery, attempts, next_attempt_at) VALUES
        ('webhook_event_0000000000000000000001', 'acct_b', 1, 'customer.created', 'cus_0000000000000000000001', '{"pad":"${long}"}', 1767225600000, 'none', 0, 0);`,
    ].join("\n"));
    expect(spawnSync("node_modules/.bin/wrangler", ["d1", "execute", "DB", "--local", "--persist-to", source, "--file", seed], { encoding: "utf8", env: { ...process.env, CI: "true" } }).status).toBe(0);
    const file = join(source, "DB.jsonl");
    const exported = spawnSync(TSX, ["scripts/backup.ts", "export", "--shard", "0", "--output", file, "--persist-to", source], { encoding: "utf8" });
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/^Exported \d+ rows of DB to /);
    expect(readFileSync(file, "utf8")).not.toMatch(/"table":"(customer_search|search_scopes|search_backfill|d1_migrations)/);

    const target = fresh();
    const restored = spawnSync(TSX, ["scripts/backup.ts", "restore", "--shard", "0", "--input", file, "--persist-to", target], { encoding: "utf8" });
    expect(restored.status, restored.stderr).toBe(0);
    const again = spawnSync(TSX, ["scripts/backup.ts", "restore", "--shard", "0", "--input", file, "--persist-to", target], { encoding: "utf8" });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^db:restore of the local DB: DB is not empty: restore into a shard with the migrations applied and no rows\.\n$/);

    const tables = rows(source, ["SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'customer_search%' AND name NOT IN ('d1_migrations', 'search_scopes', 'search_backfill') ORDER BY name"])[0]!.map((r) => String(r.name));
    expect(tables).toEqual(expect.arrayContaining(["customers", "customer_tombstones", "webhook_events", "idempotency_keys", "account_moves"]));
    const sqls = [
      ...tables.map((t) => `SELECT * FROM "${t}" ORDER BY rowid`),
      "SELECT c.id FROM customer_search f JOIN search_scopes s JOIN customers c ON c.rowid = f.rowid - s.n * 1099511627776 AND c.account_id = s.account_id AND c.testmode = s.testmode WHERE f.customer_search MATCH '\"ndq\" AND \"lin\"' ORDER BY c.id",
      "SELECT (SELECT count(*) FROM customer_search) AS entries, (SELECT count(*) FROM customers) AS customers",
    ];
    const [before, after] = [rows(source, sqls), rows(target, sqls)];
    for (const [i, name] of [...tables, "search", "counts"].entries()) expect(after[i], name).toEqual(before[i]);
    expect(after.at(-2)).toEqual([{ id: "cus_0000000000000000000001" }]);
    expect(after.at(-1)).toEqual([{ entries: 2, customers: 2 }]);
    expect(String(after[tables.indexOf("webhook_events")]![0]!.body).length).toBe(long.length + 10);
  }, 120_000);
});
