// The dashboard's API, under /dashboard/api: its session routes, and every /v1 route of the API as the signed-in
// session (the page calls /dashboard/api/v1/customers as a merchant's server calls /v1/customers with a key). Writes
// must come from the dashboard's own origin; every answer forbids framing and carries no cacheable data.
import { Router } from "itty-router";
import type { ApiRequest, Env } from "../env";
import { fail } from "../lib/errors";
import { toErrorResponse } from "../pipeline/errors";
import { finishResponse, startRequest } from "../pipeline/request";
import { currentSession, requireSameOrigin, sessionCaller, signIn, signOut } from "./session";
import { callerOf } from "./sessions.repository";

type Api = (request: Request, env: Env, ctx: ExecutionContext) => Promise<Response>;

/** What every dashboard answer carries: a Content-Security-Policy that allows nothing (it is data, never a page). */
function dashboardHeaders(response: Response): Response {
  response.headers.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
  response.headers.set("X-Frame-Options", "DENY");
  response.headers.set("Referrer-Policy", "no-referrer");
  return response;
}

/**
 * /dashboard/api/v1/<path> → the API's /v1/<path> as the session's caller: the same stages from limitCaller on, the
 * same handlers and answers. The request keeps its id; one log line says what it did (the API's, `via: "dashboard"`).
 */
const forward = (api: Api) => async (request: ApiRequest, env: Env, ctx: ExecutionContext) => {
  const session = callerOf(await sessionCaller(request, env));
  const url = new URL(request.url);
  url.pathname = url.pathname.slice("/dashboard/api".length);
  const inner = new Request(url, request);
  inner.headers.delete("Authorization"); // the session alone decides who calls
  inner.headers.set("X-Request-Id", request.requestId);
  request.forwarded = true;
  const answer = await api(Object.assign(inner, { session }), env, ctx);
  return new Response(answer.body, answer); // headers the outer stages may add to
};

export const dashboardApi = (api: Api) =>
  Router<ApiRequest, [Env, ExecutionContext]>({
    before: [startRequest, requireSameOrigin],
    catch: (err, request) => toErrorResponse(err, request),
    finally: [finishResponse, dashboardHeaders],
  })
    .post("/dashboard/api/session", signIn)
    .get("/dashboard/api/session", currentSession)
    .delete("/dashboard/api/session", signOut)
    .all("/dashboard/api/session", () => fail(405, "The method is not allowed for this path.", { headers: { Allow: "GET, POST, DELETE" } }))
    .all("/dashboard/api/v1/*", forward(api))
    .all("*", () => fail(404, "Not found."));
