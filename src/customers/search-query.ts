// The customer search language (Stripe's grammar, Vatly's field names), parsed by a small recursive-descent parser
// into clauses, each checked against the fields it may name. Nothing here builds SQL: the repository turns clauses
// into statements with bound parameters. Every error says what was expected and at which character (1-based).
//
//   query  := clause (join clause)*          join := AND | OR (any case; one kind per query), at most 10 clauses
//   clause := ["-"] field op value            value := "..." with \" and \\ escapes
//   field  := email | name | createdAt | metadata["<key>"]
//   op     := ":" (exact) | "~" (substring, 3+ characters: email, name) | > >= < <= (createdAt)
//   a createdAt value: an ISO 8601 time, a date (midnight UTC), or unix seconds (also unquoted, as Stripe writes them)

export type Field = "email" | "name" | "createdAt" | "metadata";
export type Op = ":" | "~" | ">" | ">=" | "<" | "<=";

export interface Clause {
  negate: boolean;
  field: Field;
  /** The metadata key (metadata clauses only). */
  key?: string;
  op: Op;
  /** The value as given; for createdAt, the time as epoch milliseconds in `time`. */
  value: string;
  time?: number;
}

export interface SearchQuery {
  join: "AND" | "OR";
  clauses: Clause[];
}

export const MAX_CLAUSES = 10;
const MIN_SUBSTRING = 3;
/** ISO 8601 date-time: a date, a time to the minute or more, and a zone (Z or an offset). */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** A date alone: midnight UTC of that day. */
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export class SearchSyntaxError extends Error {}

/** What each field takes, checked once a clause is read; `fail` names the operator's or the value's position. */
function checkClause(c: Clause, fail: (message: string, at: "op" | "value") => never): void {
  const { field, op, value } = c;
  if (field === "createdAt") {
    if (op === ":" || op === "~") fail(`createdAt takes >, >=, < or <=, not ${op}`, "op");
    const time = /^\d{1,12}$/.test(value) ? Number(value) * 1000 : DATE.test(value) ? Date.parse(`${value}T00:00:00Z`) : ISO_8601.test(value) ? Date.parse(value) : NaN;
    if (Number.isNaN(time)) fail(`Expected an ISO 8601 time ("2026-01-01T00:00:00Z"), a date ("2026-01-01", midnight UTC) or unix seconds for createdAt`, "value");
    c.time = time;
  } else if (op !== ":" && op !== "~") {
    fail(`${field === "metadata" ? 'metadata["key"]' : field} takes : or ~, not ${op}`, "op");
  } else if (op === "~" && field === "metadata") {
    fail('metadata["key"] takes : (an exact value), not ~', "op");
  } else if (op === ":" && value === "" && field !== "metadata") {
    fail(`${field}:"" matches nobody: give the ${field} to find`, "value");
  } else if (op === "~" && [...value].length < MIN_SUBSTRING) {
    fail(`A substring search (~) needs at least ${MIN_SUBSTRING} characters`, "value");
  }
}

/** Parses a search query, or throws SearchSyntaxError with what is wrong and where. */
export function parseSearchQuery(input: string): SearchQuery {
  let i = 0;
  const at = (pos = i) => `at character ${pos + 1}`;
  const fail = (message: string, pos = i): never => {
    throw new SearchSyntaxError(`${message} ${at(pos)}.`);
  };
  const space = () => void (i += /^\s*/.exec(input.slice(i))![0].length);

  const string = (what: string): string => {
    if (input[i] !== '"') fail(`Expected ${what} in double quotes`);
    const start = i++;
    let out = "";
    while (i < input.length && input[i] !== '"') {
      if (input[i] === "\\") {
        const next = input[i + 1];
        if (next !== '"' && next !== "\\") fail('Expected \\" or \\\\ after a backslash', i);
        out += next;
        i += 2;
      } else {
        out += input[i++];
      }
    }
    if (i >= input.length) fail("Expected a closing double quote for the value that starts", start);
    i++;
    return out;
  };

  const clause = (): Clause => {
    space();
    if (input[i] === "(") fail("Parentheses are not supported: join clauses with AND or with OR, not both");
    if (/^NOT\s/i.test(input.slice(i))) fail('NOT is written as a leading "-", as in -email~"acme"');
    const negate = input[i] === "-";
    if (negate) i++;
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(input.slice(i))?.[0];
    if (!name) fail('Expected a field (email, name, createdAt or metadata["key"])');
    const fieldAt = i;
    i += name!.length;
    if (!["email", "name", "createdAt", "metadata"].includes(name!)) {
      fail(`Unknown field "${name}": search by email, name, createdAt or metadata["key"]`, fieldAt);
    }
    const field = name as Field;
    let key: string | undefined;
    if (field === "metadata") {
      if (input[i] !== "[") fail('Expected ["key"] after metadata');
      i++;
      key = string("the metadata key");
      if (input[i] !== "]") fail("Expected ] after the metadata key");
      i++;
    }
    const opAt = i;
    const op = ([">=", "<=", ":", "~", ">", "<"] as const).find((o) => input.startsWith(o, i));
    if (!op) fail("Expected an operator (: ~ > >= < <=)");
    i += op!.length;
    const valueAt = i;
    // createdAt also takes Stripe's unix seconds unquoted: createdAt>1767225600.
    const seconds = field === "createdAt" ? /^\d{1,12}(?![\w"])/.exec(input.slice(i))?.[0] : undefined;
    if (seconds) i += seconds.length;
    const value = seconds ?? string("a value");
    const c: Clause = { negate, field, ...(key === undefined ? {} : { key }), op: op!, value };
    checkClause(c, (message, which) => fail(message, which === "op" ? opAt : valueAt));
    return c;
  };

  space();
  if (i >= input.length) throw new SearchSyntaxError("The query must not be empty.");
  const clauses = [clause()];
  let join: "AND" | "OR" | undefined;
  for (;;) {
    space();
    if (i >= input.length) break;
    const word = /^(AND|OR)(?=\s|$)/i.exec(input.slice(i))?.[1];
    if (!word) fail("Expected AND, OR or the end of the query");
    const upper = word!.toUpperCase() as "AND" | "OR";
    if (join && upper !== join) fail("AND and OR cannot be mixed in one query");
    join = upper;
    i += word!.length;
    if (clauses.length === MAX_CLAUSES) fail(`A query has at most ${MAX_CLAUSES} clauses`);
    clauses.push(clause());
  }
  return { join: join ?? "AND", clauses };
}
