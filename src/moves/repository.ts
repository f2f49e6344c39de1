// Every statement of an online account move (workflow.ts): the move record on the source shard, the bulk copy in
// keyset pages, the catch-up of logged changes, the verification, and the removal of the old copy. Written over a
// table list rather than one query per table: a move treats every account table alike, by its account and key.
import type { Env } from "../env";
import { shardDatabase } from "../lib/shards";

type Row = Record<string, unknown>;

/** The account's tables, each with its key column within the account (after testmode), in the order they are copied. */
export const TABLES = [
  { name: "customers", key: "id" },
  { name: "customer_tombstones", key: "id" },
  { name: "idempotency_keys", key: "key" },
  { name: "webhook_endpoints", key: "id" },
  { name: "webhook_events", key: "id" },
] as const;
/** Attempts belong to events: copied with each page of events, removed with them. */
const ATTEMPTS = "webhook_attempts";

/** Rows per page: events and customers can hold about 110 KB each, so a page reads at most about 11 MB. */
export const PAGE = 100;
/** D1 binds at most 100 parameters per statement. */
const MAX_PARAMS = 100;

export interface MoveRecord {
  account_id: string;
  target_shard: number;
  state: "copying" | "cutover" | "moved";
  phase: string;
  copied: number;
  total: number;
  cursor: string;
  applied_seq: number;
  started_at: number;
  cutover_at: number | null;
  moved_at: number | null;
  finished_at: number | null;
}

const db = (env: Env, shard: number) => shardDatabase(env, shard);

export const readMove = (env: Env, shard: number, accountId: string) =>
  db(env, shard).prepare("SELECT * FROM account_moves WHERE account_id = ?").bind(accountId).first<MoveRecord>();

export async function setMove(env: Env, shard: number, accountId: string, fields: Partial<Omit<MoveRecord, "account_id">>) {
  const names = Object.keys(fields);
  await db(env, shard).prepare(`UPDATE account_moves SET ${names.map((n) => `${n} = ?`).join(", ")} WHERE account_id = ?`)
    .bind(...Object.values(fields), accountId).run();
}

/** How many rows of the account each shard holds, in every table. */
export async function countRows(env: Env, shard: number, accountId: string): Promise<Record<string, number>> {
  const d = db(env, shard);
  const statements = [
    ...TABLES.map((t) => d.prepare(`SELECT count(*) AS n FROM ${t.name} WHERE account_id = ?`).bind(accountId)),
    d.prepare(`SELECT count(*) AS n FROM ${ATTEMPTS} WHERE event_id IN (SELECT id FROM webhook_events WHERE account_id = ?)`).bind(accountId),
  ];
  const results = await d.batch<{ n: number }>(statements);
  return Object.fromEntries([...TABLES.map((t) => t.name), ATTEMPTS].map((name, i) => [name, results[i]!.results[0]!.n]));
}

/**
 * Starts (or resumes) the move on the source: the record that turns on the triggers' change log. The copy's total is
 * what the source holds now; rows written later arrive through the change log.
 */
export async function beginMove(env: Env, from: number, to: number, accountId: string, now: number) {
  const total = Object.values(await countRows(env, from, accountId)).reduce((a, b) => a + b, 0);
  await db(env, from).prepare(
    "INSERT INTO account_moves (account_id, target_shard, state, phase, total, started_at) VALUES (?, ?, 'copying', 'copying', ?, ?) ON CONFLICT (account_id) DO NOTHING",
  ).bind(accountId, to, total, now).run();
}

/** Upserts rows into a table of a shard, as many statements as the parameter limit needs, in one batch. */
function upserts(d: D1Database, table: string, rows: Row[]) {
  if (rows.length === 0) return [];
  const columns = Object.keys(rows[0]!);
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    const values = chunk.map(() => `(${columns.map(() => "?").join(", ")})`).join(", ");
    statements.push(d.prepare(`INSERT OR REPLACE INTO ${table} (${columns.join(", ")}) VALUES ${values}`).bind(...chunk.flatMap((r) => columns.map((c) => r[c]))));
  }
  return statements;
}

/** The attempts of some events, read from a shard (at most 100 events per statement). */
async function attemptsOf(d: D1Database, eventIds: string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (let i = 0; i < eventIds.length; i += MAX_PARAMS) {
    const ids = eventIds.slice(i, i + MAX_PARAMS);
    rows.push(...(await d.prepare(`SELECT * FROM ${ATTEMPTS} WHERE event_id IN (${ids.map(() => "?").join(", ")})`).bind(...ids).all<Row>()).results);
  }
  return rows;
}

/**
 * Copies pages of the account from the source to the target, from the cursor kept in the move record, until the copy
 * is done or `budgetMs` has passed. Each page is one read and one batch of upserts; the cursor and the count of copied
 * rows move on in the record at the end of the step, so an interrupted copy resumes at the step it was on.
 */
export async function copyPages(env: Env, from: number, to: number, accountId: string, budgetMs: number): Promise<{ done: boolean; copied: number }> {
  const deadline = Date.now() + budgetMs;
  const source = db(env, from);
  const target = db(env, to);
  const move = (await readMove(env, from, accountId))!;
  let [tableIndex, last] = JSON.parse(move.cursor) as [number, [number, string] | null];
  let copied = move.copied;
  while (tableIndex < TABLES.length && Date.now() < deadline) {
    const table = TABLES[tableIndex]!;
    const { key } = table;
    const after = last ? `AND (testmode, ${key}) > (?, ?)` : "";
    const rows = (await source.prepare(`SELECT * FROM ${table.name} WHERE account_id = ? ${after} ORDER BY testmode, ${key} LIMIT ${PAGE}`)
      .bind(accountId, ...(last ?? [])).all<Row>()).results;
    const attempts = table.name === "webhook_events" ? await attemptsOf(source, rows.map((r) => r.id as string)) : [];
    const statements = [...upserts(target, table.name, rows), ...upserts(target, ATTEMPTS, attempts)];
    if (statements.length) await target.batch(statements);
    copied += rows.length + attempts.length;
    if (rows.length < PAGE) [tableIndex, last] = [tableIndex + 1, null];
    else last = [rows.at(-1)!.testmode as number, rows.at(-1)![key] as string];
  }
  // Once per step, not per page: a step interrupted before this repeats its pages, which upserts make harmless.
  await setMove(env, from, accountId, { cursor: JSON.stringify([tableIndex, last]), copied });
  return { done: tableIndex >= TABLES.length, copied };
}

const CHANGES_PAGE = 200;

/** Where a logged row is, by the key the trigger logged (a JSON array). */
function whereKey(table: string): string {
  if (table === ATTEMPTS) return "event_id = ? AND attempt = ?";
  if (table === "idempotency_keys") return "account_id = ? AND testmode = ? AND key = ?";
  return "id = ?";
}
const keyParams = (table: string, accountId: string, pk: unknown[]) => (table === "idempotency_keys" ? [accountId, ...pk] : pk);

/**
 * Applies the next page of logged changes to the target: each changed row is read again from the source (its state
 * now) and written to the target, or deleted there if it is gone. Idempotent: a row is always copied as it now is.
 * The number still waiting after this page.
 */
export async function applyChanges(env: Env, from: number, to: number, accountId: string): Promise<number> {
  const source = db(env, from);
  const target = db(env, to);
  const move = (await readMove(env, from, accountId))!;
  const changes = (await source.prepare("SELECT seq, table_name, pk FROM account_changes WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?")
    .bind(accountId, move.applied_seq, CHANGES_PAGE).all<{ seq: number; table_name: string; pk: string }>()).results;
  if (changes.length) {
    const distinct = [...new Map(changes.map((c) => [`${c.table_name}|${c.pk}`, c])).values()]
      .map((c) => ({ table: c.table_name, where: whereKey(c.table_name), params: keyParams(c.table_name, accountId, JSON.parse(c.pk) as unknown[]) }));
    const reads = await source.batch<Row>(distinct.map((c) => source.prepare(`SELECT * FROM ${c.table} WHERE ${c.where}`).bind(...c.params)));
    const writes = distinct.flatMap((c, i) => {
      const row = reads[i]!.results[0];
      return row ? upserts(target, c.table, [row]) : [target.prepare(`DELETE FROM ${c.table} WHERE ${c.where}`).bind(...c.params)];
    });
    await target.batch(writes);
    await setMove(env, from, accountId, { applied_seq: changes.at(-1)!.seq });
  }
  const waiting = await source.prepare("SELECT count(*) AS n FROM account_changes WHERE account_id = ? AND seq > ?")
    .bind(accountId, changes.at(-1)?.seq ?? move.applied_seq).first<{ n: number }>();
  return waiting!.n;
}

/**
 * Removes pages of the account's rows from a shard (the old copy after a move, or what an earlier attempt left on a
 * target) until none is left or `budgetMs` has passed. Attempts go first, with their events' ids. True when empty.
 */
export async function removeRows(env: Env, shard: number, accountId: string, budgetMs: number): Promise<boolean> {
  const deadline = Date.now() + budgetMs;
  const d = db(env, shard);
  for (const table of [...TABLES].reverse()) {
    for (;;) {
      if (Date.now() >= deadline) return false;
      if (table.name === "webhook_events") {
        const ids = (await d.prepare("SELECT id FROM webhook_events WHERE account_id = ? LIMIT ?").bind(accountId, MAX_PARAMS).all<{ id: string }>()).results.map((r) => r.id);
        if (ids.length === 0) break;
        const list = ids.map(() => "?").join(", ");
        await d.batch([d.prepare(`DELETE FROM ${ATTEMPTS} WHERE event_id IN (${list})`).bind(...ids), d.prepare(`DELETE FROM webhook_events WHERE id IN (${list})`).bind(...ids)]);
        continue;
      }
      const removed = await d.prepare(`DELETE FROM ${table.name} WHERE rowid IN (SELECT rowid FROM ${table.name} WHERE account_id = ? LIMIT 1000)`).bind(accountId).run();
      if (removed.meta.changes === 0) break;
    }
  }
  await d.prepare("DELETE FROM account_changes WHERE account_id = ?").bind(accountId).run();
  return true;
}

/** Whether a shard holds any row of the account. */
export async function holdsAccount(env: Env, shard: number, accountId: string): Promise<boolean> {
  return Object.values(await countRows(env, shard, accountId)).some((n) => n > 0);
}

export const deleteMove = (env: Env, shard: number, accountId: string) =>
  db(env, shard).prepare("DELETE FROM account_moves WHERE account_id = ?").bind(accountId).run();
