// GET /v1/customers/search: the language (every clause kind, negation, AND/OR), its errors (what and where), pages
// that give each match once, tokens bound to their query, account and mode, read-your-writes after every kind of
// write, erasure leaving no index row, and a property test against a plain in-memory filter of the same customers.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { call, createCustomer, expectError, newKey, type ListBody } from "../helpers";
import { expectIndexMatchesCustomers } from "../search-index";

interface Found { id: string; email: string; name: string | null; metadata: Record<string, string>; createdAt: string }

async function search(key: string, query: string, extra = ""): Promise<ListBody & { data: Found[] }> {
  const response = await call(`/v1/customers/search?query=${encodeURIComponent(query)}${extra}`, { key });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as ListBody & { data: Found[] };
}

/** Every match, following links.next from the first page. */
async function searchAll(key: string, query: string, limit: number) {
  const ids: string[] = [];
  let body = await search(key, query, `&limit=${limit}`);
  for (;;) {
    ids.push(...body.data.map((c) => c.id));
    if (!body.links.next) return ids;
    const next = new URL(body.links.next.href);
    const response = await call(`${next.pathname}${next.search}`, { key });
    expect(response.status).toBe(200);
    body = (await response.json()) as typeof body;
  }
}

async function expectQueryError(key: string, query: string, message: RegExp) {
  const response = await call(`/v1/customers/search?query=${encodeURIComponent(query)}`, { key });
  const body = await expectError(response, 422);
  expect(body.errors?.query?.[0]).toMatch(message);
}

describe("GET /v1/customers/search", () => {
  it("answers each clause kind from its index, newest first, with negation, AND and OR", async () => {
    const { key } = await newKey();
    const ann = await createCustomer(key, { email: "Ann.Smith@Acme.example", name: "Ann Smith", metadata: { plan: "pro", crm: "A-1" } });
    const bob = await createCustomer(key, { email: "bob@acme.example", name: "Bob Jones", metadata: { plan: "free" } });
    const cid = await createCustomer(key, { email: "cid@other.example", metadata: { plan: "pro" } });
    const ids = async (q: string) => (await search(key, q)).data.map((c) => c.id);
    expect(await ids('email:"ann.smith@acme.example"')).toEqual([ann.id]);
    expect(await ids('name:"Ann Smith"')).toEqual([ann.id]);
    expect(await ids('name:"ann smith"')).toEqual([]);
    expect(await ids('email~"ACME"')).toEqual([bob.id, ann.id]);
    expect(await ids('name~"jon"')).toEqual([bob.id]);
    expect(await ids('metadata["plan"]:"pro"')).toEqual([cid.id, ann.id]);
    expect(await ids('metadata["crm"]:"A-1"')).toEqual([ann.id]);
    expect(await ids('metadata["plan"]:"pro" AND -email~"acme"')).toEqual([cid.id]);
    expect(await ids('name:"Bob Jones" or email:"cid@other.example"')).toEqual([cid.id, bob.id]);
    expect(await ids('-name~"smi"')).toEqual([cid.id, bob.id]);
    expect(await ids(`createdAt>="${ann.createdAt}"`)).toEqual([cid.id, bob.id, ann.id]);
    expect(await ids(`createdAt<"${ann.createdAt}"`)).toEqual([]);
    expect(await ids('email:"nobody@acme.example"')).toEqual([]);
    const body = await search(key, 'email~"acme"');
    expect(body.data[0]).toEqual(await (await call(`/v1/customers/${bob.id}`, { key })).json());
    expect(body.count).toBe(2);
  });

  it("refuses a bad query with 422, saying what is wrong and at which character", async () => {
    const { key } = await newKey();
    await expectQueryError(key, "", /required/);
    await expectQueryError(key, "   ", /must not be empty/);
    await expectQueryError(key, 'phone:"1"', /Unknown field "phone".* at character 1\./);
    await expectQueryError(key, 'email:"a" AND name:"b" OR name:"c"', /AND and OR cannot be mixed in one query at character 24\./);
    await expectQueryError(key, 'email~"ab"', /at least 3 characters at character 7\./);
    await expectQueryError(key, 'createdAt>"yesterday"', /ISO 8601 .* at character 11\./);
    await expectQueryError(key, 'createdAt:"2026-01-01T00:00:00Z"', /createdAt takes >, >=, < or <=/);
    await expectQueryError(key, 'email:"unterminated', /closing double quote .* at character 7\./);
    await expectQueryError(key, "email:bare", /in double quotes at character 7\./);
    await expectQueryError(key, 'email:"a" name:"b"', /Expected AND, OR or the end of the query at character 11\./);
    await expectQueryError(key, Array.from({ length: 11 }, (_, i) => `name:"n${i}"`).join(" AND "), /at most 10 clauses/);
    await expectQueryError(key, 'metadata["k"]~"abc"', /metadata\["key"\] takes : \(an exact value\), not ~/);
    // What a Stripe user types first: a hint, not a generic refusal.
    await expectQueryError(key, 'NOT email~"acme"', /NOT is written as a leading "-", as in -email~"acme" at character 1\./);
    await expectQueryError(key, '(email~"acme" OR name~"acme") AND name~"x"', /Parentheses are not supported/);
    await expectQueryError(key, 'email:""', /email:"" matches nobody/);
    await expectQueryError(key, 'name:""', /name:"" matches nobody/);
    await expectQueryError(key, 'createdAt>"2026-13-45"', /a date \("2026-01-01", midnight UTC\) or unix seconds/);
    const limit = await call(`/v1/customers/search?query=${encodeURIComponent('name:"x"')}&limit=0`, { key });
    expect((await expectError(limit, 422)).errors?.limit).toBeDefined();
  });

  it("walks every match exactly once by links.next, and refuses a page token of another query, account or mode", async () => {
    const { key, accountId } = await newKey();
    const made: string[] = [];
    for (let i = 0; i < 23; i++) made.push((await createCustomer(key, { email: `walk${i}@pages.example`, metadata: { batch: i % 2 ? "odd" : "even" } })).id);
    await createCustomer(key, { email: "other@elsewhere.example" });
    expect(await searchAll(key, 'email~"pages"', 5)).toEqual([...made].reverse());
    expect(await searchAll(key, 'metadata["batch"]:"odd"', 4)).toEqual(made.filter((_, i) => i % 2).reverse());
    const first = await search(key, 'email~"pages"', "&limit=5");
    const token = new URL(first.links.next!.href).searchParams.get("page")!;
    const otherQuery = await call(`/v1/customers/search?query=${encodeURIComponent('email~"walk"')}&page=${token}`, { key });
    expect((await expectError(otherQuery, 422)).errors?.page).toBeDefined();
    const otherMode = await newKey({ accountId, mode: "live" });
    await expectError(await call(`/v1/customers/search?query=${encodeURIComponent('email~"pages"')}&page=${token}`, { key: otherMode.key }), 422);
    const otherAccount = await newKey();
    await expectError(await call(`/v1/customers/search?query=${encodeURIComponent('email~"pages"')}&page=${token}`, { key: otherAccount.key }), 422);
    await expectError(await call(`/v1/customers/search?query=${encodeURIComponent('email~"pages"')}&page=garbage!`, { key }), 422);
    // Scoped: the other mode and account find nothing of these.
    expect((await search(otherMode.key, 'email~"pages"')).data).toEqual([]);
    expect((await search(otherAccount.key, 'email~"pages"')).data).toEqual([]);
  });

  it("sees every write before it: a create, an update (metadata too) and a delete, in the very next search", async () => {
    const { key, accountId } = await newKey();
    const c = await createCustomer(key, { email: "fresh@ryw.example", name: "Fresh Name", metadata: { tier: "gold" } });
    expect((await search(key, 'email~"ryw"')).data.map((x) => x.id)).toEqual([c.id]);
    const patched = await call(`/v1/customers/${c.id}`, { key, method: "PATCH", json: { name: "Renamed Person", metadata: { tier: "silver" } } });
    expect(patched.status).toBe(200);
    expect((await search(key, 'name~"fresh"')).data).toEqual([]);
    expect((await search(key, 'name~"renamed"')).data.map((x) => x.id)).toEqual([c.id]);
    expect((await search(key, 'metadata["tier"]:"gold"')).data).toEqual([]);
    expect((await search(key, 'metadata["tier"]:"silver"')).data.map((x) => x.name)).toEqual(["Renamed Person"]);
    expect((await call(`/v1/customers/${c.id}`, { key, method: "DELETE" })).status).toBe(204);
    expect((await search(key, 'email~"ryw"')).data).toEqual([]);
    // The erasure leaves no index entry that could confirm the customer: the index is exactly what the customers hold.
    await expectIndexMatchesCustomers(env.DB);
    void accountId;
  });

  it("finds what a plain filter over the same customers finds, for generated queries (property)", async () => {
    const { key } = await newKey();
    const names = ["Ann Lee", "Bob Stone", "Cara Lee", null, "Dan Stoner"];
    const plans = ["pro", "free", "team"];
    const people: Found[] = [];
    for (let i = 0; i < 15; i++) {
      const created = await createCustomer(key, { email: `p${i}.${["lee", "stone", "x"][i % 3]}@prop${i % 4}.example`, name: names[i % names.length], metadata: { plan: plans[i % 3]!, n: String(i % 5) } });
      people.push(created as unknown as Found);
    }
    const clause = fc.oneof(
      fc.record({ kind: fc.constant("email~"), v: fc.constantFrom("lee", "stone", "prop1", "prop2", ".ex", "zzz") }),
      fc.record({ kind: fc.constant("name~"), v: fc.constantFrom("lee", "sto", "ann", "ner", "qqq") }),
      fc.record({ kind: fc.constant("name:"), v: fc.constantFrom("Ann Lee", "Bob Stone", "nobody") }),
      fc.record({ kind: fc.constant("plan:"), v: fc.constantFrom(...plans, "none") }),
      fc.record({ kind: fc.constant("n:"), v: fc.constantFrom("0", "1", "2", "3", "4") }),
    );
    const text = (c: { kind: string; v: string }) =>
      c.kind === "plan:" ? `metadata["plan"]:"${c.v}"` : c.kind === "n:" ? `metadata["n"]:"${c.v}"` : `${c.kind.slice(0, -1)}${c.kind.at(-1)}"${c.v}"`;
    const holds = (p: Found, c: { kind: string; v: string }) =>
      c.kind === "email~" ? p.email.toLowerCase().includes(c.v) : c.kind === "name~" ? (p.name ?? "").toLowerCase().includes(c.v)
      : c.kind === "name:" ? p.name === c.v : c.kind === "plan:" ? p.metadata.plan === c.v : p.metadata.n === c.v;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ clause, negate: fc.boolean() }), { minLength: 1, maxLength: 4 }), fc.constantFrom("AND", "OR"),
      async (parts, join) => {
        const query = parts.map((p) => `${p.negate ? "-" : ""}${text(p.clause)}`).join(` ${join} `);
        const match = (p: Found) => (join === "AND" ? parts.every : parts.some).call(parts, (x) => holds(p, x.clause) !== x.negate);
        const expected = people.filter(match).map((p) => p.id).reverse();
        expect(await searchAll(key, query, 4), query).toEqual(expected);
      },
    ), { numRuns: 40 });
  });

  it("never answers a generated query or page token with a 500: 200 or a 422 in the contract's shape", async () => {
    const { key } = await newKey();
    await createCustomer(key, { email: "fuzz@search.example", name: "Fuzz", metadata: { a: "b" } });
    const pieces = ["email", "name", "metadata", "createdAt", "[", "]", '"', "\\", ":", "~", ">", ">=", "<", "-", " AND ", " OR ", " and ", "x", "é", "\u0000", "2026-01-01T00:00:00Z", "%", "'", ";", ")", "("];
    await fc.assert(fc.asyncProperty(fc.array(fc.constantFrom(...pieces), { maxLength: 14 }), fc.string({ maxLength: 30 }), async (parts, token) => {
      const query = parts.join("");
      const response = await call(`/v1/customers/search?query=${encodeURIComponent(query)}&page=${encodeURIComponent(token)}`, { key });
      expect([200, 422], `${query} / ${token}`).toContain(response.status);
      const body = (await response.json()) as { message?: string; data?: unknown[] };
      expect(response.status === 200 ? Array.isArray(body.data) : typeof body.message === "string").toBe(true);
    }), { numRuns: 150 });
  });
});
