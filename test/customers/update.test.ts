import { describe, expect, it } from "vitest";
import { call, createCustomer, expectError, newKey, type Customer } from "../helpers";

const patch = (key: string, id: string, json: unknown, headers: Record<string, string> = {}) =>
  call(`/v1/customers/${id}`, { method: "PATCH", key, json, headers });
const get = async (key: string, id: string) => (await (await call(`/v1/customers/${id}`, { key })).json()) as Customer;

async function patched(key: string, id: string, json: unknown, headers: Record<string, string> = {}) {
  const response = await patch(key, id, json, headers);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Customer;
}

describe("PATCH /v1/customers/:id", () => {
  it("changes only the fields given and answers 200 with the whole customer, as GET then shows it", async () => {
    const { key } = await newKey();
    const created = await createCustomer(key, { email: "old@example.com", name: "Old Name", metadata: { plan: "pro" } });
    const updated = await patched(key, created.id, { name: "  New Name  " });
    expect(updated).toEqual({ ...created, name: "New Name" });
    expect(await get(key, created.id)).toEqual(updated);
    const again = await patched(key, created.id, { email: "new@example.com" });
    expect(again).toEqual({ ...updated, email: "new@example.com" });
  });

  it("accepts application/merge-patch+json as well as application/json", async () => {
    const { key } = await newKey();
    const { id } = await createCustomer(key, { email: "mp@example.com" });
    const response = await call(`/v1/customers/${id}`, {
      method: "PATCH", key, body: '{"metadata":{"a":"1"}}', headers: { "Content-Type": "application/merge-patch+json" },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Customer).metadata).toEqual({ a: "1" });
    await expectError(await call(`/v1/customers/${id}`, { method: "PATCH", key, body: "{}", headers: { "Content-Type": "text/plain" } }), 415);
  });

  it("treats no body and {} as no change, returning the customer as it is", async () => {
    const { key } = await newKey();
    const created = await createCustomer(key, { email: "noop@example.com", metadata: { a: "1" } });
    const etag = (await call(`/v1/customers/${created.id}`, { key })).headers.get("ETag");
    for (const options of [{ body: null }, { body: "", headers: { "Content-Type": "application/json" } }, { json: {} }]) {
      const response = await call(`/v1/customers/${created.id}`, { method: "PATCH", key, ...options });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(created);
      expect(response.headers.get("ETag")).toBe(etag);
    }
  });

  it("sets and removes the name: null removes it, whitespace only is a 422 on name", async () => {
    const { key } = await newKey();
    const { id } = await createCustomer(key, { email: "name@example.com", name: "Ann" });
    expect((await patched(key, id, { name: null })).name).toBeNull();
    expect((await patched(key, id, { name: "Bo" })).name).toBe("Bo");
    const error = await expectError(await patch(key, id, { name: "   " }), 422);
    expect(Object.keys(error.errors!)).toEqual(["name"]);
    expect((await get(key, id)).name).toBe("Bo");
  });

  it("merges metadata key by key (JSON Merge Patch): a string sets, null removes, unnamed keys stay", async () => {
    const { key } = await newKey();
    const { id } = await createCustomer(key, { email: "merge@example.com", metadata: { keep: "1", change: "2", drop: "3" } });
    const updated = await patched(key, id, { metadata: { change: "two", drop: null, add: "4", absent: null } });
    expect(updated.metadata).toEqual({ keep: "1", change: "two", add: "4" });
    expect((await patched(key, id, { metadata: {} })).metadata).toEqual({ keep: "1", change: "two", add: "4" });
    expect((await patched(key, id, { metadata: null })).metadata).toEqual({});
  });

  it("applies the metadata limits to the merged result, naming the offending key, and changes nothing then", async () => {
    const { key } = await newKey();
    const full = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"]));
    const { id } = await createCustomer(key, { email: "full@example.com", metadata: full });
    const tooMany = await expectError(await patch(key, id, { metadata: { extra: "x" } }), 422);
    expect(Object.keys(tooMany.errors!)).toEqual(["metadata"]);
    // Replacing one key while removing another stays at 50: allowed.
    expect(Object.keys((await patched(key, id, { metadata: { k0: null, extra: "x" } })).metadata!)).toHaveLength(50);
    const long = await expectError(await patch(key, id, { metadata: { k1: "x".repeat(501), ["y".repeat(41)]: "v" } }), 422);
    expect(Object.keys(long.errors!).sort()).toEqual(["metadata.k1", `metadata.${"y".repeat(41)}`]);
    const bad = await expectError(await patch(key, id, { metadata: { n: 1 } }), 422);
    expect(Object.keys(bad.errors!)).toEqual(["metadata.n"]);
    expect((await get(key, id)).metadata).toHaveProperty("extra", "x");
  });

  it("refuses read-only and unknown fields with a 422 naming each one, and changes nothing", async () => {
    const { key } = await newKey();
    const created = await createCustomer(key, { email: "ro@example.com" });
    for (const field of ["id", "resource", "testmode", "createdAt", "links", "nickname"]) {
      const error = await expectError(await patch(key, created.id, { [field]: "x", name: "Changed" }), 422, "The given data was invalid.");
      expect(error.errors).toEqual({ [field]: [`The ${field} field cannot be updated.`] });
    }
    const both = await expectError(await patch(key, created.id, { id: "x", email: "not-an-email" }), 422);
    expect(Object.keys(both.errors!).sort()).toEqual(["email", "id"]);
    expect(await get(key, created.id)).toEqual(created);
  });

  it("keeps email unique per account and mode, and allows changing only the case of one's own", async () => {
    const { key } = await newKey();
    await createCustomer(key, { email: "taken@example.com" });
    const { id } = await createCustomer(key, { email: "mine@example.com" });
    const error = await expectError(await patch(key, id, { email: " TAKEN@example.com " }), 422);
    expect(error.errors).toEqual({ email: ["The email has already been taken."] });
    expect((await patched(key, id, { email: "MINE@example.com" })).email).toBe("MINE@example.com");
    await expectError(await patch(key, id, { email: "user@müller.de" }), 422);
    // Another account or mode may use the same address.
    const other = await newKey();
    expect((await patched(other.key, (await createCustomer(other.key, { email: "o@example.com" })).id, { email: "taken@example.com" })).email).toBe("taken@example.com");
  });

  it("answers 404 outside the caller's account and mode, for malformed ids, and after a delete", async () => {
    const owner = await newKey();
    const { id } = await createCustomer(owner.key, { email: "scoped@example.com" });
    const live = await newKey({ accountId: owner.accountId, mode: "live" });
    for (const key of [live.key, (await newKey()).key]) await expectError(await patch(key, id, { name: "x" }), 404, "Customer not found.");
    await expectError(await patch(owner.key, "cus_nope", { name: "x" }), 404, "Customer not found.");
    expect((await call(`/v1/customers/${id}`, { method: "DELETE", key: owner.key })).status).toBe(204);
    await expectError(await patch(owner.key, id, { name: "x" }), 404, "Customer not found.");
    await expectError(await patch(owner.key, id, {}), 404, "Customer not found.");
  });

  it("replays a keyed PATCH with its stored answer and ETag, and refuses the key for another request", async () => {
    const { key } = await newKey();
    const { id } = await createCustomer(key, { email: "idem-patch@example.com" });
    const first = await patch(key, id, { metadata: { n: "1" } }, { "Idempotency-Key": "patch-1" });
    expect(first.status).toBe(200);
    const body = await first.json();
    // A later change does not alter what the key answers.
    await patched(key, id, { metadata: { n: "2" } });
    const again = await patch(key, id, { metadata: { n: "1" } }, { "Idempotency-Key": "patch-1" });
    expect(again.status).toBe(200);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.headers.get("ETag")).toBe(first.headers.get("ETag"));
    expect(await again.json()).toEqual(body);
    await expectError(await patch(key, id, { metadata: { n: "3" } }, { "Idempotency-Key": "patch-1" }), 409);
    await expectError(await call("/v1/customers", { key, json: { email: "x@example.com" }, headers: { "Idempotency-Key": "patch-1" } }), 409);
    expect((await get(key, id)).metadata).toEqual({ n: "2" });
  });

  it("does not store a failed PATCH: the same key may be retried", async () => {
    const { key } = await newKey();
    const { id } = await createCustomer(key, { email: "retry@example.com" });
    await createCustomer(key, { email: "other@example.com" });
    await expectError(await patch(key, id, { email: "other@example.com" }, { "Idempotency-Key": "retry-1" }), 422);
    await expectError(await patch(key, id, { name: "x" }, { "Idempotency-Key": "retry-2", "If-Match": '"stale"' }), 412);
    expect((await patch(key, id, { email: "other@example.com" }, { "Idempotency-Key": "retry-1" })).status).toBe(422);
    expect((await patch(key, id, { name: "x" }, { "Idempotency-Key": "retry-2" })).headers.get("Idempotent-Replayed")).toBeNull();
  });
});

describe("PATCH that changes nothing (the same values, or an empty metadata merge)", () => {
  const events = async (key: string, id: string) =>
    ((await (await call(`/v1/webhook-events?entityId=${id}`, { key })).json()) as { data: { eventName: string }[] }).data.map((e) => e.eventName);

  it("answers 200 with the customer as it is, the same ETag, and writes no customer.updated event", async () => {
    const { key } = await newKey();
    const created = await createCustomer(key, { email: "same@example.com", name: "Same", metadata: { plan: "pro" } });
    const etag = (await call(`/v1/customers/${created.id}`, { key })).headers.get("ETag");
    for (const json of [{ name: "Same" }, { email: "same@example.com", metadata: { plan: "pro" } }, { metadata: {} }, { name: "  Same  " }]) {
      const response = await patch(key, created.id, json, { "If-Match": etag! });
      expect(response.status, JSON.stringify(json)).toBe(200);
      expect(await response.json()).toEqual(created);
      expect(response.headers.get("ETag")).toBe(etag);
    }
    expect(await events(key, created.id)).toEqual(["customer.created"]);
    // A change still is one: a new ETag and its event.
    const changed = await patch(key, created.id, { metadata: { plan: "business" } });
    expect(changed.headers.get("ETag")).not.toBe(etag);
    expect(await events(key, created.id)).toEqual(["customer.updated", "customer.created"]);
  });

  it("still honours If-Match (412 for another ETag) and replays under its Idempotency-Key", async () => {
    const { key } = await newKey();
    const created = await createCustomer(key, { email: "same-key@example.com", name: "Key" });
    await expectError(await patch(key, created.id, { name: "Key" }, { "If-Match": '"not-the-etag"' }), 412);
    const first = await patch(key, created.id, { name: "Key" }, { "Idempotency-Key": "noop-1" });
    expect(first.status).toBe(200);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();
    await patched(key, created.id, { name: "Changed since" });
    const again = await patch(key, created.id, { name: "Key" }, { "Idempotency-Key": "noop-1" });
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await again.json()).toEqual(created);
    await expectError(await patch(key, created.id, { name: "Other" }, { "Idempotency-Key": "noop-1" }), 409);
  });
});
