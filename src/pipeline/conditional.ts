// Conditional requests (RFC 9110): strong ETags on single customers, If-Match on writes, If-None-Match on reads.
import type { ApiRequest } from "../env";
import { fail } from "../lib/errors";

export const etagHeader = (etag: string) => `"${etag}"`;

/** The entity tags of a header, or "*". Weak tags are kept with their `W/` so strong comparison can skip them. */
function entityTags(value: string): string[] | "*" {
  if (value.trim() === "*") return "*";
  return value.split(",").map((tag) => tag.trim()).filter(Boolean);
}

/**
 * The ETags an `If-Match` accepts (strong comparison: weak tags never match), or null when any current
 * representation will do (no header, or `*`). Compared in SQL, in the same statement as the write.
 */
export function ifMatch(request: ApiRequest): string[] | null {
  const header = request.headers.get("If-Match");
  if (header === null) return null;
  const tags = entityTags(header);
  if (tags === "*") return null;
  return tags.filter((tag) => /^"[^"]*"$/.test(tag)).map((tag) => tag.slice(1, -1));
}

/** A 412 for a write whose If-Match no longer names the current version. */
export function preconditionFailed(): never {
  fail(412, "The ETag given in If-Match is no longer current: fetch the resource again and retry.");
}

/** If-None-Match (weak comparison): true when the client already has this version. */
export function notModified(request: ApiRequest, etag: string): boolean {
  const header = request.headers.get("If-None-Match");
  if (header === null) return false;
  const tags = entityTags(header);
  return tags === "*" || tags.some((tag) => tag.replace(/^W\//, "") === etagHeader(etag));
}
