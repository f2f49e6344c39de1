import { json, StatusError } from "itty-router";
import * as v from "valibot";

/** Every error leaves the Worker as `{"message": ...}` plus optional `errors` / `details`, never a stack trace. */
export function fail(status: number, message: string, extra: { errors?: Record<string, string[]>; details?: object; headers?: HeadersInit } = {}): never {
  throw new StatusError(status, { message, ...extra });
}

export const UNAUTHENTICATED = "Unauthenticated.";
export const UNEXPECTED = "An unexpected error occurred. Please try again later.";

type Issues = [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]];

/** valibot's issues as the contract's `errors` map: dot-notation field names, one list of messages each. */
export const fieldErrors = (issues: Issues) => v.flatten(issues).nested as Record<string, string[]>;

export function failValidation(issues: Issues | Record<string, string[]>): never {
  const flat = Array.isArray(issues) ? fieldErrors(issues) : issues;
  // Field names echo the client's keys; an unpaired surrogate in one becomes U+FFFD so the body is valid Unicode.
  const errors = Object.fromEntries(Object.entries(flat).map(([field, messages]) => [field.toWellFormed(), messages]));
  fail(422, "The given data was invalid.", { errors });
}

/** The 422 entries for fields a PATCH may not send: read-only and unknown ones are named, never silently ignored. */
export const refusedFields = (input: Record<string, unknown>, updatable: Set<string>) =>
  Object.fromEntries(
    Object.keys(input).filter((field) => !updatable.has(field)).map((field) => [field.toWellFormed(), [`The ${field} field cannot be updated.`]]),
  );

export const BAD_BOOKMARK = "The X-D1-Bookmark header is not a bookmark this API returned.";

/** The router's `catch` stage: a 4xx keeps its message, anything else is logged and answered with the generic 500. */
export function toErrorResponse(err: unknown, request: { requestId?: string; headers?: Headers }): Response {
  // A well-formed bookmark D1 never issued (or one from another database) fails in D1 itself: still the client's error.
  if (request.headers?.has("X-D1-Bookmark") && /bookmark/i.test(String((err as Error)?.message ?? ""))) return json({ message: BAD_BOOKMARK }, { status: 400 });
  if (err instanceof StatusError && err.status >= 400 && (err.status < 500 || err.status === 503)) {
    const { message, errors, details, headers } = err as StatusError & { errors?: unknown; details?: unknown; headers?: HeadersInit };
    return json({ message, ...(errors ? { errors } : {}), ...(details ? { details } : {}) }, { status: err.status, headers });
  }
  // Log what happened for the operator; the client gets the generic message only.
  console.error(JSON.stringify({ level: "error", requestId: request.requestId, error: String((err as Error)?.stack ?? err) }));
  return json({ message: UNEXPECTED }, { status: 500 });
}

export const ErrorSchema = v.object({ message: v.string(), details: v.optional(v.record(v.string(), v.unknown())) });
export const ValidationErrorSchema = v.object({
  message: v.literal("The given data was invalid."),
  errors: v.record(v.string(), v.pipe(v.array(v.string()), v.minLength(1))),
});
