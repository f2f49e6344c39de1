// What the stand-in refuses, as Cloudflare's API answers it (the envelope with `success: false` and coded errors).
// Each refusal has a test in test/node/standin.test.ts, so the stand-in cannot drift into accepting it.
import { splitLikeD1, statements } from "./sql";

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: number, message: string) {
    super(message);
  }
}

export const envelope = (result: unknown, result_info?: object) => ({ success: true, errors: [], messages: [], result, ...(result_info ? { result_info } : {}) });

/** D1's limits on one statement: 100,000 bytes of SQL. */
export const MAX_STATEMENT_BYTES = 100_000;
/** D1's limit on bound parameters per statement. */
export const MAX_PARAMS = 100;

export function checkStatement(sql: string) {
  if (Buffer.byteLength(sql, "utf8") > MAX_STATEMENT_BYTES) throw new ApiError(400, 7500, "Statement too long: SQLITE_TOOBIG");
}

/**
 * A `/query` body cut as D1 is reported to cut it: each piece must hold exactly one statement as SQLite reads it
 * (a comment-only piece, #4767; a piece left holding several after a quote in a comment or a CASE ... END; in a
 * trigger, #4713), and params go with a single statement.
 */
export function checkQuery(body: Record<string, unknown>): { sql: string[]; params: unknown[] } {
  if (typeof body.sql !== "string") throw new ApiError(400, 7400, "The request body needs sql, a string.");
  const params = body.params ?? [];
  if (!Array.isArray(params)) throw new ApiError(400, 7400, "params must be an array.");
  const pieces = splitLikeD1(body.sql);
  if (pieces.length === 0) throw new ApiError(400, 7500, "SQL code did not contain a statement.");
  for (const piece of pieces) {
    checkStatement(piece);
    const held = statements(piece).length;
    if (held === 0) throw new ApiError(400, 7500, "SQL code did not contain a statement.");
    if (held > 1) throw new ApiError(400, 7500, "A prepared SQL statement must contain only one statement.");
  }
  if (params.length > 0 && pieces.length > 1) throw new ApiError(400, 7500, "params can only be given with a single statement.");
  if (params.length > MAX_PARAMS) throw new ApiError(400, 7500, `too many SQL variables (at most ${MAX_PARAMS}): SQLITE_ERROR`);
  return { sql: pieces, params };
}

/** Cloudflare's API limit: 1,200 requests in 5 minutes per user. */
export class RateWindow {
  private seen = new Map<string, number[]>();
  constructor(private readonly limit: number, private readonly windowMs: number) {}
  admit(who: string, now = Date.now()): boolean {
    const times = (this.seen.get(who) ?? []).filter((t) => now - t < this.windowMs);
    const admitted = times.length < this.limit;
    if (admitted) times.push(now);
    this.seen.set(who, times);
    return admitted;
  }
}
