// account:move when the copy does not verify: the source keeps serving, unmarked, and the target keeps nothing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { insertStatements, moveAccount, tableNamed } from "../../scripts/account-move";
import { createKey, listKeys } from "../../scripts/keys";
import { execute, migrateAll, query } from "../../scripts/shards";

const STATE = mkdtempSync(join(tmpdir(), "vatly-move-"));
const target = { remote: false, persistTo: STATE };
afterAll(() => rmSync(STATE, { recursive: true, force: true }));

describe("account:move", () => {
  it("stops before the flip when a table does not verify, leaving the source the one copy the keys name", async () => {
    migrateAll(target);
    const account = "acct_badcopy";
    await createKey({ accountId: account, mode: "test", shard: 0, ...target });
    execute(0, [
      `INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at, etag) VALUES ('cus_0000000000000000000001', '${account}', 1, 'a@example.com', NULL, '{}', '2026-01-01T00:00:00Z', 'e1');`,
    ], target);
    // The target corrupts what it receives: the copy cannot verify.
    execute(1, ["CREATE TRIGGER corrupt AFTER INSERT ON customers BEGIN UPDATE customers SET email = 'x' || email WHERE id = NEW.id; END;"], target);

    await expect(moveAccount(account, 1, target, 0, () => {})).rejects.toThrow(/Verification failed for customers/);

    expect(listKeys(account, target).map((k) => ({ shard: k.shard, moving: k.moving }))).toEqual([{ shard: 0, moving: undefined }]);
    expect(query(0, `SELECT email FROM customers WHERE account_id = '${account}'`, target)).toEqual([{ email: "a@example.com" }]);
    expect(query(1, `SELECT count(*) AS n FROM customers WHERE account_id = '${account}'`, target)).toEqual([{ n: 0 }]);

    // Fixed, it runs again to completion.
    execute(1, ["DROP TRIGGER corrupt;"], target);
    await moveAccount(account, 1, target, 0, () => {});
    expect(listKeys(account, target)[0]!.shard).toBe(1);
    expect(query(1, `SELECT email FROM customers WHERE account_id = '${account}'`, target)).toEqual([{ email: "a@example.com" }]);
    expect(query(0, `SELECT count(*) AS n FROM customers WHERE account_id = '${account}'`, target)).toEqual([{ n: 0 }]);
  }, 120_000);

  it("copies rows longer than D1's 100,000-byte statement limit, and texts with a NUL, exactly", async () => {
    migrateAll(target);
    const account = "acct_bigrows";
    await createKey({ accountId: account, mode: "test", shard: 0, ...target });
    // The largest metadata the contract allows (50 keys of 40 characters, values of 500, all emoji: about 110 KB),
    // built by SQL itself, since no single INSERT of it as a literal would be accepted.
    const metadata = `(WITH RECURSIVE n(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM n WHERE i < 59)
      SELECT json_group_object(replace(printf('%.*c', 38, 'k'), 'k', '😀') || i, replace(printf('%.*c', 500, 'v'), 'v', '🎉')) FROM n)`;
    execute(0, [
      `INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at, etag)
       SELECT 'cus_0000000000000000000002', '${account}', 1, 'big@example.com', 'Null' || char(0) || 'Byte', ${metadata}, '2026-01-01T00:00:00Z', 'e2';`,
    ], target);
    const read = (shard: number) => query(shard, `SELECT name, metadata, length(CAST(metadata AS BLOB)) AS bytes FROM customers WHERE account_id = '${account}'`, target);
    const before = read(0);
    expect(before[0]!.bytes).toBeGreaterThan(100_000);
    expect(before[0]!.name).toBe("Null\u0000Byte");

    await moveAccount(account, 1, target, 0, () => {});
    expect(read(1)).toEqual(before);
    expect(read(0)).toEqual([]);
    expect(listKeys(account, target)[0]).toMatchObject({ shard: 1 });
  }, 120_000);

  it("writes no statement longer than D1 accepts, whatever the row", () => {
    const customers = tableNamed("customers");
    const metadata = JSON.stringify(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${"😀".repeat(38)}${i + 10}`, "🎉".repeat(500)])));
    const row = { id: "cus_0000000000000000000003", account_id: "acct_x", testmode: 1, email: "o'brien@example.com", name: "a\u0000'b", metadata, created_at: "2026-01-01T00:00:00Z", etag: "e" };
    const statements = insertStatements(customers, row);
    expect(statements.length).toBeGreaterThan(2);
    for (const statement of statements) expect(Buffer.byteLength(statement)).toBeLessThan(100_000);
  });
});
