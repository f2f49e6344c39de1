// Search at its edges (issue 31): every query the language allows answers 200 or a clear 4xx up to its limits; case
// folds the same way in the index, the query and the check, Unicode-wide; normalization forms, U+0000 and astral
// characters behave like any other; createdAt bounds with fractional seconds; the route refuses other methods.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_CLAUSES } from "../../src/customers/search-query";
import { call, createCustomer, expectError, newKey } from "../helpers";
import { expectIndexMatchesCustomers } from "../search-index";

async function ids(key: string, query: string, limit = 100): Promise<string[]> {
  const response = await call(`/v1/customers/search?query=${encodeURIComponent(query)}&limit=${limit}`, { key });
  expect(response.status, `${query}: ${await response.clone().text()}`).toBe(200);
  return ((await response.json()) as { data: { id: string }[] }).data.map((c) => c.id);
}

describe("search at its edges", () => {
  it("answers an OR and an AND of 10 clauses (6 to 10 failed before: a compound SELECT of more than 5 terms)", async () => {
    const { key } = await newKey();
    const made = [];
    for (let i = 1; i <= 10; i++) made.push((await createCustomer(key, { email: `or${i}@ten.example`, name: `Person ${i}` })).id);
    for (let n = 2; n <= MAX_CLAUSES; n++) {
      const or = Array.from({ length: n }, (_, i) => `name:"Person ${i + 1}"`).join(" OR ");
      expect(await ids(key, or)).toEqual(made.slice(0, n).reverse());
      const and = Array.from({ length: n }, () => 'email~"ten.example"').join(" AND ");
      expect(await ids(key, and)).toEqual([...made].reverse());
    }
  });

  it("folds case Unicode-wide, the same for the index, the query and the check (failed before: only ASCII)", async () => {
    const { key } = await newKey();
    const names = ["åsa lindqvist", "Иван Иванов", "école normale", "αθηνά", "Kelvin Sign \u212a"];
    const made = [];
    for (const [i, name] of names.entries()) made.push((await createCustomer(key, { email: `u${i}@fold.example`, name })).id);
    expect(await ids(key, 'name~"ÅSA"')).toEqual([made[0]]);
    expect(await ids(key, 'name~"ива"')).toEqual([made[1]]);
    expect(await ids(key, 'name~"ÉCO"')).toEqual([made[2]]);
    expect(await ids(key, 'name~"ΑΘΗ"')).toEqual([made[3]]);
    expect(await ids(key, 'name~"n k"')).toEqual([made[4]]); // "Sign \u212a" folds to "sign k"
    expect(await ids(key, 'name~"sign k"')).toEqual([made[4]]);
    expect(await ids(key, 'name~"ÅSAX"')).toEqual([]);
  });

  it("finds a value typed in another normalization form; U+0000 and astral characters are characters like any other", async () => {
    const { key } = await newKey();
    const composed = await createCustomer(key, { email: "nfc@forms.example", name: "Ren\u00e9e Caf\u00e9" });
    const decomposed = await createCustomer(key, { email: "nfd@forms.example", name: "Rene\u0301e Cafe\u0301" });
    for (const typed of ["Ren\u00e9e", "Rene\u0301e", "caf\u00e9", "cafe\u0301"]) {
      expect(await ids(key, `name~"${typed}"`), typed).toEqual([decomposed.id, composed.id]);
    }
    expect(await ids(key, 'name:"Ren\u00e9e Caf\u00e9"')).toEqual([decomposed.id, composed.id]);
    const astral = await createCustomer(key, { email: "astral@forms.example", name: "🎉🎉🎉 party" });
    expect(await ids(key, 'name~"🎉🎉🎉"')).toEqual([astral.id]); // three characters: the minimum counts characters
    await expectError(await call(`/v1/customers/search?query=${encodeURIComponent('name~"🎉🎉"')}`, { key }), 422);
    const nul = await createCustomer(key, { email: "nul@forms.example", name: "before\u0000after" });
    // Found by what follows the U+0000 as well as by what precedes it, whichever clause comes first.
    expect(await ids(key, 'name~"after"')).toEqual([nul.id]);
    expect(await ids(key, 'name~"before"')).toEqual([nul.id]);
    expect(await ids(key, 'name~"e\u0000a" OR name~"after"')).toEqual([nul.id]);
    expect(await ids(key, 'name~"e\u0000a"')).toEqual([nul.id]);
    await expectIndexMatchesCustomers(env.DB);
  });

  it("bounds createdAt with fractional seconds on, and either side of, each operator's boundary", async () => {
    const { key } = await newKey();
    const c = await createCustomer(key, { email: "edge@time.example" });
    const at = Date.parse(c.createdAt);
    const iso = (ms: number) => new Date(ms).toISOString();
    const cases: [string, number, boolean][] = [
      [">", at - 500, true], [">", at, false], [">", at + 500, false],
      [">=", at - 500, true], [">=", at, true], [">=", at + 500, false],
      ["<", at - 500, false], ["<", at, false], ["<", at + 500, true],
      ["<=", at - 500, false], ["<=", at, true], ["<=", at + 500, true],
    ];
    for (const [op, ms, found] of cases) expect(await ids(key, `createdAt${op}"${iso(ms)}"`), `${op} ${iso(ms)}`).toEqual(found ? [c.id] : []);
    // A date alone (midnight UTC) and Stripe's unix seconds, quoted or not, mean the same instants.
    const day = c.createdAt.slice(0, 10);
    const seconds = Math.floor(at / 1000);
    expect(await ids(key, `createdAt>="${day}"`)).toEqual([c.id]);
    expect(await ids(key, `createdAt<"${day}"`)).toEqual([]);
    expect(await ids(key, `createdAt>=${seconds} AND createdAt<=${seconds}`)).toEqual([c.id]);
    expect(await ids(key, `createdAt>"${seconds}"`)).toEqual([]);
  });

  it("never answers a 500 for generated queries up to the limits: 10 clauses, 2,000 characters, AND, OR, negation", async () => {
    const { key } = await newKey();
    await createCustomer(key, { email: "gen@limits.example", name: "Gen Limits", metadata: { k: "v" } });
    const value = fc.string({ unit: "grapheme", minLength: 3, maxLength: 150 }).map((s) => s.replaceAll("\\", "\\\\").replaceAll('"', '\\"'));
    const clause = fc.tuple(fc.boolean(), fc.constantFrom('email~', 'name~', 'email:', 'name:', 'metadata["k"]:', 'metadata["\\""]:', 'createdAt>'), value)
      .map(([neg, head, v]) => `${neg ? "-" : ""}${head}"${head.startsWith("createdAt") ? "2026-01-01T00:00:00.5Z" : v}"`);
    await fc.assert(fc.asyncProperty(fc.array(clause, { minLength: 1, maxLength: MAX_CLAUSES }), fc.constantFrom(" AND ", " OR "), async (clauses, join) => {
      const query = clauses.join(join).slice(0, 2000);
      const response = await call(`/v1/customers/search?query=${encodeURIComponent(query)}&limit=100`, { key });
      expect([200, 422], query).toContain(response.status);
    }), { numRuns: 60 });
  });

  it("answers PATCH, DELETE and POST on /v1/customers/search with 405 and Allow (they fell to the :id routes)", async () => {
    const { key } = await newKey();
    for (const method of ["PATCH", "DELETE", "POST", "PUT"]) {
      const response = await call("/v1/customers/search", { key, method, ...(method === "DELETE" ? {} : { json: {} }) });
      await expectError(response, 405);
      expect(response.headers.get("Allow")).toBe("GET, HEAD");
    }
  });
});
