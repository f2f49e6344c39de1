// Behaviours the outside mutation test found unpinned (issue 33, items 4 to 7): each test fails if its behaviour is
// broken on purpose. Moves: a stale instance's own writes are refused by the shard's fence, and two claims of one move
// at the same moment leave exactly one owner. The desk keeps test and live apart. A keyed create raced by identical
// requests writes one customer and one event.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { changeOwner, claimSource, fenced, isFenced, readMove } from "../../src/moves/repository";
import { call, newKey } from "../helpers";
import { runMove, seededAccount, shardDb } from "../moves/helpers";
import { accountWithEndpoint } from "../webhooks/helpers";

describe("moves: fencing and claims", () => {
  it("refuses every write of an instance that was taken over, or whose move was cancelled, even when it keeps running", async () => {
    const { accountId } = await seededAccount(5);
    expect((await runMove({ accountId, to: 1, stopAfter: "copy" }, "move-stale-one")).status).toBe("errored");
    expect((await readMove(env, 0, accountId))!.owner).toBe("move-stale-one");
    // The stale instance can still write while it owns the records...
    const probe = (owner: string) => fenced(env, 1, accountId, owner, [shardDb(1).prepare("UPDATE customers SET name = 'written by ' || ? WHERE account_id = ?").bind(owner, accountId)]);
    await probe("move-stale-one");
    // ...and not once another instance has taken the move over: its batch is refused whole, nothing of it applied.
    await changeOwner(env, [0, 1], accountId, "move-stale-one", "move-new-owner");
    const refused = await probe("move-stale-one").then(() => null, (err: unknown) => err);
    expect(isFenced(refused)).toBe(true);
    const names = (await shardDb(1).prepare("SELECT DISTINCT name FROM customers WHERE account_id = ?").bind(accountId).all<{ name: string }>()).results.map((r) => r.name);
    expect(names).toEqual(["written by move-stale-one"]);
    await probe("move-new-owner");
    // A cancel owns the records next: the taken-over owner is refused as well.
    expect((await runMove({ accountId, cancel: true }, "move-the-cancel")).status).toBe("complete");
    expect(isFenced(await probe("move-new-owner").then(() => null, (err: unknown) => err))).toBe(true);
  });

  it("two instances claiming the same move at the same moment: exactly one owns it, the other never overwrites the owner", async () => {
    const { accountId } = await seededAccount(3);
    const now = Date.now();
    const [a, b] = await Promise.all([claimSource(env, 0, 1, accountId, "move-claim-a", now), claimSource(env, 0, 1, accountId, "move-claim-b", now)]);
    expect(a.owner).toBe(b.owner); // both read the same, single owner
    const owner = a.owner;
    expect(["move-claim-a", "move-claim-b"]).toContain(owner);
    const loser = owner === "move-claim-a" ? "move-claim-b" : "move-claim-a";
    // The loser claiming again changes nothing, and its fenced writes are refused.
    expect((await claimSource(env, 0, 1, accountId, loser, Date.now())).owner).toBe(owner);
    expect(isFenced(await fenced(env, 0, accountId, loser, []).then(() => null, (err: unknown) => err))).toBe(true);
    expect((await readMove(env, 0, accountId))!.owner).toBe(owner);
  });
});

describe("the desk keeps test and live apart", () => {
  it("a live key can neither read a test-mode event's attempts nor resend it, and the other way round", async () => {
    const test = await accountWithEndpoint();
    await test.api("/v1/customers", { json: { email: "mode-apart@example.com" } });
    const testEvent = test.sent.at(-1)!.eventId;
    const live = await newKey({ accountId: test.accountId, mode: "live" });
    expect((await call(`/v1/webhook-events/${testEvent}/attempts`, { key: live.key })).status).toBe(404);
    expect((await call(`/v1/webhook-events/${testEvent}/resend`, { key: live.key, method: "POST" })).status).toBe(404);
    // The other way round: a live event, the test key.
    const liveEndpoint = await call("/v1/webhook-endpoints", { key: live.key, json: { url: "https://live.example/hooks", secret: "a-live-secret-0000" } });
    expect(liveEndpoint.status).toBe(201);
    const liveEvent = (await shardDb(0).prepare("SELECT id FROM webhook_events WHERE account_id = ? AND testmode = 0").bind(test.accountId).first<{ id: string }>())!.id;
    expect((await call(`/v1/webhook-events/${liveEvent}/attempts`, { key: test.key })).status).toBe(404);
    expect((await call(`/v1/webhook-events/${liveEvent}/resend`, { key: test.key, method: "POST" })).status).toBe(404);
    // Each mode's own key does reach its own event.
    expect((await call(`/v1/webhook-events/${liveEvent}/attempts`, { key: live.key })).status).toBe(200);
    expect((await call(`/v1/webhook-events/${testEvent}/attempts`, { key: test.key })).status).toBe(200);
  });
});

describe("a keyed create raced by identical requests", () => {
  it("writes exactly one customer and one customer.created event, and every request answers with that customer", async () => {
    const { key, accountId } = await newKey();
    const body = { email: "raced-once@example.com", name: "Raced Once" };
    const answers = await Promise.all(Array.from({ length: 6 }, () => call("/v1/customers", { key, json: body, headers: { "Idempotency-Key": "race-create-1" } })));
    const ok = answers.filter((r) => r.status === 201);
    expect(ok.length).toBe(6);
    const ids = new Set(await Promise.all(ok.map(async (r) => ((await r.json()) as { id: string }).id)));
    expect(ids.size).toBe(1);
    const customers = await shardDb(0).prepare("SELECT id FROM customers WHERE account_id = ?").bind(accountId).all<{ id: string }>();
    expect(customers.results.map((r) => r.id)).toEqual([...ids]);
    const events = await shardDb(0).prepare("SELECT entity_id FROM webhook_events WHERE account_id = ? AND event_name = 'customer.created'").bind(accountId).all<{ entity_id: string }>();
    expect(events.results.map((r) => r.entity_id)).toEqual([...ids]);
  });
});

describe("the client's search (issue 33, item 7)", () => {
  it("escapes metadata keys as well as values: a key holding a quote or a backslash stays one key", async () => {
    const { q } = await import("../../client/src/index");
    const { parseSearchQuery } = await import("../../src/customers/search-query");
    for (const key of ['a"b', "a\\b", 'x"] OR email~"evil', '\\"']) {
      const text = String(q.metadata(key).is("v"));
      const parsed = parseSearchQuery(text);
      expect(parsed.clauses, text).toEqual([{ negate: false, field: "metadata", key, op: ":", value: "v" }]);
    }
  });

  it("sends the page size it is given, on every page", async () => {
    const { Vatly } = await import("../../client/src/index");
    const urls: string[] = [];
    const page = (next: string | null) => ({ data: [], count: 0, links: { self: { href: "http://x/v1/customers/search" }, next: next ? { href: next } : null, prev: null } });
    const fetch = (async (input: RequestInfo | URL) => {
      urls.push(String(input));
      return new Response(JSON.stringify(urls.length === 1 ? page("http://x/v1/customers/search?query=x&limit=7&page=t1") : page(null)), { headers: { "Content-Type": "application/json" } });
    }) as typeof globalThis.fetch;
    const vatly = new Vatly({ apiKey: "test_x", fetch, baseUrl: "http://x" });
    for await (const _ of vatly.customers.search('email~"acme"', { limit: 7 })) void _;
    expect(urls).toHaveLength(2);
    for (const url of urls) expect(new URL(url).searchParams.get("limit"), url).toBe("7");
  });
});

describe("the client's errors say what to fix (issue 34, item 9)", () => {
  it("puts the first field error of a 422 in the message; other errors keep the answer's message", async () => {
    const { Vatly, ValidationError, NotFoundError } = await import("../../client/src/index");
    const answers = [
      { status: 422, body: { message: "The given data was invalid.", errors: { email: ["The email has already been taken."] } } },
      { status: 422, body: { message: "The given data was invalid.", errors: { email: ["bad"], name: ["long"], "metadata.a": ["x"] } } },
      { status: 404, body: { message: "Customer not found." } },
    ];
    let n = 0;
    const fetch = (async () => {
      const a = answers[n++]!;
      return new Response(JSON.stringify(a.body), { status: a.status, headers: { "Content-Type": "application/json" } });
    }) as typeof globalThis.fetch;
    const vatly = new Vatly({ apiKey: "test_x", fetch, baseUrl: "http://x" });
    const taken = await vatly.customers.create({ email: "a@b.example" }).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(ValidationError);
    expect((taken as Error).message).toBe("The given data was invalid. email: The email has already been taken.");
    const several = await vatly.customers.create({ email: "a@b.example" }).catch((e: unknown) => e);
    expect((several as Error).message).toBe("The given data was invalid. email: bad (and 2 more fields)");
    const missing = await vatly.customers.retrieve("cus_0VcZ8xKq3mP7RtW2yL5nB9").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as Error).message).toBe("Customer not found.");
  });
});
