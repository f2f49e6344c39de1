// Every statement of an online account move (workflow.ts): the move records on the shards, the bulk copy in keyset
// pages, the content check, the catch-up of logged changes, the cutover under a lease, and the removal of a copy.
// Written over a table list rather than one query per table: a move treats every account table alike, by its account
// and key. Every write a move makes is fenced (`fenced`): it happens only while the shard's record names the caller
// as the move's owner, so a Workflow instance that was taken over, or a cancelled move, can no longer write anything.
import type { Env } from "../env";
import { changedRow } from "../db/query";
import { shardDatabase, shardsOf } from "../lib/shards";

type Row = Record<string, unknown>;

/** The account's tables, each with its key column within the account (after testmode), in the order they are copied. */
export const TABLES = [
  { name: "customers", key: "id" },
  { name: "customer_tombstones", key: "id" },
  { name: "idempotency_keys", key: "key" },
  { name: "webhook_endpoints", key: "id" },
  { name: "webhook_events", key: "id" },
] as const;
/** Attempts belong to events: copied, checked and removed with each page of events. */
const ATTEMPTS = "webhook_attempts";

/** Rows per page: events and customers can hold about 110 KB each, so a page reads at most about 11 MB. */
export const PAGE = 100;
/** D1 binds at most 100 parameters per statement. */
const MAX_PARAMS = 100;
/** How long a cutover may refuse writes: the source's triggers stop refusing at this lease's end, whatever happened. */
export const LEASE_MS = 5_000;

export type MoveState = "copying" | "cutover" | "moved" | "incoming" | "filling";

export interface MoveRecord {
  account_id: string;
  target_shard: number;
  source_shard: number | null;
  state: MoveState;
  phase: string;
  move_id: string;
  owner: string;
  heartbeat_at: number;
  lease_until: number;
  copied: number;
  total: number;
  cursor: string;
  applied_seq: number;
  verified_seq: number | null;
  repaired: number;
  started_at: number;
  copied_at: number | null;
  cutover_at: number | null;
  moved_at: number | null;
  finished_at: number | null;
  prior_state: string | null;
}

/** A write the record's owner no longer may make: the move was taken over by another instance, or cancelled. */
export const isFenced = (err: unknown) => /MOVE_FENCED/.test(String((err as Error)?.message ?? err));

const db = (env: Env, shard: number) => shardDatabase(env, shard);

export const readMove = (env: Env, shard: number, accountId: string) =>
  db(env, shard).prepare("SELECT * FROM account_moves WHERE account_id = ?").bind(accountId).first<MoveRecord>();

/** The account's record on every shard that has one. */
export async function readMoves(env: Env, accountId: string): Promise<{ shard: number; move: MoveRecord }[]> {
  const records = await Promise.all(shardsOf(env).map(async (shard) => ({ shard, move: await readMove(env, shard, accountId) })));
  return records.filter((r): r is { shard: number; move: MoveRecord } => r.move !== null);
}

/** The source record of a move not finished yet (at most one per account: begin refuses a second). */
export const isUnfinishedSource = (m: MoveRecord) => (m.state === "copying" || m.state === "cutover" || m.state === "moved") && m.finished_at === null;

/** The fence: a statement that aborts its batch with MOVE_FENCED unless `owner` owns the shard's record. */
const fence = (d: D1Database, accountId: string, owner: string) =>
  d.prepare("INSERT INTO account_move_fence (account_id, owner) VALUES (?, ?)").bind(accountId, owner);

/** A batch of a move's own writes: fenced, and (on a target) past the triggers that refuse the API's writes. */
export async function fenced(env: Env, shard: number, accountId: string, owner: string, statements: D1PreparedStatement[]) {
  const d = db(env, shard);
  const results = await d.batch([
    fence(d, accountId, owner),
    ...statements,
    d.prepare("UPDATE account_moves SET state = 'incoming' WHERE account_id = ? AND state = 'filling'").bind(accountId),
  ]);
  return results.slice(1, -1);
}

/** Updates the owner's record on a shard (and its sign of life); refused (MOVE_FENCED) if it is no longer the owner's. */
export async function setMove(env: Env, shard: number, accountId: string, owner: string, fields: Partial<Omit<MoveRecord, "account_id" | "owner">>) {
  const d = db(env, shard);
  const all = { heartbeat_at: Date.now(), ...fields };
  const names = Object.keys(all);
  await fenced(env, shard, accountId, owner, [
    d.prepare(`UPDATE account_moves SET ${names.map((n) => `${n} = ?`).join(", ")} WHERE account_id = ?`).bind(...Object.values(all), accountId),
  ]);
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

/** Whether a shard holds any row of the account. */
export async function holdsAccount(env: Env, shard: number, accountId: string): Promise<boolean> {
  return Object.values(await countRows(env, shard, accountId)).some((n) => n > 0);
}

/**
 * Claims the source's record for a new move: the record that turns on the change log. Only one claim per account can
 * win (the record's primary key); the winner is whoever's `owner` the record then names.
 */
export async function claimSource(env: Env, from: number, to: number, accountId: string, owner: string, now: number): Promise<MoveRecord> {
  await db(env, from).prepare(
    `INSERT INTO account_moves (account_id, target_shard, source_shard, state, phase, move_id, owner, heartbeat_at, started_at)
     VALUES (?, ?, ?, 'copying', 'starting', ?, ?, ?, ?) ON CONFLICT (account_id) DO NOTHING`,
  ).bind(accountId, to, from, owner, owner, now, now).run();
  return (await readMove(env, from, accountId))!;
}

/** Hands a move's records to another owner (the instance taking over a dead one, or a cancel), if `previous` still owns them. */
export async function changeOwner(env: Env, shards: number[], accountId: string, previous: string, owner: string) {
  for (const shard of shards) {
    await db(env, shard).prepare("UPDATE account_moves SET owner = ?, heartbeat_at = ? WHERE account_id = ? AND owner IN (?, ?)")
      .bind(owner, Date.now(), accountId, previous, owner).run();
  }
}

/**
 * The target's record, before its first row: `incoming`, so the shard forwards the account's requests to the source
 * and refuses the API's writes, and nothing of its background work touches the copy. A record it had (a finished
 * move away) is kept aside for a cancel to restore.
 */
export async function prepareTarget(env: Env, from: number, to: number, accountId: string, move: MoveRecord) {
  await db(env, to).prepare(
    `INSERT INTO account_moves (account_id, target_shard, source_shard, state, phase, move_id, owner, heartbeat_at, started_at)
     VALUES (?, ?, ?, 'incoming', 'incoming', ?, ?, ?, ?)
     ON CONFLICT (account_id) DO UPDATE SET target_shard = excluded.target_shard, source_shard = excluded.source_shard,
       prior_state = CASE WHEN account_moves.move_id = excluded.move_id THEN account_moves.prior_state WHEN account_moves.state = 'moved' THEN 'moved' ELSE NULL END,
       state = 'incoming', phase = 'incoming', move_id = excluded.move_id, owner = excluded.owner, heartbeat_at = excluded.heartbeat_at,
       started_at = excluded.started_at, finished_at = NULL, moved_at = NULL, cutover_at = NULL`,
  ).bind(accountId, to, from, move.move_id, move.owner, Date.now(), move.started_at).run();
}

/**
 * Upserts rows into a table of a shard, as many statements as the parameter limit needs. A customer's earlier copy,
 * and any copied customer holding the same email in the same mode (renamed or erased at the source since), is deleted
 * first, so its search index entry goes with it: REPLACE would remove it without the delete trigger that does that.
 */
function upserts(d: D1Database, table: string, rows: Row[]) {
  if (rows.length === 0) return [];
  const columns = Object.keys(rows[0]!);
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  const statements: D1PreparedStatement[] = [];
  if (table === "customers") {
    // One JSON parameter: a page of rows (at most PAGE, each key under 400 bytes) stays far below D1's 100 KB.
    statements.push(d.prepare(`DELETE FROM customers WHERE id IN (SELECT value ->> 0 FROM json_each(?1))
      OR (account_id, testmode, lower(email)) IN (SELECT value ->> 1, value ->> 2, lower(value ->> 3) FROM json_each(?1))`)
      .bind(JSON.stringify(rows.map((r) => [r.id, r.account_id, r.testmode, r.email]))));
  }
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
    rows.push(...(await d.prepare(`SELECT * FROM ${ATTEMPTS} WHERE event_id IN (${ids.map(() => "?").join(", ")}) ORDER BY event_id, attempt`).bind(...ids).all<Row>()).results);
  }
  return rows;
}

type Cursor = [number, [number, string] | null];

/** A page of a table from a shard, after the cursor's key; `upTo`: only keys up to and including it. */
async function readPage(d: D1Database, accountId: string, tableIndex: number, after: Cursor[1], upTo?: [number, string], limit = PAGE) {
  const { name, key } = TABLES[tableIndex]!;
  const from = after ? `AND (testmode, ${key}) > (?, ?)` : "";
  const to = upTo ? `AND (testmode, ${key}) <= (?, ?)` : "";
  return (await d.prepare(`SELECT * FROM ${name} WHERE account_id = ? ${from} ${to} ORDER BY testmode, ${key} LIMIT ${limit}`)
    .bind(accountId, ...(after ?? []), ...(upTo ?? [])).all<Row>()).results;
}

/** Where the next page starts: the next table once a page comes back short. */
const nextCursor = (tableIndex: number, rows: Row[]): Cursor => {
  if (rows.length < PAGE) return [tableIndex + 1, null];
  const last = rows.at(-1)!;
  return [tableIndex, [last.testmode as number, last[TABLES[tableIndex]!.key] as string]];
};

/** A point inside a step where a test can stop the move, as a crash there would. */
export type Interrupt = (point: string) => void;

/**
 * Copies pages of the account from the source to the target, from the cursor kept in the source's record, until the
 * copy is done or `budgetMs` has passed. Each page is one read and one fenced batch of upserts; the cursor moves on in
 * the record at the end of the step, so an interrupted step repeats its pages, which upserts make harmless. When the
 * copy is done, the content check starts: the cursor goes back to the first table, and `verified_seq` marks the change
 * log's position (rows changed after it are checked again by the cutover).
 */
export async function copyPages(env: Env, from: number, to: number, accountId: string, owner: string, budgetMs: number, interrupt?: Interrupt): Promise<{ done: boolean; copied: number }> {
  const deadline = Date.now() + budgetMs;
  const source = db(env, from);
  const target = db(env, to);
  const move = (await readMove(env, from, accountId))!;
  let [tableIndex, last] = JSON.parse(move.cursor) as Cursor;
  let copied = move.copied;
  while (tableIndex < TABLES.length && Date.now() < deadline) {
    const rows = await readPage(source, accountId, tableIndex, last);
    const attempts = TABLES[tableIndex]!.name === "webhook_events" ? await attemptsOf(source, rows.map((r) => r.id as string)) : [];
    await fenced(env, to, accountId, owner, [...upserts(target, TABLES[tableIndex]!.name, rows), ...upserts(target, ATTEMPTS, attempts)]);
    interrupt?.("copy page");
    copied += rows.length + attempts.length;
    [tableIndex, last] = nextCursor(tableIndex, rows);
  }
  const done = tableIndex >= TABLES.length;
  if (!done) {
    await setMove(env, from, accountId, owner, { cursor: JSON.stringify([tableIndex, last]), copied });
    return { done, copied };
  }
  const seq = await lastSeq(env, from, accountId);
  await setMove(env, from, accountId, owner, { cursor: JSON.stringify([0, null]), copied, copied_at: Date.now(), verified_seq: seq, phase: "verifying" });
  return { done, copied };
}

/** The change log's last position for the account on a shard (0 when empty). */
export const lastSeq = async (env: Env, shard: number, accountId: string) =>
  (await db(env, shard).prepare("SELECT coalesce(max(seq), 0) AS seq FROM account_changes WHERE account_id = ?").bind(accountId).first<{ seq: number }>())!.seq;

/** Rows as comparable text: every column, in the table's column order. */
const fingerprint = (row: Row | undefined) => (row === undefined ? "" : JSON.stringify(Object.entries(row)));

/**
 * The content check (as Vitess's VDiff before SwitchTraffic): the next pages of every table, read from the source and
 * from the target over the same key range and compared column by column, attempts with their events. A row that
 * differs is copied again from the source as it is now (or removed from the target, if the source no longer has it):
 * a row changed meanwhile is also in the change log, and copying its current state twice is harmless. Returns whether
 * the check has gone through every table, and how many rows it repaired.
 */
export async function verifyPages(env: Env, from: number, to: number, accountId: string, owner: string, budgetMs: number): Promise<{ done: boolean; repaired: number }> {
  const deadline = Date.now() + budgetMs;
  const source = db(env, from);
  const target = db(env, to);
  const move = (await readMove(env, from, accountId))!;
  let [tableIndex, last] = JSON.parse(move.cursor) as Cursor;
  let repaired = 0;
  while (tableIndex < TABLES.length && Date.now() < deadline) {
    const { name, key } = TABLES[tableIndex]!;
    const rows = await readPage(source, accountId, tableIndex, last);
    const next = nextCursor(tableIndex, rows);
    // The target's rows in the same key range: up to the page's last key, or to the end of the table (rows the
    // target has beyond a thousand in one range would be left for the cutover's count check to refuse).
    const theirs = await readPage(target, accountId, tableIndex, last, next[0] === tableIndex ? next[1]! : undefined, 1000);
    const keyOf = (r: Row) => `${r.testmode}|${r[key]}`;
    const ours = new Map(rows.map((r) => [keyOf(r), r]));
    const differ = new Set<string>();
    for (const r of rows) if (fingerprint(r) !== fingerprint(theirs.find((t) => keyOf(t) === keyOf(r)))) differ.add(keyOf(r));
    for (const t of theirs) if (!ours.has(keyOf(t))) differ.add(keyOf(t));
    if (name === "webhook_events") {
      const ids = rows.map((r) => r.id as string);
      const [a, b] = [await attemptsOf(source, ids), await attemptsOf(target, ids)];
      const byEvent = (list: Row[], id: unknown) => list.filter((x) => x.event_id === id).map(fingerprint).join("\n");
      for (const r of rows) if (byEvent(a, r.id) !== byEvent(b, r.id)) differ.add(keyOf(r));
    }
    if (differ.size > 0) {
      const keys = [...differ].map((k) => {
        const cut = k.indexOf("|");
        return [Number(k.slice(0, cut)), k.slice(cut + 1)] as [number, string];
      });
      repaired += await recopy(env, from, to, accountId, owner, name, keys);
    }
    [tableIndex, last] = next;
  }
  const done = tableIndex >= TABLES.length;
  await setMove(env, from, accountId, owner, {
    cursor: JSON.stringify(done ? [TABLES.length, null] : [tableIndex, last]), repaired: move.repaired + repaired, ...(done ? { phase: "catching up" } : {}),
  });
  return { done, repaired };
}

/** Copies rows of a table again from the source as they are now (with an event's attempts), or removes them from the target. */
async function recopy(env: Env, from: number, to: number, accountId: string, owner: string, table: string, keys: [number, string][]): Promise<number> {
  const where = whereKey(table);
  const changes = keys.map((k) => ({ table, where, params: keyParams(table, accountId, table === "idempotency_keys" ? k : [k[1]]) }));
  await copyRows(env, from, to, accountId, owner, changes);
  return keys.length;
}

interface Change { table: string; where: string; params: unknown[] }

/** Where a logged row is, by the key the trigger logged (a JSON array). */
function whereKey(table: string): string {
  if (table === ATTEMPTS) return "event_id = ? AND attempt = ?";
  if (table === "idempotency_keys") return "account_id = ? AND testmode = ? AND key = ?";
  return "id = ?";
}
const keyParams = (table: string, accountId: string, pk: unknown[]) => (table === "idempotency_keys" ? [accountId, ...pk] : pk);

/**
 * Copies rows from the source to the target as they are now: read in one batch, written in one fenced batch (a row
 * the source no longer has is deleted). An event goes with its attempts, so a row replaced on the target never loses
 * them. Idempotent: the same rows copied twice end the same.
 */
async function copyRows(env: Env, from: number, to: number, accountId: string, owner: string, changes: Change[]) {
  if (changes.length === 0) return;
  const source = db(env, from);
  const target = db(env, to);
  const reads = await source.batch<Row>(changes.map((c) => source.prepare(`SELECT * FROM ${c.table} WHERE ${c.where}`).bind(...c.params)));
  const events = changes.filter((c, i) => c.table === "webhook_events" && reads[i]!.results[0]).map((c) => c.params[0] as string);
  const attempts = events.length ? await attemptsOf(source, events) : [];
  const writes = changes.flatMap((c, i) => {
    const row = reads[i]!.results[0];
    return row ? upserts(target, c.table, [row]) : [target.prepare(`DELETE FROM ${c.table} WHERE ${c.where}`).bind(...c.params)];
  });
  await fenced(env, to, accountId, owner, [...writes, ...upserts(target, ATTEMPTS, attempts)]);
}

const CHANGES_PAGE = 200;

/** The distinct rows named by a page of the change log after `afterSeq` (up to `upTo`), oldest change first. */
async function changedRows(env: Env, from: number, accountId: string, afterSeq: number, upTo = Number.MAX_SAFE_INTEGER) {
  const changes = (await db(env, from).prepare("SELECT seq, table_name, pk FROM account_changes WHERE account_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?")
    .bind(accountId, afterSeq, upTo, CHANGES_PAGE).all<{ seq: number; table_name: string; pk: string }>()).results;
  const distinct = [...new Map(changes.map((c) => [`${c.table_name}|${c.pk}`, c])).values()]
    .map((c): Change => ({ table: c.table_name, where: whereKey(c.table_name), params: keyParams(c.table_name, accountId, JSON.parse(c.pk) as unknown[]) }));
  return { distinct, lastSeq: changes.at(-1)?.seq };
}

/**
 * Applies the next page of logged changes to the target: each changed row is copied as it now is on the source. The
 * number of changes still waiting after this page.
 */
export async function applyChanges(env: Env, from: number, to: number, accountId: string, owner: string, interrupt?: Interrupt): Promise<number> {
  const move = (await readMove(env, from, accountId))!;
  const { distinct, lastSeq: seq } = await changedRows(env, from, accountId, move.applied_seq);
  if (seq !== undefined) {
    await copyRows(env, from, to, accountId, owner, distinct);
    interrupt?.("catch-up page");
    await setMove(env, from, accountId, owner, { applied_seq: seq });
  }
  const waiting = await db(env, from).prepare("SELECT count(*) AS n FROM account_changes WHERE account_id = ? AND seq > ?")
    .bind(accountId, seq ?? move.applied_seq).first<{ n: number }>();
  return waiting!.n;
}

/**
 * Compares, column by column, the rows changed after `afterSeq` (a page of the log) on the source and the target; a row
 * that differs is copied again. The rows that differed, and the log position checked up to.
 */
export async function checkChanged(env: Env, from: number, to: number, accountId: string, owner: string, afterSeq: number, upTo: number) {
  const { distinct, lastSeq: seq } = await changedRows(env, from, accountId, afterSeq, upTo);
  if (seq === undefined) return { differ: [] as string[], checkedTo: upTo };
  const read = async (shard: number) => {
    const d = db(env, shard);
    const rows = await d.batch<Row>(distinct.map((c) => d.prepare(`SELECT * FROM ${c.table} WHERE ${c.where}`).bind(...c.params)));
    return rows.map((r) => fingerprint(r.results[0]));
  };
  const [a, b] = await Promise.all([read(from), read(to)]);
  const differing = distinct.filter((_, i) => a[i] !== b[i]);
  if (differing.length) {
    await copyRows(env, from, to, accountId, owner, differing);
    await setMove(env, from, accountId, owner, { repaired: (await readMove(env, from, accountId))!.repaired + differing.length });
  }
  return { differ: differing.map((c) => `${c.table} ${JSON.stringify(c.params.at(-1))}`), checkedTo: seq };
}

/**
 * Takes (or renews) the cutover's lease on the source: from now until the lease ends, the source's triggers refuse the
 * account's writes, and nothing else does. Fenced like every write of the move.
 */
export async function takeLease(env: Env, from: number, accountId: string, owner: string, now: number, leaseMs = LEASE_MS) {
  const move = (await readMove(env, from, accountId))!;
  await setMove(env, from, accountId, owner, { state: "cutover", phase: "cutover", lease_until: now + leaseMs, cutover_at: move.cutover_at ?? now });
}

/**
 * The commit point of a move: the source says `moved` (and forwards from then on), only while its lease still runs.
 * False when the lease ran out first (writes were accepted again meanwhile): the cutover must start over.
 */
export async function commitMove(env: Env, from: number, accountId: string, owner: string, now: number): Promise<boolean> {
  const d = db(env, from);
  const [result] = await fenced(env, from, accountId, owner, [
    d.prepare("UPDATE account_moves SET state = 'moved', phase = 'keys', moved_at = ?, heartbeat_at = ? WHERE account_id = ? AND state = 'cutover' AND lease_until > unixepoch('subsec') * 1000")
      .bind(now, now, accountId),
  ]);
  return changedRow(result!);
}

/** Writable again at once: the cutover gives its lease back (a failed check), and catch-up goes on. */
export const releaseLease = (env: Env, from: number, accountId: string, owner: string) =>
  setMove(env, from, accountId, owner, { state: "copying", phase: "catching up", lease_until: 0 });

/**
 * After the commit, the target is home: its record goes. Anyone may do this once the source says `moved` for this
 * move (a request that finds the two records pointing at each other does it too: db/account-database.ts).
 */
export const settleTarget = (env: Env, to: number, accountId: string, moveId: string) =>
  db(env, to).prepare("DELETE FROM account_moves WHERE account_id = ? AND move_id = ? AND state IN ('incoming', 'filling')").bind(accountId, moveId).run();

/**
 * Removes pages of the account's rows from a shard (the old copy after a move, or a target's copy on cancel or before
 * a new copy) until none is left or `budgetMs` has passed; fenced by the owner. Attempts go with their events. True
 * when the shard holds nothing of the account any more (its change log included).
 */
export async function removeRows(env: Env, shard: number, accountId: string, owner: string, budgetMs: number): Promise<boolean> {
  const deadline = Date.now() + budgetMs;
  const d = db(env, shard);
  for (const table of [...TABLES].reverse()) {
    for (;;) {
      if (Date.now() >= deadline) return false;
      if (table.name === "webhook_events") {
        const ids = (await d.prepare("SELECT id FROM webhook_events WHERE account_id = ? LIMIT ?").bind(accountId, MAX_PARAMS).all<{ id: string }>()).results.map((r) => r.id);
        if (ids.length === 0) break;
        const list = ids.map(() => "?").join(", ");
        await fenced(env, shard, accountId, owner, [d.prepare(`DELETE FROM ${ATTEMPTS} WHERE event_id IN (${list})`).bind(...ids), d.prepare(`DELETE FROM webhook_events WHERE id IN (${list})`).bind(...ids)]);
        continue;
      }
      const rowids = (await d.prepare(`SELECT rowid AS r FROM ${table.name} WHERE account_id = ? LIMIT 1000`).bind(accountId).all<{ r: number }>()).results;
      if (rowids.length === 0) break;
      await fenced(env, shard, accountId, owner, [
        d.prepare(`DELETE FROM ${table.name} WHERE account_id = ? AND rowid IN (SELECT value FROM json_each(?))`).bind(accountId, JSON.stringify(rowids.map((r) => r.r))),
      ]);
    }
  }
  await fenced(env, shard, accountId, owner, [
    d.prepare("DELETE FROM account_changes WHERE account_id = ?").bind(accountId),
    d.prepare("DELETE FROM search_scopes WHERE account_id = ?").bind(accountId),
  ]);
  return true;
}

/**
 * Cancel on the source: the record and the change log go in one batch; the source is home as before the move. False
 * if the record was not in a state a cancel may end (the move committed meanwhile: it is `moved`).
 */
export async function dropSource(env: Env, from: number, accountId: string, owner: string): Promise<boolean> {
  const d = db(env, from);
  const [, dropped] = await fenced(env, from, accountId, owner, [
    d.prepare("DELETE FROM account_changes WHERE account_id = ? AND EXISTS (SELECT 1 FROM account_moves WHERE account_id = ? AND state IN ('copying', 'cutover'))").bind(accountId, accountId),
    d.prepare("DELETE FROM account_moves WHERE account_id = ? AND state IN ('copying', 'cutover')").bind(accountId),
  ]);
  return changedRow(dropped!);
}

/**
 * Cancel on the target, once its copy is gone: its record goes too, or, if it had one before the move (it forwarded
 * after a move away), that record comes back, forwarding to the home.
 */
export async function dropTarget(env: Env, to: number, accountId: string, owner: string, now: number) {
  const d = db(env, to);
  await fenced(env, to, accountId, owner, [
    d.prepare(`UPDATE account_moves SET state = 'moved', phase = 'done', target_shard = source_shard, source_shard = ?, moved_at = ?, finished_at = ?, prior_state = NULL
      WHERE account_id = ? AND prior_state = 'moved'`).bind(to, now, now, accountId),
    d.prepare("DELETE FROM account_moves WHERE account_id = ? AND state IN ('incoming', 'filling')").bind(accountId),
  ]);
}
