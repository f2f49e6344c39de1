// The list envelope every collection shares (customers, webhook endpoints, webhook events): the query (limit and
// id cursors, plus a collection's own filters), and the page's links.
import * as v from "valibot";
import { failValidation } from "./errors";
import { link, LinkSchema, type Link } from "./links";

export const DEFAULT_LIMIT = 10;
const LIMIT_MESSAGE = "The limit parameter must be an integer between 1 and 100.";
const COMBINED_MESSAGE = "The startingAfter and endingBefore parameters cannot be combined.";

/** Query values arrive as a string, or an array when a parameter is repeated. */
export const single = (name: string) =>
  v.string((issue) => (Array.isArray(issue.input) ? `The ${name} parameter must be a single value, given once.` : `The ${name} parameter must be a string.`));

/** The query schema of a collection whose ids match `id` (described as e.g. "a customer id (cus_...)"), with its filters. */
export function pageQuerySchema<F extends v.ObjectEntries>(id: RegExp, idDescription: string, filters: F) {
  const cursor = (name: string) => v.optional(v.pipe(single(name), v.regex(id, `The ${name} parameter must be ${idDescription}.`)));
  return v.pipe(
    v.object({
      limit: v.optional(
        v.pipe(
          single("limit"),
          v.regex(/^\d{1,9}$/, LIMIT_MESSAGE),
          v.transform(Number),
          v.number(),
          v.integer(),
          v.minValue(1, LIMIT_MESSAGE),
          v.maxValue(100, LIMIT_MESSAGE),
          v.metadata({ default: DEFAULT_LIMIT }),
        ),
      ),
      startingAfter: cursor("startingAfter"),
      endingBefore: cursor("endingBefore"),
      ...filters,
    }),
    // Named on both parameters: either one alone would be valid.
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed || !dataset.value.startingAfter || !dataset.value.endingBefore) return;
      for (const key of ["startingAfter", "endingBefore"] as const) {
        addIssue({ message: COMBINED_MESSAGE, path: [{ type: "object", origin: "value", input: dataset.value, key, value: dataset.value[key] }] });
      }
    }),
  );
}

export interface PageQuery {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
}

/**
 * Parses a list query as a Laravel API (Vatly's) reads it: an empty parameter (`?startingAfter=`) counts as absent,
 * and PHP's array notation (`?limit[]=5`, `?limit[a]=5`) gives the parameter a list, which is refused like a repeat.
 */
export function parsePageQuery<S extends v.GenericSchema<unknown, Partial<PageQuery>>>(
  schema: S,
  query: Record<string, unknown>,
): Omit<v.InferOutput<S>, "limit"> & { limit: number } {
  const given: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(query)) {
    const list = /^([^[\]]+)\[[^\]]*\]$/.exec(name);
    if (list) given[list[1]!] = [value].flat();
    else if (value !== "") given[name] = value;
  }
  const parsed = v.safeParse(schema, given, { abortPipeEarly: true });
  if (!parsed.success) failValidation(parsed.issues);
  return { ...parsed.output, limit: parsed.output.limit ?? DEFAULT_LIMIT };
}

/** The cursor parameter a page was asked with, if any. */
const cursorOf = (q: PageQuery) => (q.startingAfter ? "startingAfter" : q.endingBefore ? "endingBefore" : null);

/** 422 on the cursor parameter when it names nothing of the caller's (it never says whether it exists elsewhere). */
export function requireCursor(q: PageQuery, exists: boolean, noun: string): void {
  const name = cursorOf(q);
  if (name && !exists) failValidation({ [name]: [`No ${noun} with the id given as ${name} exists.`] });
}

/**
 * `self`, `next` and `prev` of a page. `filters` is the query string of the collection's filters (kept on every
 * link); `hasMore` says whether rows lie beyond the page in the direction of travel.
 */
export function pageLinks(collectionUrl: string, filters: string, q: PageQuery, ids: string[], hasMore: boolean) {
  const page = (cursor: string | null): Link => link(`${collectionUrl}?${filters ? `${filters}&` : ""}${cursor ? `${cursor}&` : ""}limit=${q.limit}`);
  const name = cursorOf(q);
  const first = ids[0];
  const last = ids.at(-1);
  // Behind the page lies the cursor item itself; beyond it, whatever `hasMore` says.
  const older = q.endingBefore ? true : hasMore;
  const newer = q.endingBefore ? hasMore : Boolean(q.startingAfter);
  return {
    self: page(name && `${name}=${q[name]}`),
    next: older && last ? page(`startingAfter=${last}`) : null,
    prev: newer && first ? page(`endingBefore=${first}`) : null,
  };
}

/** The list envelope of a collection (for the OpenAPI document and the tests): at most `max` items per page. */
export const listSchema = <T extends v.GenericSchema>(item: T, max = 100) =>
  v.object({
    data: v.pipe(v.array(item), v.maxLength(max)),
    count: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(max)),
    links: v.object({ self: LinkSchema, next: v.nullable(LinkSchema), prev: v.nullable(LinkSchema) }),
  });
