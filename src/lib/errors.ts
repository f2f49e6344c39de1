// The contract's error shape, thrown from anywhere: `{"message"}`, plus `errors` (422) or `details`. The router's
// `catch` stage (pipeline/errors.ts) turns what is thrown here into the response.
import { StatusError } from "itty-router";
import * as v from "valibot";

/** Every error leaves the Worker as `{"message": ...}` plus optional `errors` / `details`, never a stack trace. */
export function fail(status: number, message: string, extra: { errors?: Record<string, string[]>; details?: object; headers?: HeadersInit } = {}): never {
  throw new StatusError(status, { message, ...extra });
}

export const UNAUTHENTICATED = "Unauthenticated.";
export const UNEXPECTED = "An unexpected error occurred. Please try again later.";
export const BAD_BOOKMARK = "The X-D1-Bookmark header is not a bookmark this API returned.";

type Issues = [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]];

/** valibot's issues as the contract's `errors` map: dot-notation field names, one list of messages each. */
export const fieldErrors = (issues: Issues) => v.flatten(issues).nested as Record<string, string[]>;

/**
 * At most this many fields are named in one 422: an answer must never be much larger than the request that caused
 * it (60,000 unknown keys would otherwise be echoed back, one message each).
 */
export const MAX_ERROR_FIELDS = 50;

export function failValidation(issues: Issues | Record<string, string[]>): never {
  const flat = Array.isArray(issues) ? fieldErrors(issues) : issues;
  // Field names echo the client's keys; an unpaired surrogate in one becomes U+FFFD so the body is valid Unicode.
  const errors = Object.fromEntries(
    Object.entries(flat).slice(0, MAX_ERROR_FIELDS).map(([field, messages]) => [field.toWellFormed().slice(0, 255), messages]),
  );
  fail(422, "The given data was invalid.", { errors });
}

/** The 422 entries for fields a PATCH may not send: read-only and unknown ones are named, never silently ignored. */
export const refusedFields = (input: Record<string, unknown>, updatable: Set<string>) =>
  Object.fromEntries(
    Object.keys(input).filter((field) => !updatable.has(field)).slice(0, MAX_ERROR_FIELDS)
      .map((field) => [field.toWellFormed(), [`The ${field.toWellFormed().slice(0, 255)} field cannot be updated.`]]),
  );

export const ErrorSchema = v.object({ message: v.string(), details: v.optional(v.record(v.string(), v.unknown())) });
export const ValidationErrorSchema = v.object({
  message: v.literal("The given data was invalid."),
  errors: v.record(v.string(), v.pipe(v.array(v.string()), v.minLength(1))),
});
