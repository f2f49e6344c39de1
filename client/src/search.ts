// A query builder for `customers.search()`: every value is quoted and escaped here, so no caller assembles a search
// string by hand (a value with a quote in it can never change the query's meaning).
//
//   import { q } from "vatly-customers-client";
//   vatly.customers.search(q.and(q.email.contains("acme"), q.metadata("plan").is("pro"), q.not(q.name.is("Test"))))

/** A clause or a combination of them, as the API reads it. */
export class SearchQuery {
  /** `join`: how its clauses are joined, once there are several (a query joins them one way only). */
  constructor(readonly text: string, readonly clauses = 1, readonly join?: "AND" | "OR") {}
  toString() {
    return this.text;
  }
}

/** A value in double quotes, with `"` and `\` escaped. */
export const quote = (value: string) => `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;

const clause = (field: string, op: string, value: string) => new SearchQuery(`${field}${op}${quote(value)}`);
const time = (t: Date | string) => (t instanceof Date ? t.toISOString() : t);
const text = (field: "email" | "name") => ({
  /** Exact: an email in any case, a name as written (in either Unicode normalization form). */
  is: (value: string) => clause(field, ":", value),
  /** Contains, in any case (at least 3 characters). */
  contains: (value: string) => clause(field, "~", value),
});
const join = (word: "AND" | "OR", parts: SearchQuery[]) => {
  if (parts.some((p) => p.join !== undefined && p.join !== word)) throw new Error("The search language cannot mix AND and OR in one query");
  const clauses = parts.reduce((n, p) => n + p.clauses, 0);
  // One clause is joined no way at all: it combines with either join later.
  return new SearchQuery(parts.map((p) => p.text).join(` ${word} `), clauses, clauses > 1 ? word : undefined);
};

export const q = {
  email: text("email"),
  name: text("name"),
  metadata: (key: string) => ({ is: (value: string) => new SearchQuery(`metadata[${quote(key)}]:${quote(value)}`) }),
  createdAt: {
    after: (t: Date | string) => clause("createdAt", ">", time(t)),
    atOrAfter: (t: Date | string) => clause("createdAt", ">=", time(t)),
    before: (t: Date | string) => clause("createdAt", "<", time(t)),
    atOrBefore: (t: Date | string) => clause("createdAt", "<=", time(t)),
  },
  /** The clause negated (one clause only, as the language has it). */
  not: (c: SearchQuery) => {
    if (c.clauses !== 1 || c.text.startsWith("-")) throw new Error("Only a single clause can be negated");
    return new SearchQuery(`-${c.text}`);
  },
  and: (...parts: SearchQuery[]) => join("AND", parts),
  or: (...parts: SearchQuery[]) => join("OR", parts),
};
