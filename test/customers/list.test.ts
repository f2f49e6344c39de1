import { describe, expect, it } from "vitest";
import { BASE, call, createCustomer, expectError, newKey, type ListBody } from "../helpers";

const list = async (key: string, query = "") => {
  const response = await call(`/v1/customers${query}`, { key });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as ListBody;
};
const follow = async (key: string, href: string) => list(key, href.slice(`${BASE}/v1/customers`.length));
const page = (query: string) => ({ href: `${BASE}/v1/customers?${query}`, type: "application/json" });

/** n customers for a fresh key, returned newest first (the list's order). */
async function seed(n: number, options: Parameters<typeof newKey>[0] = {}) {
  const owner = await newKey(options);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await createCustomer(owner.key, { email: `c${i}@example.com` })).id);
  return { ...owner, ids: ids.reverse() };
}

describe("GET /v1/customers: shape and order", () => {
  it("returns an empty page with no links to follow", async () => {
    const { key } = await newKey();
    expect(await list(key)).toEqual({ data: [], count: 0, links: { self: page("limit=10"), next: null, prev: null } });
  });

  it("returns customers newest first, with count, default limit 10 and self link", async () => {
    const { key, ids } = await seed(3);
    const body = await list(key);
    expect(Object.keys(body)).toEqual(["data", "count", "links"]);
    expect(body.data.map((c) => c.id)).toEqual(ids);
    expect(body.count).toBe(3);
    expect(body.links).toEqual({ self: page("limit=10"), next: null, prev: null });
    expect(body.data[0]).toEqual(await (await call(`/v1/customers/${ids[0]}`, { key })).json());
  });

  it("returns exactly limit items without a next link when nothing follows", async () => {
    const { key, ids } = await seed(5);
    const body = await list(key, "?limit=5");
    expect(body.data.map((c) => c.id)).toEqual(ids);
    expect(body.links).toEqual({ self: page("limit=5"), next: null, prev: null });
  });

  it("links to the next page when limit + 1 customers exist", async () => {
    const { key, ids } = await seed(6);
    const first = await list(key, "?limit=5");
    expect(first.data.map((c) => c.id)).toEqual(ids.slice(0, 5));
    expect(first.links.next).toEqual(page(`startingAfter=${ids[4]}&limit=5`));
    expect(first.links.prev).toBeNull();

    const second = await follow(key, first.links.next!.href);
    expect(second.data.map((c) => c.id)).toEqual([ids[5]]);
    expect(second.count).toBe(1);
    expect(second.links).toEqual({ self: page(`startingAfter=${ids[4]}&limit=5`), next: null, prev: page(`endingBefore=${ids[5]}&limit=5`) });

    const back = await follow(key, second.links.prev!.href);
    expect(back.data.map((c) => c.id)).toEqual(ids.slice(0, 5));
    expect(back.links).toEqual({ self: page(`endingBefore=${ids[5]}&limit=5`), next: page(`startingAfter=${ids[4]}&limit=5`), prev: null });
  });

  it("handles cursors at the first and at the last customer", async () => {
    const { key, ids } = await seed(4);
    const afterNewest = await list(key, `?startingAfter=${ids[0]}&limit=2`);
    expect(afterNewest.data.map((c) => c.id)).toEqual(ids.slice(1, 3));
    expect(afterNewest.links.prev).toEqual(page(`endingBefore=${ids[1]}&limit=2`));
    expect(afterNewest.links.next).toEqual(page(`startingAfter=${ids[2]}&limit=2`));

    const afterOldest = await list(key, `?startingAfter=${ids[3]}`);
    expect(afterOldest).toEqual({ data: [], count: 0, links: { self: page(`startingAfter=${ids[3]}&limit=10`), next: null, prev: null } });

    const beforeNewest = await list(key, `?endingBefore=${ids[0]}`);
    expect(beforeNewest).toEqual({ data: [], count: 0, links: { self: page(`endingBefore=${ids[0]}&limit=10`), next: null, prev: null } });

    const beforeOldest = await list(key, `?endingBefore=${ids[3]}&limit=2`);
    expect(beforeOldest.data.map((c) => c.id)).toEqual(ids.slice(1, 3));
    expect(beforeOldest.links.prev).toEqual(page(`endingBefore=${ids[1]}&limit=2`));
    expect(beforeOldest.links.next).toEqual(page(`startingAfter=${ids[2]}&limit=2`));
  });

  it("walks next to the end and prev back to the start over 260 customers, with other scopes interleaved", async () => {
    const owner = await newKey();
    const others = [await newKey(), await newKey({ accountId: owner.accountId, mode: "live" })];
    const ids: string[] = [];
    for (let i = 0; i < 260; i++) {
      ids.unshift((await createCustomer(owner.key, { email: `walk${i}@example.com` })).id);
      if (i % 10 === 0) for (const other of others) await createCustomer(other.key, { email: `walk${i}@example.com` });
    }

    const forward: string[] = [];
    let body = await list(owner.key, "?limit=7");
    let pages = 1;
    forward.push(...body.data.map((c) => c.id));
    while (body.links.next) {
      body = await follow(owner.key, body.links.next.href);
      forward.push(...body.data.map((c) => c.id));
      pages++;
    }
    expect(forward).toEqual(ids);
    expect(pages).toBe(Math.ceil(260 / 7));

    const backward: string[] = [];
    backward.unshift(...body.data.map((c) => c.id));
    while (body.links.prev) {
      body = await follow(owner.key, body.links.prev.href);
      expect(body.count).toBe(7);
      backward.unshift(...body.data.map((c) => c.id));
    }
    expect(backward).toEqual(ids);
    expect(new Set(backward).size).toBe(260);
  });

  it("accepts limit 1 and limit 100", async () => {
    const { key, ids } = await seed(2);
    expect((await list(key, "?limit=1")).data.map((c) => c.id)).toEqual([ids[0]]);
    expect((await list(key, "?limit=100")).links.self).toEqual(page("limit=100"));
  });
});

describe("GET /v1/customers: invalid query (422)", () => {
  const invalidQuery = async (query: string) => {
    const { key } = await newKey();
    return (await expectError(await call(`/v1/customers${query}`, { key }), 422, "The given data was invalid.")).errors!;
  };

  it("rejects a limit that is not an integer from 1 to 100", async () => {
    for (const limit of ["0", "101", "-1", "1.5", "abc", "1e2", " 5", "99999999999999999999"]) {
      expect(await invalidQuery(`?limit=${encodeURIComponent(limit)}`), limit).toEqual({ limit: ["The limit parameter must be an integer between 1 and 100."] });
    }
  });

  it("rejects malformed cursors", async () => {
    for (const name of ["startingAfter", "endingBefore"]) {
      for (const value of ["abc", "cus_", "cus_abc123def456", "cus_0Vc1iJv8ZDAz6lbYQCSM5", "cus_0Vc1iJv8ZDAz6lbYQCSM5N!", "sub_0Vc1iJv8ZDAz6lbYQCSM5N"]) {
        expect(await invalidQuery(`?${name}=${encodeURIComponent(value)}`)).toEqual({ [name]: [`The ${name} parameter must be a customer id (cus_...).`] });
      }
    }
  });

  it("rejects a repeated parameter, and PHP's array notation for one", async () => {
    expect(await invalidQuery("?limit=5&limit=6")).toEqual({ limit: ["The limit parameter must be a single value, given once."] });
    expect(await invalidQuery("?limit%5B%5D=5")).toEqual({ limit: ["The limit parameter must be a single value, given once."] });
    expect(await invalidQuery("?startingAfter[x]=cus_0Vc1iJv8ZDAz6lbYQCSM5N")).toEqual({ startingAfter: ["The startingAfter parameter must be a single value, given once."] });
  });

  it("rejects both cursors at once", async () => {
    const { key, ids } = await seed(3);
    const error = await expectError(await call(`/v1/customers?startingAfter=${ids[0]}&endingBefore=${ids[2]}`, { key }), 422);
    const message = "The startingAfter and endingBefore parameters cannot be combined.";
    expect(error.errors).toEqual({ startingAfter: [message], endingBefore: [message] });
  });

  it("rejects a well-formed cursor that names no customer of the caller", async () => {
    const { key } = await newKey();
    const stranger = await seed(1);
    for (const name of ["startingAfter", "endingBefore"]) {
      for (const id of ["cus_0000000000000000000000", stranger.ids[0]]) {
        const error = await expectError(await call(`/v1/customers?${name}=${id}`, { key }), 422);
        expect(error.errors).toEqual({ [name]: [`No customer with the id given as ${name} exists.`] });
      }
    }
  });

  it("treats an empty parameter as absent", async () => {
    const { key, ids } = await seed(2);
    const body = await list(key, "?limit=&startingAfter=&endingBefore=");
    expect(body.data.map((c) => c.id)).toEqual(ids);
    expect(body.links.self).toEqual(page("limit=10"));
  });

  it("filters by email, case-insensitively and trimmed, as the PHP client's listByEmail() asks", async () => {
    const { key } = await newKey();
    const other = await newKey();
    await createCustomer(key, { email: "a@example.com" });
    const target = await createCustomer(key, { email: "Jane.Doe@Example.com" });
    await createCustomer(other.key, { email: "jane.doe@example.com" });
    const body = await list(key, `?email=${encodeURIComponent(" JANE.doe@example.COM ")}`);
    expect(body.data.map((c) => c.id)).toEqual([target.id]);
    expect(body.links).toEqual({ self: page("email=JANE.doe%40example.COM&limit=10"), next: null, prev: null });
    expect((await list(key, "?email=nobody%40example.com")).count).toBe(0);
    const error = await expectError(await call(`/v1/customers?email=${"a".repeat(250)}%40example.com`, { key }), 422);
    expect(Object.keys(error.errors!)).toEqual(["email"]);
  });

  it("ignores unknown parameters", async () => {
    const { key } = await newKey();
    expect((await list(key, "?foo=bar&limit=3")).links.self).toEqual(page("limit=3"));
  });
});
