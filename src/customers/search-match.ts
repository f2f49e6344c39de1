// What a search clause means, decided on a customer row in the Worker, and the FTS5 expression that finds the
// candidates for it. The index (`detail = none`) knows which trigrams a customer holds, not where or in which field,
// so its match is a superset; `holds` is the exact answer. Case is folded the way the index folds it: code point by
// code point, each to its lower case when that is one code point (the Kelvin sign to k, Å to å, Σ and ς to σ).
import type { CustomerRow } from "./customer";
import type { Clause, SearchQuery } from "./search-query";

/** The bounds the index wraps every column's text in, and what separates a metadata key from its value. */
const EDGE = "\u001f";
const PAIR = "\u001e";

/** Simple case folding, per code point, as FTS5's trigram tokenizer (`case_sensitive 0`) applies it. */
export function fold(text: string): string {
  let out = "";
  for (const c of text) {
    const lower = c === "ς" ? "σ" : c.toLowerCase();
    out += [...lower].length === 1 ? lower : c;
  }
  return out;
}

/** A text compared in one normalization form (NFC), folded: what `~` compares. */
const comparable = (text: string) => fold(text.normalize("NFC"));

/** The forms a typed value may be stored in: as typed, composed (NFC) and decomposed (NFD). */
const forms = (value: string) => [...new Set([value, value.normalize("NFC"), value.normalize("NFD")])];

/** A createdAt bound as the stored text compares (whole seconds, `YYYY-MM-DDTHH:MM:SSZ`), for an operator. */
export function secondsBound(time: number, op: Clause["op"]): string {
  const seconds = op === ">" || op === "<=" ? Math.floor(time / 1000) : Math.ceil(time / 1000);
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const compare = (a: string, op: Clause["op"], b: string) => (op === ">" ? a > b : op === ">=" ? a >= b : op === "<" ? a < b : a <= b);

/** Whether a customer satisfies a clause, exactly (negation included). */
function holdsClause(row: CustomerRow, c: Clause): boolean {
  let yes: boolean;
  if (c.field === "createdAt") yes = compare(row.createdAt, c.op, secondsBound(c.time!, c.op));
  else if (c.field === "metadata") {
    const metadata = JSON.parse(row.metadata) as Record<string, string>;
    yes = Object.hasOwn(metadata, c.key!) && metadata[c.key!] === c.value;
  }
  else if (c.field === "email" && c.op === ":") yes = row.email.toLowerCase() === c.value.toLowerCase();
  else if (c.op === ":") yes = row.name !== null && forms(c.value).includes(row.name);
  else yes = comparable(c.field === "email" ? row.email : row.name ?? "").includes(comparable(c.value));
  return yes !== c.negate;
}

/** Whether a customer is a match of the query. */
export const holds = (row: CustomerRow, query: SearchQuery) =>
  query.join === "AND" ? query.clauses.every((c) => holdsClause(row, c)) : query.clauses.some((c) => holdsClause(row, c));

/** The trigrams of a text, as the index holds them (the tokenizer passes over U+0000), each an FTS5 string: `"abc"`. */
function trigramTerms(text: string): string[] {
  const chars = [...text.replaceAll("\u0000", "")];
  const terms = chars.slice(0, -2).map((_, i) => `"${chars.slice(i, i + 3).join("").replaceAll('"', '""')}"`);
  return [...new Set(terms)];
}

/** Every trigram of the text, in any of its forms: `(t1 AND t2 ...) OR (...)`; null if a form has none. */
function allOf(texts: string[]): string | null {
  const each = [...new Set(texts)].map(trigramTerms);
  return each.every((terms) => terms.length > 0) ? `(${each.map((terms) => `(${terms.join(" AND ")})`).join(" OR ")})` : null;
}

/**
 * The FTS5 expression of a positive clause's candidates, or null for one the index cannot narrow: createdAt, or a
 * value with fewer than three characters the index holds (U+0000 aside, or composed shorter).
 */
export function matchOf(c: Clause): string | null {
  if (c.field === "createdAt") return null;
  if (c.field === "metadata") return allOf(forms(c.key!).map((k) => `${EDGE}${k}${PAIR}${c.value}${EDGE}`));
  if (c.op === ":") return allOf(forms(c.value).map((v) => `${EDGE}${v}${EDGE}`));
  return allOf(forms(c.value));
}

/**
 * Where a query's candidates come from: `walk`, every customer of the account (a query with nothing positive the
 * indexes can answer); `createdAt`, the createdAt index (positive clauses that are createdAt ranges alone, joined by
 * AND); `index`, the FTS5 expression `match` (null: none) and, in an OR, each createdAt range of `ranges` from its
 * index, merged newest first.
 */
export type Candidates = { from: "walk" } | { from: "createdAt" } | { from: "index"; match: string | null; ranges: Clause[] };

export function candidatesOf(query: SearchQuery): Candidates {
  const positives = query.clauses.filter((c) => !c.negate);
  const matches = positives.map(matchOf);
  if (query.join === "AND") {
    const own = matches.filter((m): m is string => m !== null);
    if (own.length > 0) return { from: "index", match: own.join(" AND "), ranges: [] };
    return positives.some((c) => c.field === "createdAt") ? { from: "createdAt" } : { from: "walk" };
  }
  // OR: every clause positive, each one narrowed by the FTS5 index or the createdAt one; else the account is walked.
  const narrowed = positives.length === query.clauses.length && positives.every((c, i) => c.field === "createdAt" || matches[i] !== null);
  if (!narrowed) return { from: "walk" };
  const text = matches.filter((m): m is string => m !== null);
  return { from: "index", match: text.length ? `(${text.join(" OR ")})` : null, ranges: positives.filter((c) => c.field === "createdAt") };
}
