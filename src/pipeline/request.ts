// The router's first and last stages: what every request gets, whatever route it hits.
import type { ApiRequest, Env } from "../env";
import { baseUrl } from "../lib/links";

const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** `before` stage: a request id (the client's own if it is sane), the arrival time, the path and the link base. */
export function startRequest(request: ApiRequest, env: Env): void {
  const incoming = request.headers.get("X-Request-Id");
  request.requestId = incoming && INCOMING_REQUEST_ID.test(incoming) ? incoming : `req_${crypto.randomUUID().replaceAll("-", "")}`;
  request.receivedAt = Date.now();
  // request.url is already normalised by the runtime (and parsed by the router): slice it rather than parse it again.
  const { url } = request;
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  const queryStart = url.indexOf("?", pathStart);
  request.pathname = url.slice(pathStart, queryStart === -1 ? undefined : queryStart);
  request.base = baseUrl(url.slice(0, pathStart), env);
}

/** `finally` stage: response headers every answer carries, then one JSON log line per request (never the key). */
export function finishResponse(response: Response, request: ApiRequest): Response {
  response.headers.set("X-Request-Id", request.requestId);
  // Customer data must not be kept by caches between the merchant and us, nor sniffed into another type.
  response.headers.set("Cache-Control", "no-store");
  response.headers.set("X-Content-Type-Options", "nosniff");
  const bookmark = request.db?.getBookmark();
  if (bookmark) response.headers.set("X-D1-Bookmark", bookmark);
  if (request.forwarded) return response; // a dashboard request handed to the API: the API's line is its record
  console.log(JSON.stringify({
    level: "info",
    requestId: request.requestId,
    method: request.sentMethod ?? request.method,
    path: request.pathname,
    status: response.status,
    durationMs: Date.now() - request.receivedAt,
    accountId: request.caller?.accountId ?? null,
    testmode: request.caller?.testmode ?? null,
    ...(request.session ? { via: "dashboard" } : {}),
    // What this request cost D1: round trips and rows, as D1 meters them (absent when it never opened a session).
    ...(request.db?.usage ? { d1: request.db.usage } : {}),
  }));
  return response;
}
