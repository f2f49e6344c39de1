import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, callWithEnv, createCustomer, expectError, newKey } from "./helpers";

const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

describe("D1 sessions: X-D1-Bookmark", () => {
  it("returns a bookmark after a write and after a read", async () => {
    const { key } = await newKey();
    const created = await call("/v1/customers", { key, json: { email: "bm@example.com" } });
    expect(created.headers.get("X-D1-Bookmark")).toMatch(BOOKMARK);
    const listed = await call("/v1/customers", { key });
    expect(listed.headers.get("X-D1-Bookmark")).toMatch(BOOKMARK);
  });

  it("a read carrying the bookmark of a write sees that write", async () => {
    const { key } = await newKey();
    const created = await call("/v1/customers", { key, json: { email: "ryw@example.com" } });
    const bookmark = created.headers.get("X-D1-Bookmark")!;
    const { id } = (await created.json()) as { id: string };
    const read = await call(`/v1/customers/${id}`, { key, headers: { "X-D1-Bookmark": bookmark } });
    expect(read.status).toBe(200);
    // Round trip: the read's own bookmark is never older than the one it was given.
    expect(read.headers.get("X-D1-Bookmark")! >= bookmark).toBe(true);
    const list = (await (await call("/v1/customers", { key, headers: { "X-D1-Bookmark": bookmark } })).json()) as { data: { id: string }[] };
    expect(list.data.map((c) => c.id)).toContain(id);
  });

  it("refuses a bookmark it did not issue with a 400, and sends no bookmark for requests that never reached D1", async () => {
    const { key } = await newKey();
    await createCustomer(key, { email: "x@example.com" });
    const bad = await call("/v1/customers", { key, headers: { "X-D1-Bookmark": "not-a-bookmark" } });
    await expectError(bad, 400, "The X-D1-Bookmark header is not a bookmark this API returned.");
    expect((await call("/v1/customers")).headers.get("X-D1-Bookmark")).toBeNull();
  });
});

describe("a bookmark D1 refuses", () => {
  it("reads from the primary instead (a bookmark of another shard, from before a move, must not break a client)", async () => {
    const { key } = await newKey();
    const customer = await createCustomer(key, { email: "refused-bookmark@example.com" });
    const sessions: string[] = [];
    const refusing = {
      ...env.DB,
      withSession: (constraint: string) => {
        sessions.push(constraint);
        if (constraint === "first-primary") return env.DB.withSession(constraint);
        return { prepare: () => { throw new Error("D1_ERROR: Invalid bookmark: not from this database"); }, batch: async () => [], getBookmark: () => null };
      },
    } as unknown as D1Database;
    const bookmark = "00000000-00000001-00000000-00000000000000000000000000000000";
    const response = await callWithEnv({ DB: refusing }, `/v1/customers/${customer.id}`, { key, headers: { "X-D1-Bookmark": bookmark } });
    expect(response.status).toBe(200);
    expect(sessions).toEqual([bookmark, "first-primary"]);
    // The same D1 error without a bookmark sent stays an unexpected 500.
    const broken = { ...env.DB, withSession: () => ({ prepare: () => { throw new Error("D1_ERROR: Invalid bookmark"); }, batch: async () => [], getBookmark: () => null }) } as unknown as D1Database;
    await expectError(await callWithEnv({ DB: broken }, "/v1/customers", { key }), 500);
  });
});
