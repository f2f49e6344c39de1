// A move stopped at every step boundary of the AccountMove Workflow (and inside a copy step, a catch-up step and the
// cutover) while writers run (creates, updates, deletes; a key made and one revoked while it is stopped), then resumed, cancelled, re-run to another shard or raced by a second instance. In every
// stopped state one home serves the account, writes come back within the lease and no copy sends anything; at the end
// every row on the home is, column by column, what the writers were told. Several of these failed on the code before
// the move became a state machine (said at each).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cleanUpIdempotencyKeys, deleteOldEvents, resealEndpointSecrets } from "../../src/jobs/cron";
import { KEY_PREFIX, REVOKED_PREFIX, type StoredKey } from "../../src/lib/api-keys";
import { sha256Hex } from "../../src/lib/crypto";
import { call, callWithEnv, newKey } from "../helpers";
import { recordingQueue } from "../webhooks/helpers";
import { expectExactlyOnHome, expectServedByHome, keyDuringMove, recordsOf, revokeDuringMove, runMove, seededAccount, shardDb } from "./helpers";

/** Every stop point, in the order a move reaches them, and whether the move has committed there. */
const STOPS: [string, boolean][] = [
  ["locate", false], ["begin", false], ["copy page", false], ["copy", false], ["verify", false], ["catch up", false],
  ["cutover", false], ["commit", true], ["keys", true], ["settle", true], ["keys again", true], ["clean up", true],
];

describe("a move stopped at every step boundary", () => {
  for (const [stop, committed] of STOPS) {
    it(`stopped at "${stop}" with writers running: served by its one home, writable within the lease, no copy sweeps; resumed, it ends exact`, async () => {
      const { accountId, ledger, snapshot } = await seededAccount();
      const stopWriters = ledger.background(stop);
      const stopped = await runMove({ accountId, to: 1, stopAfter: stop });
      await stopWriters();
      expect(stopped.status).toBe("errored");
      await expectServedByHome(accountId, committed ? 1 : 0, ledger);
      // Background work from every shard meanwhile: nothing fails on a copy, nothing of a copy is touched.
      await cleanUpIdempotencyKeys(env);
      await deleteOldEvents(env);
      await ledger.churn(`after-${stop}`, 3);
      // A key made and another revoked while the move is stopped, as an operator might.
      const made = await keyDuringMove(accountId, committed ? 1 : 0);
      const doomed = await keyDuringMove(accountId, 0);
      await revokeDuringMove(doomed);
      const resumed = await runMove({ accountId, to: 1 });
      expect(resumed.status, resumed.error).toBe("complete");
      await expectExactlyOnHome(accountId, 1, ledger, snapshot);
      expect((await call("/v1/customers?limit=1", { key: made })).status).toBe(200);
      expect((await call("/v1/customers?limit=1", { key: doomed })).status).toBe(403);
      expect((await env.API_KEYS.get<{ shard: number }>(`apikey:${await sha256Hex(made)}`, "json"))!.shard).toBe(1);
      expect(await recordsOf(accountId)).toMatchObject({ 0: { state: "moved" }, 1: null, 2: null });
    });
  }

  it("stopped inside a catch-up step with more changes waiting than a page (replayed oldest first), resumed: exact, nothing repaired", async () => {
    const { accountId, ledger, snapshot } = await seededAccount();
    expect((await runMove({ accountId, to: 1, stopAfter: "verify" })).status).toBe("errored");
    // After the content check: only the change log carries these to the target (its triggers must log each kind).
    await ledger.churn("logged", 90);
    expect((await runMove({ accountId, to: 1, stopAfter: "catch-up page" })).status).toBe("errored");
    await expectServedByHome(accountId, 0, ledger);
    const resumed = await runMove({ accountId, to: 1 });
    expect(resumed.status, resumed.error).toBe("complete");
    expect(resumed.output!.repaired).toBe(0);
    await expectExactlyOnHome(accountId, 1, ledger, snapshot);
  });

  it("an uninterrupted move under writers repairs nothing: the copy and the catch-up were exact; search answers the same after it", async () => {
    const { key, accountId, ledger, snapshot } = await seededAccount();
    const searches = ['email~"seed1"', 'metadata["from"]:"writer"', 'email~"straight" OR name~"straight"', '-email~"seed"'];
    const search = async () => Promise.all(searches.map(async (q) => ((await (await call(`/v1/customers/search?query=${encodeURIComponent(q)}&limit=100`, { key })).json()) as { data: unknown[] }).data));
    const stopWriters = ledger.background("straight");
    const moved = await runMove({ accountId, to: 1 });
    await stopWriters();
    expect(moved.status, moved.error).toBe("complete");
    expect(moved.output!.repaired).toBe(0);
    await expectExactlyOnHome(accountId, 1, ledger, snapshot);
    const onNewHome = await search();
    // The same searches, answered from the index the new home derived, find the same customers as a plain filter.
    const live = [...ledger.customers].filter(([, c]) => c !== null) as [string, { email: string; metadata: Record<string, string> }][];
    const ids = (rows: unknown[]) => (rows as { id: string }[]).map((r) => r.id);
    expect(ids(onNewHome[0]!)).toEqual(live.filter(([, c]) => c.email.includes("seed1")).map(([id]) => id).sort().reverse());
    expect(ids(onNewHome[1]!)).toEqual(live.filter(([, c]) => c.metadata.from === "writer").map(([id]) => id).sort().reverse());
    expect(ids(onNewHome[3]!)).toEqual(live.filter(([, c]) => !c.email.includes("seed")).map(([id]) => id).sort().reverse());
  });
});

describe("cancel", () => {
  for (const [stop] of STOPS.filter(([, committed]) => !committed)) {
    it(`stopped at "${stop}", then cancelled: exactly the state before the move (source home and writable, no copy, no log, no record)`, async () => {
      const { accountId, ledger, snapshot } = await seededAccount();
      const stopWriters = ledger.background(`cancel-${stop}`);
      expect((await runMove({ accountId, to: 1, stopAfter: stop })).status).toBe("errored");
      await stopWriters();
      const cancelled = await runMove({ accountId, cancel: true });
      expect(cancelled.status, cancelled.error).toBe("complete");
      expect(await recordsOf(accountId)).toEqual({ 0: null, 1: null, 2: null });
      await expectServedByHome(accountId, 0, ledger);
      await expectExactlyOnHome(accountId, 0, ledger, snapshot);
    });
  }

  for (const [stop] of STOPS.filter(([, committed]) => !committed)) {
    it(`started at "${stop}" beside the move's resume: the cancel's own output says what happened, and the end state agrees`, async () => {
      const { accountId, ledger, snapshot } = await seededAccount(40);
      expect((await runMove({ accountId, to: 1, stopAfter: stop })).status).toBe("errored");
      const [resumed, cancelled] = await Promise.all([runMove({ accountId, to: 1 }), runMove({ accountId, cancel: true })]);
      expect(cancelled.status, cancelled.error).toBe("complete");
      expect(["cancelled", "refused"]).toContain(cancelled.output!.state);
      // Refused only because the move committed first; and whoever ran last decides where the account is.
      if (cancelled.output!.state === "refused") {
        expect(cancelled.output!.reason).toMatch(/moved to DB_1 (while it was being cancelled|; the way back)/);
        expect(resumed.output?.state).toBe("moved");
      }
      if (resumed.output?.state === "moved") {
        expect(await recordsOf(accountId)).toMatchObject({ 0: { state: "moved" }, 1: null, 2: null });
        await expectExactlyOnHome(accountId, 1, ledger, snapshot);
      } else {
        expect(cancelled.output!.state).toBe("cancelled");
        expect(await recordsOf(accountId)).toEqual({ 0: null, 1: null, 2: null });
        await expectExactlyOnHome(accountId, 0, ledger, snapshot);
      }
    });
  }

  it("started while a live move is in its cutover: refused if the move commits first (never 'cancelled' for a move that committed)", async () => {
    const { accountId, ledger, snapshot } = await seededAccount(40);
    const moving = runMove({ accountId, to: 1 });
    const record = () => shardDb(0).prepare("SELECT phase, state FROM account_moves WHERE account_id = ?").bind(accountId).first<{ phase: string; state: string }>();
    for (let r = await record(); r?.phase !== "cutover" && r?.state !== "moved"; r = await record());
    const cancelled = await runMove({ accountId, cancel: true });
    const moved = await moving;
    if (moved.output?.state === "moved") {
      expect(cancelled.output).toMatchObject({ state: "refused", reason: expect.stringMatching(/moved to DB_1/) });
      await expectExactlyOnHome(accountId, 1, ledger, snapshot);
    } else {
      expect(cancelled.output!.state).toBe("cancelled");
      await expectExactlyOnHome(accountId, 0, ledger, snapshot);
    }
  });

  it("a cancel stopped half-way is finished by running it again; a live move is fenced off by it", async () => {
    const { accountId, ledger, snapshot } = await seededAccount();
    expect((await runMove({ accountId, to: 1, stopAfter: "copy" })).status).toBe("errored");
    const half = await runMove({ accountId, cancel: true, stopAfter: "cancel" });
    expect(half.status).toBe("errored");
    await expectServedByHome(accountId, 0, ledger);
    expect((await runMove({ accountId, cancel: true })).status).toBe("complete");
    expect(await recordsOf(accountId)).toEqual({ 0: null, 1: null, 2: null });
    await expectExactlyOnHome(accountId, 0, ledger, snapshot);
  });

  it("is refused once the move has committed (the way back is a move back, which works)", async () => {
    const { accountId, ledger, snapshot } = await seededAccount();
    expect((await runMove({ accountId, to: 1, stopAfter: "keys" })).status).toBe("errored");
    const refused = await runMove({ accountId, cancel: true });
    expect(refused.output!.state).toBe("refused");
    expect(refused.output!.reason).toMatch(/already moved to DB_1; the way back is a move back \(--to 0\)/);
    expect((await runMove({ accountId, to: 1 })).status).toBe("complete");
    const back = await runMove({ accountId, to: 0 });
    expect(back.status, back.error).toBe("complete");
    await expectExactlyOnHome(accountId, 0, ledger, snapshot);
    expect(await recordsOf(accountId)).toMatchObject({ 0: null, 1: { state: "moved" }, 2: null });
  });
});

describe("one move per account", () => {
  it("a re-run with another --to is refused while a dead move is unfinished (failed before: it pointed every key at a shard without the data); the dead move is taken over to its own target", async () => {
    const { accountId, ledger, snapshot } = await seededAccount();
    expect((await runMove({ accountId, to: 1, stopAfter: "copy" })).status).toBe("errored");
    const elsewhere = await runMove({ accountId, to: 2 });
    expect(elsewhere.output!.state).toBe("refused");
    expect(elsewhere.output!.reason).toMatch(/unfinished move to DB_1 .*finish it with --to 1 or cancel it with --cancel/);
    await expectServedByHome(accountId, 0, ledger);
    expect((await runMove({ accountId, to: 1, stopAfter: "commit" })).status).toBe("errored");
    const stillRefused = await runMove({ accountId, to: 2 });
    expect(stillRefused.output!.reason).toMatch(/unfinished move to DB_1/);
    await expectServedByHome(accountId, 1, ledger);
    expect((await runMove({ accountId, to: 1 })).status).toBe("complete");
    await expectExactlyOnHome(accountId, 1, ledger, snapshot);
    // Finished: now it may go anywhere, a third shard included.
    const onward = await runMove({ accountId, to: 2 });
    expect(onward.status, onward.error).toBe("complete");
    await expectExactlyOnHome(accountId, 2, ledger, snapshot);
  });

  it("a second instance started at once is refused, naming the first (failed before: two instances shared one cursor)", async () => {
    const { accountId, ledger, snapshot } = await seededAccount();
    const stopWriters = ledger.background("twins");
    const [a, b] = await Promise.all([runMove({ accountId, to: 1 }), runMove({ accountId, to: 1 })]);
    await stopWriters();
    expect([a.output!.state, b.output!.state].sort()).toEqual(["moved", "refused"]);
    expect([a, b].find((r) => r.output!.state === "refused")!.output!.reason).toMatch(/already being moved to DB_1 by Workflow instance move-/);
    await expectExactlyOnHome(accountId, 1, ledger, snapshot);
  });

  it("a move to the shard the account is on, or of an unknown account, fails at once with a clear message (failed before: it hung)", async () => {
    const { accountId } = await seededAccount(3);
    expect((await runMove({ accountId, to: 0 })).output!.reason).toMatch(new RegExp(`Account ${accountId} is already on DB`));
    expect((await runMove({ accountId: "acct_nobody_here", to: 1 })).output!.reason).toMatch(/Unknown account acct_nobody_here/);
  });
});

describe("routes and background work around a copy", () => {
  it("a move back does not serve stale routes from its half-made copy (failed before: a create answered 201 lived only on the copy)", async () => {
    const { key, accountId, ledger, snapshot } = await seededAccount();
    expect((await runMove({ accountId, to: 1 })).status).toBe("complete");
    // Learnt by this isolate, and kept in key records: shard 1. Then a move back, stopped with half a copy on shard 0.
    const stale = (await newKey({ accountId, shard: 0 })).key;
    expect((await runMove({ accountId, to: 0, stopAfter: "copy page" })).status).toBe("errored");
    expect(await recordsOf(accountId)).toMatchObject({ 0: { state: "incoming" }, 1: { state: "copying" } });
    const created = await call("/v1/customers", { key: stale, json: { email: "via-stale-route@example.com" } });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(await shardDb(0).prepare("SELECT id FROM customers WHERE id = ?").bind(id).first()).toBeNull();
    expect(await shardDb(1).prepare("SELECT id FROM customers WHERE id = ?").bind(id).first()).not.toBeNull();
    ledger.customers.delete(id);
    expect((await call(`/v1/customers/${id}`, { key, method: "DELETE" })).status).toBe(204);
    ledger.customers.set(id, null);
    expect((await runMove({ accountId, to: 0 })).status).toBe("complete");
    await expectExactlyOnHome(accountId, 0, ledger, snapshot);
  });

  it("deletes during a copy answer 204 and enqueue their event at once, as without a move (failed before: 404 for a delete that happened)", async () => {
    const { key, accountId, ledger } = await seededAccount();
    const { sent, queue } = recordingQueue();
    const endpoint = ((await (await call("/v1/webhook-endpoints", { key })).json()) as { data: { id: string }[] }).data[0]!;
    expect((await runMove({ accountId, to: 1, stopAfter: "copy" })).status).toBe("errored");
    const [victim] = ledger.live();
    const deleted = await callWithEnv({ WEBHOOK_QUEUE: queue }, `/v1/customers/${victim}`, { key, method: "DELETE" });
    expect(deleted.status).toBe(204);
    expect(sent.at(-1)).toMatchObject({ accountId, shard: 0 });
    const patched = await callWithEnv({ WEBHOOK_QUEUE: queue }, `/v1/webhook-endpoints/${endpoint.id}`, { key, method: "PATCH", json: { url: "https://third.example/h" } });
    expect(patched.status).toBe(200);
    expect(sent.length).toBe(2); // the delete's customer.deleted, the new url's webhook.setup
    expect(sent.at(-1)).toMatchObject({ accountId, shard: 0 });
    expect((await callWithEnv({ WEBHOOK_QUEUE: queue }, `/v1/webhook-endpoints/${endpoint.id}`, { key, method: "DELETE" })).status).toBe(204);
    expect((await call(`/v1/webhook-endpoints/${endpoint.id}`, { key })).status).toBe(404);
  });

  it("an erasure during a move holds on every shard; a copy's refused rows do not count as re-keying's remaining", async () => {
    const { key, accountId, ledger } = await seededAccount();
    expect((await runMove({ accountId, to: 1, stopAfter: "verify" })).status).toBe("errored");
    const [victim] = ledger.live();
    const email = ledger.customers.get(victim!)!.email;
    expect((await call(`/v1/customers/${victim}`, { key, method: "DELETE" })).status).toBe(204);
    const reseal = await resealEndpointSecrets({ ...env, WEBHOOK_SECRET_KEY_PREVIOUS: env.WEBHOOK_SECRET_KEY });
    expect(reseal.remaining).toBe(0);
    expect((await runMove({ accountId, to: 1 })).status).toBe("complete");
    for (const shard of [0, 1, 2]) {
      const row = await shardDb(shard).prepare("SELECT id FROM customers WHERE id = ?").bind(victim).first();
      expect(row, `shard ${shard}`).toBeNull();
      const leaks = await shardDb(shard).prepare("SELECT count(*) AS n FROM webhook_events WHERE body LIKE ?").bind(`%${email}%`).first<{ n: number }>();
      expect(leaks!.n, `events naming the erased email on shard ${shard}`).toBe(0);
    }
  });

  it("a customer taking another's old email while a move is stopped after its copy leaves no index entry behind on the new home (failed before: REPLACE removed the old copy without its delete trigger)", async () => {
    const { accountId, ledger, snapshot } = await seededAccount();
    expect((await runMove({ accountId, to: 1, stopAfter: "copy" })).status).toBe("errored");
    const [renamed] = ledger.live();
    const email = ledger.customers.get(renamed!)!.email;
    const response = await ledger.write(`/v1/customers/${renamed}`, { method: "PATCH", json: { email: `moved-on-${email}` } });
    expect(response.status).toBe(200);
    ledger.customers.set(renamed!, { ...ledger.customers.get(renamed!)!, email: `moved-on-${email}`, etag: response.headers.get("ETag")! });
    await ledger.create(email);
    expect((await runMove({ accountId, to: 1 })).status).toBe("complete");
    await expectExactlyOnHome(accountId, 1, ledger, snapshot);
  });

  it("a revocation lost to a move's rewrite of the key record is re-applied (failed before: a move dying between its key passes left the key working)", async () => {
    const { accountId } = await seededAccount(3);
    const { key } = await newKey({ accountId, shard: 0 });
    await env.API_KEYS.put(`account:${accountId}:${await sha256Hex(key)}`, "1");
    expect((await runMove({ accountId, to: 1, stopAfter: "keys" })).status).toBe("errored");
    // A revocation whose record rewrite a concurrent move pass overwrote: only its marker is left.
    const hash = await sha256Hex(key);
    await env.API_KEYS.put(REVOKED_PREFIX + hash, new Date().toISOString());
    const record = (await env.API_KEYS.get<StoredKey>(KEY_PREFIX + hash, "json"))!;
    expect(record.revokedAt ?? null).toBeNull();
    expect((await runMove({ accountId, to: 1 })).status).toBe("complete");
    expect((await env.API_KEYS.get<StoredKey>(KEY_PREFIX + hash, "json"))!.revokedAt).toBeTruthy();
  });
});
