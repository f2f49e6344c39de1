import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { LINK_MS, newToken } from "../../src/dashboard/session";
import { insertQuery, insertValues } from "../../src/dashboard/sessions.repository";
import { bind } from "../../src/db/query";
import { sha256Hex } from "../../src/lib/crypto";
import { BASE } from "../helpers";

/** A sign-in link as `npm run dashboard:link` stores it (its hash only); the token, as the link carries it. */
export async function newLink(accountId: string, mode: "test" | "live", { shard = 0, expiresAt = Date.now() + LINK_MS } = {}) {
  const token = newToken();
  await bind(env.DB, insertQuery, insertValues(await sha256Hex(token), "link", { accountId, testmode: mode === "test", shard, expiresAt })).run();
  return token;
}

/** A request to the dashboard's API as its page sends it: same origin, the session cookie, JSON. */
export function dashboardFetch(path: string, { cookie, method = "GET", json, origin = BASE, headers = {} }: { cookie?: string; method?: string; json?: unknown; origin?: string | null; headers?: Record<string, string> } = {}) {
  const h = new Headers(headers);
  if (cookie) h.set("Cookie", cookie);
  if (origin !== null && method !== "GET") h.set("Origin", origin);
  if (json !== undefined) h.set("Content-Type", "application/json");
  return exports.default.fetch(new Request(BASE + path, { method, headers: h, body: json === undefined ? undefined : JSON.stringify(json) }));
}

/** Signs in with a fresh link; the cookie to send back (name=value). */
export async function signIn(accountId: string, mode: "test" | "live" = "test") {
  const response = await dashboardFetch("/dashboard/api/session", { method: "POST", json: { link: await newLink(accountId, mode) } });
  expect(response.status, await response.clone().text()).toBe(201);
  return /^(vatly_session=[0-9a-f]{64});/.exec(response.headers.get("Set-Cookie") ?? "")![1]!;
}
