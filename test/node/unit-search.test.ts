// The search language and its exact check, and the client's query builder, as plain functions in Node: fast enough
// for `npm run mutation` (StrykerJS) to run them against every mutant of these files.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { q } from "../../client/src/search";
import { candidatesOf, fold, holds, matchOf, secondsBound } from "../../src/customers/search-match";
import { parseSearchQuery, SearchSyntaxError } from "../../src/customers/search-query";

const error = (text: string) => {
  try {
    parseSearchQuery(text);
  } catch (err) {
    expect(err).toBeInstanceOf(SearchSyntaxError);
    return (err as Error).message;
  }
  throw new Error(`parsed: ${text}`);
};

describe("parseSearchQuery", () => {
  it("reads every clause kind, negation, escapes and both joins", () => {
    expect(parseSearchQuery(' email:"a@b.c" ')).toEqual({ join: "AND", clauses: [{ negate: false, field: "email", op: ":", value: "a@b.c" }] });
    expect(parseSearchQuery('-name~"a\\"b\\\\c" or metadata["k\\"1"]:"v"')).toEqual({
      join: "OR",
      clauses: [{ negate: true, field: "name", op: "~", value: 'a"b\\c' }, { negate: false, field: "metadata", key: 'k"1', op: ":", value: "v" }],
    });
    const range = parseSearchQuery('createdAt>="2026-01-02T03:04:05.5Z" AND createdAt<"2026-01-03" AND createdAt<=1767225600');
    expect(range.join).toBe("AND");
    expect(range.clauses.map((c) => [c.op, c.time])).toEqual([[">=", Date.parse("2026-01-02T03:04:05.500Z")], ["<", Date.parse("2026-01-03T00:00:00Z")], ["<=", 1767225600000]]);
    expect(parseSearchQuery('createdAt>"1767225600"').clauses[0]!.time).toBe(1767225600000);
    expect(parseSearchQuery(Array.from({ length: 10 }, (_, i) => `name:"n${i}"`).join(" AND ")).clauses).toHaveLength(10);
  });

  it("says what is wrong and at which character", () => {
    expect(error("")).toBe("The query must not be empty.");
    expect(error("  ")).toBe("The query must not be empty.");
    expect(error('phone:"1"')).toBe('Unknown field "phone": search by email, name, createdAt or metadata["key"] at character 1.');
    expect(error("-")).toBe('Expected a field (email, name, createdAt or metadata["key"]) at character 2.');
    expect(error('email "x"')).toBe("Expected an operator (: ~ > >= < <=) at character 6.");
    expect(error("email:x")).toBe("Expected a value in double quotes at character 7.");
    expect(error('email:"x')).toBe("Expected a closing double quote for the value that starts at character 7.");
    expect(error('email:"\\x"')).toBe('Expected \\" or \\\\ after a backslash at character 8.');
    expect(error('metadata:"x"')).toBe('Expected ["key"] after metadata at character 9.');
    expect(error('metadata["k":"x"')).toBe("Expected ] after the metadata key at character 13.");
    expect(error('metadata[k]:"x"')).toBe("Expected the metadata key in double quotes at character 10.");
    expect(error('email:"a" name:"b"')).toBe("Expected AND, OR or the end of the query at character 11.");
    expect(error('email:"a" AND name:"b" OR name:"c"')).toBe("AND and OR cannot be mixed in one query at character 24.");
    expect(error(Array.from({ length: 11 }, (_, i) => `name:"n${i}"`).join(" OR "))).toBe("A query has at most 10 clauses at character 130.");
    expect(error('email~"ab"')).toBe("A substring search (~) needs at least 3 characters at character 7.");
    expect(error('name~"🎉🎉"')).toMatch(/at least 3 characters/);
    expect(parseSearchQuery('name~"🎉🎉🎉"').clauses[0]!.value).toBe("🎉🎉🎉");
    expect(error('email:""')).toBe('email:"" matches nobody: give the email to find at character 7.');
    expect(error('email>"x"')).toBe("email takes : or ~, not > at character 6.");
    expect(error('metadata["k"]<"x"')).toBe('metadata["key"] takes : or ~, not < at character 14.');
    expect(error('metadata["k"]~"xyz"')).toBe('metadata["key"] takes : (an exact value), not ~ at character 14.');
    expect(error('createdAt:"2026-01-01"')).toBe("createdAt takes >, >=, < or <=, not : at character 10.");
    expect(error('createdAt>"soon"')).toMatch(/^Expected an ISO 8601 time .* at character 11\.$/);
    expect(error('createdAt>"2026-01-01T00:00"')).toMatch(/ISO 8601/);
    expect(error('NOT email:"x"')).toBe('NOT is written as a leading "-", as in -email~"acme" at character 1.');
    expect(error('(email:"x")')).toBe("Parentheses are not supported: join clauses with AND or with OR, not both at character 1.");
    expect(parseSearchQuery('metadata["k"]:""').clauses[0]!.value).toBe("");
  });
});

describe("the exact check", () => {
  const row = { id: "cus_1", testmode: true, email: "Ann.Lee@Example.com", name: "Åsa Kelvin\u212a", metadata: '{"plan":"pro","n":"1"}', createdAt: "2026-01-02T03:04:05Z", etag: "e" };
  const one = (text: string) => holds(row, parseSearchQuery(text));

  it("decides every clause kind exactly, negation and both joins included", () => {
    expect(one('email:"ann.lee@example.com"')).toBe(true);
    expect(one('email:"ann.lee@example.co"')).toBe(false);
    expect(one('email~"LEE@EX"')).toBe(true);
    expect(one('email~"lee@ez"')).toBe(false);
    expect(one('name:"Åsa Kelvin\u212a"')).toBe(true);
    expect(one('name:"åsa kelvin\u212a"')).toBe(false); // exact, not folded
    expect(one('name~"ÅSA KELVINK"')).toBe(true); // the Kelvin sign folds to k
    expect(one('name~"A\u030asa"')).toBe(true); // typed decomposed
    expect(one('metadata["plan"]:"pro"')).toBe(true);
    expect(one('metadata["plan"]:"Pro"')).toBe(false);
    expect(one('metadata["toString"]:"x"')).toBe(false);
    expect(one('createdAt>="2026-01-02T03:04:05Z"')).toBe(true);
    expect(one('createdAt>"2026-01-02T03:04:05Z"')).toBe(false);
    expect(one('createdAt<="2026-01-02T03:04:05Z"')).toBe(true);
    expect(one('createdAt<"2026-01-02T03:04:05Z"')).toBe(false);
    expect(one('-email~"zzz"')).toBe(true);
    expect(one('-email~"ann"')).toBe(false);
    expect(one('email~"ann" AND name~"zzz"')).toBe(false);
    expect(one('email~"ann" OR name~"zzz"')).toBe(true);
    expect(one('email~"qqq" OR name~"zzz"')).toBe(false);
    expect(holds({ ...row, name: null }, parseSearchQuery('-name:"x"'))).toBe(true);
    expect(holds({ ...row, name: null }, parseSearchQuery('name~"nul"'))).toBe(false);
  });

  it("folds as the index does, and rounds createdAt bounds to the stored whole seconds", () => {
    expect(fold("ÅSA Ива ÉCO ΑΘΗ \u212a ς İ")).toBe("åsa ива éco αθη k σ İ");
    expect(secondsBound(Date.parse("2026-01-01T00:00:00.5Z"), ">")).toBe("2026-01-01T00:00:00Z");
    expect(secondsBound(Date.parse("2026-01-01T00:00:00.5Z"), "<=")).toBe("2026-01-01T00:00:00Z");
    expect(secondsBound(Date.parse("2026-01-01T00:00:00.5Z"), ">=")).toBe("2026-01-01T00:00:01Z");
    expect(secondsBound(Date.parse("2026-01-01T00:00:00.5Z"), "<")).toBe("2026-01-01T00:00:01Z");
    expect(secondsBound(Date.parse("2026-01-01T00:00:00Z"), "<")).toBe("2026-01-01T00:00:00Z");
  });

  it("asks the index for every trigram of a value, in each normalization form; nothing for what it cannot narrow", () => {
    expect(matchOf(parseSearchQuery('email~"abcd"').clauses[0]!)).toBe('(("abc" AND "bcd"))');
    expect(matchOf(parseSearchQuery('name:"Al"').clauses[0]!)).toBe('(("\u001fAl" AND "Al\u001f"))');
    expect(matchOf(parseSearchQuery('metadata["k"]:"v"').clauses[0]!)).toBe('(("\u001fk\u001e" AND "k\u001ev" AND "\u001ev\u001f"))');
    expect(matchOf(parseSearchQuery('name~"a""b"'.replace('""', '\\"')).clauses[0]!)).toBe('(("a""b"))');
    expect(matchOf(parseSearchQuery('name~"é12"').clauses[0]!)).toBe('(("é12") OR ("e\u03011" AND "\u030112"))');
    expect(matchOf(parseSearchQuery('createdAt>"2026-01-01"').clauses[0]!)).toBeNull();
    expect(matchOf(parseSearchQuery('name~"a\u0000bc"'.replace("\\u0000", "\u0000")).clauses[0]!)).toBe('(("abc"))');
    expect(candidatesOf(parseSearchQuery('email~"abc" AND -name~"xyz"'))).toEqual({ from: "index", match: '(("abc"))', ranges: [] });
    expect(candidatesOf(parseSearchQuery('email~"abc" AND name~"xyz"'))).toEqual({ from: "index", match: '(("abc")) AND (("xyz"))', ranges: [] });
    expect(candidatesOf(parseSearchQuery('email~"abc" OR name~"xyz"'))).toEqual({ from: "index", match: '((("abc")) OR (("xyz")))', ranges: [] });
    expect(candidatesOf(parseSearchQuery('email~"abc" OR -name~"xyz"'))).toEqual({ from: "walk" });
    const or = parseSearchQuery('email~"abc" OR createdAt>"2026-01-01"');
    expect(candidatesOf(or)).toEqual({ from: "index", match: '((("abc")))', ranges: [or.clauses[1]] });
    expect(candidatesOf(parseSearchQuery('createdAt<"2020-01-01" OR createdAt>"2026-01-01"'))).toMatchObject({ from: "index", match: null });
    expect(candidatesOf(parseSearchQuery('name~"a\u0000b" OR createdAt>"2026-01-01"'))).toEqual({ from: "walk" }); // 2 characters the index holds
    expect(candidatesOf(parseSearchQuery('-email~"abc"'))).toEqual({ from: "walk" });
    expect(candidatesOf(parseSearchQuery('createdAt>"2026-01-01" AND -email~"abc"'))).toEqual({ from: "createdAt" });
  });
});

describe("the client's q builder", () => {
  it("quotes and escapes every value and key, joins one way only, negates one clause", () => {
    expect(String(q.email.is('a"b\\c'))).toBe('email:"a\\"b\\\\c"');
    expect(String(q.name.contains("smi"))).toBe('name~"smi"');
    expect(String(q.metadata('k"\\').is("v"))).toBe('metadata["k\\"\\\\"]:"v"');
    expect(String(q.createdAt.after(new Date("2026-01-01T00:00:00Z")))).toBe('createdAt>"2026-01-01T00:00:00.000Z"');
    expect(String(q.createdAt.atOrAfter("2026-01-01"))).toBe('createdAt>="2026-01-01"');
    expect(String(q.createdAt.before("x"))).toBe('createdAt<"x"');
    expect(String(q.createdAt.atOrBefore("x"))).toBe('createdAt<="x"');
    const both = q.and(q.email.is("a"), q.or(q.name.is("b")));
    expect(String(both)).toBe('email:"a" AND name:"b"');
    expect(both.clauses).toBe(2);
    expect(() => q.or(q.and(q.email.is("a"), q.name.is("b")), q.name.is("c"))).toThrow(/cannot mix AND and OR/);
    expect(String(q.not(q.email.is("a")))).toBe('-email:"a"');
    expect(() => q.not(q.not(q.email.is("a")))).toThrow(/single clause/);
    expect(() => q.not(q.and(q.email.is("a"), q.name.is("b")))).toThrow(/single clause/);
    // Whatever the values, the API reads back exactly the clauses built.
    const built = q.or(q.email.contains('" OR email~"'), q.metadata('x"] AND name:"').is("\\"));
    expect(parseSearchQuery(String(built)).clauses.map((c) => [c.field, c.key, c.value])).toEqual([["email", undefined, '" OR email~"'], ["metadata", 'x"] AND name:"', "\\"]]);
  });
});

describe("the query parameter's pattern in the OpenAPI document", () => {
  it("accepts what the parser accepts and refuses what it always refuses", async () => {
    const { QUERY_PATTERN } = await import("../../src/customers/search");
    const pattern = new RegExp(QUERY_PATTERN);
    const good = ['email:"a@b.c"', '-name~"a\\"b" OR metadata["k"]:"v"', 'createdAt>1767225600 and createdAt<"2026-01-03"', Array.from({ length: 10 }, (_, i) => `name:"n${i}"`).join(" AND ")];
    for (const text of good) {
      expect(() => parseSearchQuery(text), text).not.toThrow();
      expect(pattern.test(text), text).toBe(true);
    }
    // Each always refused before the pattern said so (schemathesis sent them): an empty exact value, a short substring,
    // a time out of range or no time at all, createdAt with ":".
    const refusedNow = ['email:""', 'name:""', 'name~"ab"', 'createdAt>"9134-98-37"', 'createdAt>"soon"', 'createdAt:"2026-01-01"', 'createdAt>""'];
    for (const text of refusedNow) expect(pattern.test(text), text).toBe(false);
    // Generated from the pattern itself: whatever it admits, the parser takes.
    fc.assert(fc.property(fc.stringMatching(pattern), (text) => {
      expect(() => parseSearchQuery(text), JSON.stringify(text)).not.toThrow();
    }), { numRuns: 500 });
    const bad = ["", 'phone:"1"', "email:bare", 'email:"a" name:"b"', 'email:"a" AND name:"b" OR name:"c"', Array.from({ length: 11 }, (_, i) => `name:"n${i}"`).join(" AND "), 'NOT email:"x"', '(email:"x")'];
    for (const text of bad) {
      expect(() => parseSearchQuery(text), text).toThrow();
      expect(pattern.test(text), text).toBe(false);
    }
  });
});

describe("pinned by npm run mutation (search)", () => {
  const row = { id: "cus_1", testmode: true, email: "a@b.example", name: null, metadata: "{}", createdAt: "2026-01-02T03:04:05Z", etag: "e" };
  it("compares createdAt strictly or not, either side of the stored second, for each operator", () => {
    const at = (text: string) => holds(row, parseSearchQuery(text));
    const before = '"2026-01-02T03:04:04Z"';
    const after = '"2026-01-02T03:04:06Z"';
    expect([at(`createdAt>${before}`), at(`createdAt>${after}`)]).toEqual([true, false]);
    expect([at(`createdAt>=${before}`), at(`createdAt>=${after}`)]).toEqual([true, false]);
    expect([at(`createdAt<${before}`), at(`createdAt<${after}`)]).toEqual([false, true]);
    expect([at(`createdAt<=${before}`), at(`createdAt<=${after}`)]).toEqual([false, true]);
  });

  it("a customer without a name holds no name substring; a value a form cannot narrow is not asked of the index", () => {
    expect(holds(row, parseSearchQuery('name~"str"'))).toBe(false);
    expect(holds(row, parseSearchQuery('name~"her"'))).toBe(false);
    // "e" + combining accent + "x": three code points, two once composed: no trigram in that form.
    const short = parseSearchQuery('name~"e\u0301x"');
    expect(matchOf(short.clauses[0]!)).toBeNull();
    expect(candidatesOf(short)).toEqual({ from: "walk" });
    expect(candidatesOf(parseSearchQuery('name~"e\u0301x" AND createdAt>"2026-01-01"'))).toEqual({ from: "createdAt" });
  });
});
