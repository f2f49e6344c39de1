// The stand-in for Cloudflare's API is worth what it refuses: each shape the real API is documented or reported to
// refuse is refused here, with Cloudflare's envelope, so the first-day rehearsal can never pass on something the
// platform would not take. And the migrations are held to the same shapes, every later one included.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inserts, pieces, spliced } from "../../scripts/backup";
import { startStandin } from "../../scripts/standin/server";
import { holdsStatement, splitLikeD1, statements } from "../../scripts/standin/sql";

const dir = mkdtempSync(join(tmpdir(), "vatly-standin-"));
const ACCOUNT = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
let standin: Awaited<ReturnType<typeof startStandin>>;
let db: string;

const call = async (method: string, path: string, body?: unknown, token = "t0ken") => {
  const res = await fetch(`${standin.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json().catch(() => null)) as { success: boolean; errors: { code: number; message: string }[]; result: any } };
};
const query = (sql: string, params?: unknown[]) => call("POST", `/accounts/${ACCOUNT}/d1/database/${db}/query`, { sql, params });
const refused = (out: Awaited<ReturnType<typeof call>>, code: number, message: RegExp) => {
  expect(out.body.success, JSON.stringify(out.body)).toBe(false);
  expect(out.body.errors[0]!.code).toBe(code);
  expect(out.body.errors[0]!.message).toMatch(message);
};

beforeAll(async () => {
  standin = await startStandin({ dir, token: "t0ken", accountId: ACCOUNT });
  db = (await call("POST", `/accounts/${ACCOUNT}/d1/database`, { name: "refusals" })).body.result.uuid;
}, 60_000);
afterAll(async () => {
  await standin.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the stand-in's D1 /query refuses what D1's is reported to refuse", () => {
  it("takes several plain statements and bound parameters, as D1 does", async () => {
    const made = await query("CREATE TABLE t (a TEXT); INSERT INTO t VALUES ('x;y'); INSERT INTO t VALUES ('it''s')");
    expect(made.body.success).toBe(true);
    expect(made.body.result).toHaveLength(3);
    const read = await query("SELECT a FROM t WHERE a = ? OR a = ?", ["x;y", "it's"]);
    expect(read.body.result[0].results).toEqual([{ a: "x;y" }, { a: "it's" }]);
  });

  it("a quote inside a -- comment leaves a piece holding several statements (workers-sdk#4713)", async () => {
    refused(await query("-- the customer's table\nCREATE TABLE q1 (a TEXT);\nCREATE TABLE q2 (a TEXT);\n-- it's done\nSELECT 1;"), 7500, /^A prepared SQL statement must contain only one statement\.$/);
    expect((await query("SELECT name FROM sqlite_master WHERE name IN ('q1', 'q2')")).body.result[0].results).toEqual([]);
  });

  it("a ; inside a comment, and a comment-only piece, are refused (#4767)", async () => {
    refused(await query("SELECT 1; -- one; two\nSELECT 2"), 7500, /^SQL code did not contain a statement\.$/);
    refused(await query("SELECT 1;\n-- the end"), 7500, /^SQL code did not contain a statement\.$/);
    refused(await query("-- nothing at all"), 7500, /^SQL code did not contain a statement\.$/);
  });

  it("a CASE ... END; inside a trigger body ends the trigger early", async () => {
    const trigger = "CREATE TABLE c (a INTEGER); CREATE TRIGGER c_t AFTER INSERT ON c BEGIN SELECT CASE WHEN NEW.a > 0 THEN 1 END; SELECT 2; END";
    refused(await query(trigger), 7500, /only one statement|syntax error|incomplete input/);
    expect((await query("SELECT name FROM sqlite_master WHERE name IN ('c', 'c_t')")).body.result[0].results).toEqual([]);
    // The same trigger without `END;` after its CASE is one statement to both readers.
    expect((await query(trigger.replace("THEN 1 END;", "THEN 1 END AS x;"))).body.success).toBe(true);
  });

  it("params go with one statement, at most 100 of them, and a statement is at most 100,000 bytes", async () => {
    refused(await query("SELECT ?; SELECT ?", [1, 2]), 7500, /single statement/);
    refused(await query(`SELECT ${Array.from({ length: 101 }, () => "?").join(", ")}`, Array.from({ length: 101 }, (_, i) => i)), 7500, /too many SQL variables/);
    refused(await query(`SELECT '${"é".repeat(50_001)}'`), 7500, /SQLITE_TOOBIG/);
    expect((await query(`SELECT '${"é".repeat(49_000)}' AS a`)).body.success).toBe(true);
  });

  it("an import is run whole or not at all, and an export of a database with a virtual table is refused", async () => {
    const path = `/accounts/${ACCOUNT}/d1/database/${db}/import`;
    const sql = "CREATE TABLE i (a TEXT);\nINSERT INTO i VALUES ('one');\nINSERT INTO nowhere VALUES (1);";
    const init = (await call("POST", path, { action: "init", etag: "e" })).body.result;
    expect((await fetch(init.upload_url, { method: "PUT", body: sql })).status).toBe(200);
    expect((await call("POST", path, { action: "ingest", filename: init.filename, etag: "e" })).body.result.status).toBe("active");
    const polled = (await call("POST", path, { action: "poll" })).body.result;
    expect(polled.status).toBe("error");
    expect(polled.errors.join()).toMatch(/no such table: nowhere/);
    expect((await query("SELECT name FROM sqlite_master WHERE name = 'i'")).body.result[0].results).toEqual([]);
    expect((await query("CREATE VIRTUAL TABLE v USING fts5(a)")).body.success).toBe(true);
    refused(await call("POST", `/accounts/${ACCOUNT}/d1/database/${db}/export`, { output_format: "polling" }), 7500, /virtual tables \(v\)/);
  });

  it("names are unique, read replication takes auto or disabled, and the token is checked", async () => {
    refused(await call("POST", `/accounts/${ACCOUNT}/d1/database`, { name: "refusals" }), 7502, /already exists/);
    refused(await call("PATCH", `/accounts/${ACCOUNT}/d1/database/${db}`, { read_replication: { mode: "on" } }), 7400, /auto/);
    expect((await call("PATCH", `/accounts/${ACCOUNT}/d1/database/${db}`, { read_replication: { mode: "auto" } })).body.result.read_replication).toEqual({ mode: "auto" });
    refused(await call("GET", `/accounts/${ACCOUNT}/d1/database`, undefined, "wrong"), 10000, /Authentication error/);
    refused(await call("GET", "/accounts/b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2/d1/database"), 10000, /Authentication error/);
  });
});

describe("the stand-in's KV and rate limit", () => {
  it("refuses a second write to one key within a second, and takes it a second later", async () => {
    const ns = (await call("POST", `/accounts/${ACCOUNT}/storage/kv/namespaces`, { title: "limits" })).body.result.id;
    const put = (key: string, value: string) => call("PUT", `/accounts/${ACCOUNT}/storage/kv/namespaces/${ns}/values/${key}`, value);
    expect((await put("k", "1")).status).toBe(200);
    const again = await put("k", "2");
    expect(again.status).toBe(429);
    refused(again, 10048, /one write a second per key/);
    expect((await put("other", "1")).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_050));
    expect((await put("k", "3")).status).toBe(200);
    expect(await (await fetch(`${standin.url}/accounts/${ACCOUNT}/storage/kv/namespaces/${ns}/values/k`, { headers: { authorization: "Bearer t0ken" } })).text()).toBe("3");
  });

  it("answers 429 past 1,200 requests in 5 minutes", async () => {
    const seen = standin.stats.admitted;
    const statuses: number[] = [];
    for (let i = seen; i < 1_205; i += 50) statuses.push(...(await Promise.all(Array.from({ length: Math.min(50, 1_205 - i) }, () => call("GET", "/accounts")))).map((r) => r.status));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1_200 - seen);
    expect(statuses.slice(-5)).toEqual([429, 429, 429, 429, 429]);
    refused(await call("GET", "/accounts"), 971, /1,200 requests in 5 minutes/);
  }, 60_000);
});

describe("every migration passes D1's remote path (each later one too)", () => {
  const files = readdirSync("migrations").filter((f) => f.endsWith(".sql")).sort();

  it.each(files)("%s: no comment, and every piece D1's splitter makes of it (with wrangler's d1_migrations row) is one statement", (file) => {
    const sql = readFileSync(join("migrations", file), "utf8");
    // Exactly what `wrangler d1 migrations apply --remote` sends (buildMigrationQuery in wrangler's source).
    const sent = `${sql}\nINSERT INTO "d1_migrations" (name)\nvalues ('${file}');`;
    const byD1 = splitLikeD1(sent);
    expect(byD1.map((p) => statements(p).length)).toEqual(byD1.map(() => 1));
    expect(byD1.map((p) => p.trim())).toEqual(statements(sent).map((p) => p.trim()));
    expect(statements(sql.replace(/'(?:[^']|'')*'/g, "''")).join("\n")).not.toMatch(/--|\/\*/);
  });

  it("the shapes it checks for are the ones that failed: the splitter breaks on them", () => {
    expect(splitLikeD1("SELECT 1; -- it's\nSELECT 2; SELECT 'x';").map((p) => statements(p).length)).not.toEqual([1, 1, 1]);
    expect(holdsStatement("-- only a comment")).toBe(false);
    expect(statements("CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT CASE WHEN 1 THEN 2 END; SELECT 1; END; SELECT 2")).toHaveLength(2);
    expect(splitLikeD1("CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT CASE WHEN 1 THEN 2 END; SELECT 1; END; SELECT 2")).toHaveLength(4);
  });
});

describe("db:restore's statements to a remote shard", () => {
  it("write each parameter once, in order, whatever the values hold", () => {
    expect(spliced({ sql: "INSERT INTO t (a, b, c) VALUES (?, ?, ?)", params: ["a?b", "{\"k\":\"?\"}", null] })).toBe(`INSERT INTO t (a, b, c) VALUES ('a?b', '{"k":"?"}', NULL)`);
    expect(spliced({ sql: "SELECT ?, ?", params: ["it's", 3] })).toBe("SELECT 'it''s', 3");
  });

  it("stay under D1's 100,000 bytes per statement, cut between code points, and put the text back whole", () => {
    const text = "顧".repeat(40_000) + "😀".repeat(20_001) + "'".repeat(30_000);
    const cut = pieces(text);
    expect(cut.join("")).toBe(text);
    for (const piece of cut) {
      expect(Buffer.byteLength(piece, "utf8")).toBeLessThanOrEqual(40_000);
      expect(piece).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/); // no half of a surrogate pair at either end
    }
    const row = { id: "x", body: text, nul: "a\0".repeat(30_000), small: "s" };
    const statements = inserts("t", row);
    for (const s of statements) expect(Buffer.byteLength(spliced(s), "utf8")).toBeLessThan(100_000);
    expect(statements[0]!.params).toEqual(["x", "", "", "s"]);
    expect(statements.slice(1).filter((s) => s.sql.includes('"body"')).map((s) => s.params[0]).join("")).toBe(text);
    expect(statements.slice(1).filter((s) => s.sql.includes('"nul"')).map((s) => s.params[0]).join("")).toBe(row.nul);
  });
});
