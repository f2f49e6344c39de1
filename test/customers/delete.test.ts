import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createCustomer, expectError, newKey, type ListBody } from "../helpers";

const del = (key: string, id: string, headers: Record<string, string> = {}) => call(`/v1/customers/${id}`, { method: "DELETE", key, headers });

describe("DELETE /v1/customers/:id", () => {
  it("answers 204 without a body; the customer is then 404, absent from lists and email lookups, its email free", async () => {
    const { key } = await newKey();
    const kept = await createCustomer(key, { email: "kept@example.com" });
    const gone = await createCustomer(key, { email: "Gone@example.com", name: "Gone", metadata: { a: "b" } });
    const response = await del(key, gone.id);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    await expectError(await call(`/v1/customers/${gone.id}`, { key }), 404, "Customer not found.");
    const list = (await (await call("/v1/customers", { key })).json()) as ListBody;
    expect(list.data.map((c) => c.id)).toEqual([kept.id]);
    const byEmail = (await (await call("/v1/customers?email=gone@example.com", { key })).json()) as ListBody;
    expect(byEmail.count).toBe(0);
    const reborn = await createCustomer(key, { email: "gone@example.com" });
    expect(reborn.id).not.toBe(gone.id);
  });

  it("answers 404 to an unknown, malformed, foreign or already deleted customer", async () => {
    const owner = await newKey();
    const { id } = await createCustomer(owner.key, { email: "twice@example.com" });
    await expectError(await del((await newKey({ accountId: owner.accountId, mode: "live" })).key, id), 404, "Customer not found.");
    await expectError(await del((await newKey()).key, id), 404, "Customer not found.");
    await expectError(await del(owner.key, "cus_0000000000000000000000"), 404);
    await expectError(await del(owner.key, "nope"), 404);
    expect((await del(owner.key, id)).status).toBe(204);
    await expectError(await del(owner.key, id), 404, "Customer not found.");
  });

  it("replays a keyed delete as 204 when retried, and refuses the key for another request", async () => {
    const { key } = await newKey();
    const { id } = await createCustomer(key, { email: "idem-del@example.com" });
    expect((await del(key, id, { "Idempotency-Key": "del-1" })).status).toBe(204);
    const again = await del(key, id, { "Idempotency-Key": "del-1" });
    expect(again.status).toBe(204);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await again.text()).toBe("");
    const other = await createCustomer(key, { email: "other-del@example.com" });
    await expectError(await del(key, other.id, { "Idempotency-Key": "del-1" }), 409);
    // The unkeyed retry of a done delete is a plain 404.
    await expectError(await del(key, id), 404);
  });

  it("forgets the keys of a deleted customer's create and update: nothing stored confirms its data, and a rerun creates anew", async () => {
    const { key, accountId } = await newKey();
    const body = { email: "replayed@example.com", name: "Private" };
    const created = await call("/v1/customers", { key, json: body, headers: { "Idempotency-Key": "create-then-delete" } });
    const { id } = (await created.json()) as { id: string };
    expect((await call(`/v1/customers/${id}`, { method: "PATCH", key, json: { name: "P2" }, headers: { "Idempotency-Key": "patch-then-delete" } })).status).toBe(200);
    expect((await del(key, id, { "Idempotency-Key": "the-delete" })).status).toBe(204);
    // Only the delete's own answer remains; its request held no personal data.
    const stored = await env.DB.prepare("SELECT key, status, body FROM idempotency_keys WHERE account_id = ?").bind(accountId).all<{ key: string; status: number; body: string }>();
    expect(stored.results).toEqual([{ key: "the-delete", status: 204, body: "" }]);
    // The create's key is free again: running the same create makes a new customer (the walkthrough can be rerun).
    const again = await call("/v1/customers", { key, json: body, headers: { "Idempotency-Key": "create-then-delete" } });
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBeNull();
    const recreated = (await again.json()) as { id: string; email: string };
    expect(recreated.id).not.toBe(id);
    expect(recreated.email).toBe(body.email);
    await expectError(await call(`/v1/customers/${id}`, { method: "PATCH", key, json: { name: "P2" }, headers: { "Idempotency-Key": "patch-then-delete" } }), 404);
  });

  it("a delete refused by If-Match erases nothing: the customer's replays and events keep their data", async () => {
    const { key, accountId } = await newKey();
    const created = await call("/v1/customers", { key, json: { email: "kept@example.com" }, headers: { "Idempotency-Key": "kept-create" } });
    const { id } = (await created.json()) as { id: string };
    await expectError(await del(key, id, { "If-Match": '"not-the-etag"' }), 412);
    const replay = await call("/v1/customers", { key, json: { email: "kept@example.com" }, headers: { "Idempotency-Key": "kept-create" } });
    expect(replay.status).toBe(201);
    expect(((await replay.json()) as { email: string }).email).toBe("kept@example.com");
    const event = await env.DB.prepare("SELECT body FROM webhook_events WHERE account_id = ? AND entity_id = ?").bind(accountId, id).first<{ body: string }>();
    expect(JSON.parse(event!.body).object.email).toBe("kept@example.com");
  });

  it("keeps a cursor naming a deleted customer working, in both directions", async () => {
    const { key } = await newKey();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createCustomer(key, { email: `c${i}@example.com` })).id);
    expect((await del(key, ids[2]!)).status).toBe(204);
    const older = (await (await call(`/v1/customers?startingAfter=${ids[2]}`, { key })).json()) as ListBody;
    expect(older.data.map((c) => c.id)).toEqual([ids[1], ids[0]]);
    const newer = (await (await call(`/v1/customers?endingBefore=${ids[2]}`, { key })).json()) as ListBody;
    expect(newer.data.map((c) => c.id)).toEqual([ids[4], ids[3]]);
    // Still scoped: another account's cursor is unknown.
    await expectError(await call(`/v1/customers?startingAfter=${ids[2]}`, { key: (await newKey()).key }), 422);
  });
});
