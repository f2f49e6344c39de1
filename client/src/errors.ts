// What a failed call throws: one class per kind of failure the API answers, each with the request id to quote.

export class VatlyError extends Error {
  constructor(
    message: string,
    /** The HTTP status, or 0 when no answer came (network error, time budget spent). */
    readonly status: number,
    /** The server's X-Request-Id, to quote when asking about this call. */
    readonly requestId: string | null,
    /** The answer's JSON body, if any. */
    readonly body: unknown = null,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 422: `errors` maps each refused field (dot notation) to its messages. */
export class ValidationError extends VatlyError {
  get errors(): Record<string, string[]> {
    return ((this.body as { errors?: Record<string, string[]> } | null)?.errors) ?? {};
  }
}
export class AuthenticationError extends VatlyError {} // 401
export class PermissionError extends VatlyError {} // 403: a revoked key, or one of the wrong kind
export class NotFoundError extends VatlyError {} // 404
export class ConflictError extends VatlyError {} // 409: an Idempotency-Key used for another request
export class PreconditionFailedError extends VatlyError {} // 412: If-Match no longer names the current version
/** 429 after every retry: `retryAfterSeconds` says when to come back. */
export class RateLimitError extends VatlyError {
  constructor(message: string, status: number, requestId: string | null, body: unknown, readonly retryAfterSeconds: number | null) {
    super(message, status, requestId, body);
  }
}
/** 5xx or 503 after every retry, a network failure, or the time budget spent. */
export class ServiceError extends VatlyError {}
/** Anything else the API answered with an error. */
export class ApiError extends VatlyError {}

/**
 * The error's message: the answer's, and for a 422 the first field's first error after it, so an uncaught error
 * says what to fix ("The given data was invalid. email: The email has already been taken.").
 */
function messageOf(status: number, body: unknown): string {
  const { message, errors } = (body ?? {}) as { message?: string; errors?: Record<string, string[]> };
  const first = errors && Object.entries(errors).find(([, list]) => Array.isArray(list) && list.length > 0);
  const base = message ?? `HTTP ${status}`;
  return first ? `${base} ${first[0]}: ${first[1][0]}${Object.keys(errors!).length > 1 ? ` (and ${Object.keys(errors!).length - 1} more field${Object.keys(errors!).length > 2 ? "s" : ""})` : ""}` : base;
}

export function errorFor(status: number, body: unknown, requestId: string | null, retryAfter: number | null): VatlyError {
  const message = messageOf(status, body);
  switch (status) {
    case 401: return new AuthenticationError(message, status, requestId, body);
    case 403: return new PermissionError(message, status, requestId, body);
    case 404: return new NotFoundError(message, status, requestId, body);
    case 409: return new ConflictError(message, status, requestId, body);
    case 412: return new PreconditionFailedError(message, status, requestId, body);
    case 422: return new ValidationError(message, status, requestId, body);
    case 429: return new RateLimitError(message, status, requestId, body, retryAfter);
    default: return status >= 500 ? new ServiceError(message, status, requestId, body) : new ApiError(message, status, requestId, body);
  }
}
