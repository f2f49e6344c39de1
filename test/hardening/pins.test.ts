// Behaviours an outside mutation test could break without any test noticing, each pinned here (issue 27's list):
// a replayed keyed create writes no second event; an empty-bodied PATCH honours its Idempotency-Key (409 for a key
// used on another request); 172.16/12 is
// private to its last address; one IPv6 /64 is one network however its groups are written; and the client retries
// only what may succeed later, honours Retry-After, and carries the latest bookmark, not the first. The client's
// tests need no server: a fetch double answers.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Vatly } from "../../client/src/index";
import { addressKey } from "../../src/pipeline/rate-limit";
import { publicHost } from "../../src/webhooks/endpoints/endpoint";
import { call, createCustomer, expectError, newKey } from "../helpers";

describe("pinned server behaviours", () => {
  it("a replayed keyed create inserts no second customer.created event", async () => {
    const { key } = await newKey();
    const headers = { "Idempotency-Key": "pin-create-1" };
    const first = await call("/v1/customers", { key, json: { email: "pin-once@example.com" }, headers });
    const again = await call("/v1/customers", { key, json: { email: "pin-once@example.com" }, headers });
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    const { id } = (await first.json()) as { id: string };
    const events = await env.DB.prepare("SELECT count(*) AS n FROM webhook_events WHERE entity_id = ? AND event_name = 'customer.created'").bind(id).first<{ n: number }>();
    expect(events!.n).toBe(1);
  });

  it("a PATCH with an empty body honours its Idempotency-Key: a key used for another request is a 409, never ignored", async () => {
    const { key } = await newKey();
    const customer = await createCustomer(key, { email: "pin-patch@example.com" });
    const headers = { "Idempotency-Key": "pin-empty-patch" };
    const named = await call(`/v1/customers/${customer.id}`, { key, method: "PATCH", json: { name: "Named" }, headers });
    expect(named.status).toBe(200);
    // The same key on a PATCH that changes nothing: another request under that key.
    await expectError(await call(`/v1/customers/${customer.id}`, { key, method: "PATCH", headers }), 409);
    // The first request again is replayed, as it was answered.
    const replay = await call(`/v1/customers/${customer.id}`, { key, method: "PATCH", json: { name: "Named" }, headers });
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await replay.json()).toEqual(await named.json());
    // An empty PATCH with a key whose earlier request was a create under another path is refused the same way.
    await call("/v1/customers", { key, json: { email: "pin-other@example.com" }, headers: { "Idempotency-Key": "pin-create-then-patch" } });
    await expectError(await call(`/v1/customers/${customer.id}`, { key, method: "PATCH", headers: { "Idempotency-Key": "pin-create-then-patch" } }), 409);
  });

  it("172.16.0.0/12 is private to its last address, and its neighbours are public", () => {
    for (const host of ["172.16.0.1", "172.20.1.1", "172.31.0.1", "172.31.255.254"]) expect(publicHost(host), host).toBe(false);
    for (const host of ["172.15.255.254", "172.32.0.1"]) expect(publicHost(host), host).toBe(true);
  });

  it("two IPv6 addresses of one /64 are one network, however zeros are written", () => {
    const same = ["2001:db8:0:0::1", "2001:db8::2", "2001:0db8:0000:0000:ffff::3", "2001:db8:0:0:1:2:3:4"];
    expect(new Set(same.map(addressKey)).size).toBe(1);
    expect(addressKey("2001:db8:0:1::1")).not.toBe(addressKey("2001:db8::1"));
    expect(addressKey("2001:db8:a00::1")).not.toBe(addressKey("2001:db8:a::1"));
  });
});

/** A fetch double: answers in turn, recording every request and when it came. */
function scripted(...answers: (() => Response)[]) {
  const seen: { at: number; headers: Headers }[] = [];
  const fetch = async (_input: RequestInfo | URL, init?: RequestInit) => {
    seen.push({ at: Date.now(), headers: new Headers(init?.headers) });
    return (answers[Math.min(seen.length - 1, answers.length - 1)] ?? answers.at(-1)!)();
  };
  return { seen, fetch: fetch as typeof globalThis.fetch };
}
const answer = (status: number, headers: Record<string, string> = {}, body: unknown = { message: "x" }) => () =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

describe("pinned client behaviours (no server)", () => {
  it("does not retry 400, 404 or 422: they fail the same way every time", async () => {
    for (const status of [400, 404, 422]) {
      const { seen, fetch } = scripted(answer(status, {}, { message: "no", errors: { email: ["bad"] } }));
      const vatly = new Vatly({ apiKey: "test_x", fetch, baseDelayMs: 1 });
      await expect(vatly.customers.create({ email: "a@b.example" })).rejects.toThrow();
      expect(seen, String(status)).toHaveLength(1);
    }
  });

  it("waits as long as Retry-After says before trying again", async () => {
    const { seen, fetch } = scripted(answer(429, { "Retry-After": "1" }), answer(200, {}, { data: [], count: 0, links: { self: { href: "http://x/v1/customers" }, next: null, prev: null } }));
    const vatly = new Vatly({ apiKey: "test_x", fetch, baseDelayMs: 1, maxDelayMs: 1 });
    await vatly.customers.page();
    expect(seen).toHaveLength(2);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it("carries the latest bookmark into the next call, not the first one it saw", async () => {
    const page = { data: [], count: 0, links: { self: { href: "http://x/v1/customers" }, next: null, prev: null } };
    const b1 = "00000001-00000001-00000001-00000000000000000000000000000001";
    const b2 = "00000002-00000002-00000002-00000000000000000000000000000002";
    const { seen, fetch } = scripted(answer(200, { "X-D1-Bookmark": b1 }, page), answer(200, { "X-D1-Bookmark": b2 }, page), answer(200, {}, page));
    const vatly = new Vatly({ apiKey: "test_x", fetch });
    await vatly.customers.page();
    await vatly.customers.page();
    await vatly.customers.page();
    expect(seen.map((s) => s.headers.get("X-D1-Bookmark"))).toEqual([null, b1, b2]);
  });
});
