import type { ApiRequest } from "./env";

const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Router `before` stage: a request id (the client's own if it is sane) and the arrival time. */
export function withRequestId(request: ApiRequest): void {
  const incoming = request.headers.get("X-Request-Id");
  request.requestId = incoming && INCOMING_REQUEST_ID.test(incoming) ? incoming : `req_${crypto.randomUUID().replaceAll("-", "")}`;
  request.receivedAt = Date.now();
  ({ origin: request.origin, pathname: request.pathname } = new URL(request.url));
}

/** Router `finally` stage: the request id and cache headers on every response, and one JSON log line per request (never the key). */
export function logRequest(response: Response, request: ApiRequest): Response {
  response.headers.set("X-Request-Id", request.requestId);
  // Customer data must not be kept by caches between the merchant and us, nor sniffed into another type.
  response.headers.set("Cache-Control", "no-store");
  response.headers.set("X-Content-Type-Options", "nosniff");
  const bookmark = request.d1Session?.getBookmark();
  if (bookmark) response.headers.set("X-D1-Bookmark", bookmark);
  console.log(JSON.stringify({
    level: "info",
    requestId: request.requestId,
    method: request.method,
    path: request.pathname,
    status: response.status,
    durationMs: Date.now() - request.receivedAt,
    accountId: request.caller?.accountId ?? null,
    testmode: request.caller?.testmode ?? null,
  }));
  return response;
}
