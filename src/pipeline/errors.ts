// The router's `catch` stage. What handlers throw is defined in lib/errors.ts.
import { json, StatusError } from "itty-router";
import { BAD_BOOKMARK, UNEXPECTED } from "../lib/errors";

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
