// The router's `catch` stage. What handlers throw is defined in lib/errors.ts.
import { json, StatusError } from "itty-router";
import { UNEXPECTED } from "../lib/errors";

/** The router's `catch` stage: a 4xx keeps its message, anything else is logged and answered with the generic 500. */
export function toErrorResponse(err: unknown, request: { requestId?: string }): Response {
  if (err instanceof StatusError && err.status >= 400 && (err.status < 500 || err.status === 503)) {
    const { message, errors, details, headers } = err as StatusError & { errors?: unknown; details?: unknown; headers?: HeadersInit };
    return json({ message, ...(errors ? { errors } : {}), ...(details ? { details } : {}) }, { status: err.status, headers });
  }
  // Log what happened for the operator; the client gets the generic message only.
  console.error(JSON.stringify({ level: "error", requestId: request.requestId, error: String((err as Error)?.stack ?? err) }));
  return json({ message: UNEXPECTED }, { status: 500 });
}
