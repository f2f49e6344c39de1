// account:move when the copy does not verify: the source keeps serving, unmarked, and the target keeps nothing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { moveAccount } from "../../scripts/account-move";
import { createKey, listKeys } from "../../scripts/keys";
import { execute, migrateAll, query } from "../../scripts/shards";

const STATE = mkdtempSync(join(tmpdir(), "vatly-move-"));
const target = { remote: false, persistTo: STATE };
afterAll(() => rmSync(STATE, { recursive: true, force: true }));

describe("account:move", () => {
  it("stops before the flip when a table does not verify, leaving the source the one copy the keys name", async () => {
    migrateAll(target);
    const account = "acct_badcopy";
    createKey({ accountId: account, mode: "test", shard: 0, ...target });
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
});
