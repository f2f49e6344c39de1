// The dashboard's sign-in: a one-time link (made by `npm run dashboard:link` or `npm run dev`) becomes a session
// cookie scoped to one account and mode. The cookie is HttpOnly (page scripts never see it), SameSite=Strict, Secure
// outside plain-HTTP localhost, and only sent to /dashboard/api. D1 keeps the SHA-256 of each token with its expiry;
// signing out deletes the row, so the cookie is refused at once, everywhere.
import { json } from "itty-router";
import type { ApiRequest, Caller, Env } from "../env";
import { sha256Hex, toHex } from "../lib/crypto";
import { fail, failValidation, UNAUTHENTICATED } from "../lib/errors";
import { readBody } from "../pipeline/body";
import { limitAddress, limitCaller } from "../pipeline/rate-limit";
import { callerOf, deleteSession, exchangeLink, findSession, type Grant } from "./sessions.repository";

export const COOKIE = "vatly_session";
/** A session lasts a working day from sign-in, then a new link is needed. */
export const SESSION_MS = 12 * 60 * 60 * 1000;
/** A sign-in link is valid this long and once. */
export const LINK_MS = 10 * 60 * 1000;
const TOKEN = /^[0-9a-f]{64}$/;

/** A fresh token: 32 random bytes in hex (links and sessions alike). */
export const newToken = () => toHex(crypto.getRandomValues(new Uint8Array(32)));

const cookieOf = (request: ApiRequest) =>
  /(?:^|;\s*)vatly_session=([0-9a-f]{64})(?:;|$)/.exec(request.headers.get("Cookie") ?? "")?.[1];

function setCookie(request: ApiRequest, value: string, maxAgeSeconds: number): string {
  const secure = new URL(request.url).protocol === "https:" ? "; Secure" : "";
  return `${COOKIE}=${value}; Path=/dashboard/api; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}

/**
 * Writes must come from the dashboard's own pages: the Origin a browser sends must be this API's (the cookie's
 * SameSite=Strict already keeps it off cross-site requests; this refuses them even from a browser that ignores it).
 */
export function requireSameOrigin(request: ApiRequest, env: Env): void {
  if (request.method === "GET" || request.method === "HEAD") return;
  const origin = request.headers.get("Origin");
  const own = new URL(request.url).origin;
  const published = env.PUBLIC_BASE_URL ? new URL(env.PUBLIC_BASE_URL).origin : own;
  if (!origin || (origin !== own && origin !== published)) fail(403, "Cross-origin requests to the dashboard are refused.");
}

/**
 * The signed-in caller, or a 401. A cookie that names no live session costs its address a token (as an unknown API
 * key does); a live one is counted against its account and mode by the route's limitCaller, as a key's requests are.
 */
export async function sessionCaller(request: ApiRequest, env: Env): Promise<Caller & { expiresAt: number; hash: string }> {
  const token = cookieOf(request);
  const hash = token ? await sha256Hex(token) : undefined;
  const grant = hash ? await findSession(env.DB, hash, request.receivedAt) : undefined;
  if (!grant) {
    await limitAddress(request, env);
    fail(401, `${UNAUTHENTICATED} Open a new sign-in link (npm run dashboard:link).`);
  }
  return { ...callerOf(grant), expiresAt: grant.expiresAt, hash: hash! };
}

/** The session's caller, counted against its account and mode (the session routes of this file). */
async function countedSession(request: ApiRequest, env: Env) {
  const session = await sessionCaller(request, env);
  request.caller = callerOf(session);
  await limitCaller(request, env);
  return session;
}

const describeSession = (grant: Pick<Grant, "accountId" | "testmode" | "expiresAt">) =>
  ({ resource: "dashboard_session", accountId: grant.accountId, mode: grant.testmode ? "test" : "live", expiresAt: new Date(grant.expiresAt).toISOString() });

/** POST /dashboard/api/session `{"link": "<token>"}`: uses the link once and sets the session cookie. */
export async function signIn(request: ApiRequest, env: Env): Promise<Response> {
  await limitAddress(request, env); // every attempt costs its address a token: links cannot be guessed at speed
  await readBody(request);
  const link = request.input?.link;
  if (typeof link !== "string" || !TOKEN.test(link)) failValidation({ link: ["The link must be the token of a sign-in link."] });
  const session = newToken();
  const expiresAt = request.receivedAt + SESSION_MS;
  const grant = await exchangeLink(env.DB, await sha256Hex(link), await sha256Hex(session), expiresAt, request.receivedAt);
  if (!grant) fail(401, "This sign-in link is unknown, used or expired. Make a new one with npm run dashboard:link.");
  return json(describeSession(grant), { status: 201, headers: { "Set-Cookie": setCookie(request, session, SESSION_MS / 1000) } });
}

/** GET /dashboard/api/session: who is signed in (account, mode, until when). */
export async function currentSession(request: ApiRequest, env: Env): Promise<Response> {
  return json(describeSession(await countedSession(request, env)));
}

/** DELETE /dashboard/api/session: signs out; the cookie's session is deleted, so the cookie is refused from now on. */
export async function signOut(request: ApiRequest, env: Env): Promise<Response> {
  await deleteSession(env.DB, (await countedSession(request, env)).hash);
  return new Response(null, { status: 204, headers: { "Set-Cookie": setCookie(request, "", 0) } });
}
