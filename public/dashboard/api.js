// The dashboard's only way to the data: the API under /dashboard/api (the /v1 routes, as the signed-in session; the
// session cookie is HttpOnly, so this code never sees it). Writes carry an Idempotency-Key, as every careful caller's.
export class ApiError extends Error {
  constructor(status, body) {
    const fields = body && body.errors ? Object.entries(body.errors).map(([f, m]) => `${f}: ${m.join(" ")}`).join("; ") : "";
    super(`${(body && body.message) || `The API answered ${status}.`}${fields ? ` (${fields})` : ""}`);
    this.status = status;
    this.body = body;
  }
}

/** Called when the API says the session is gone (401): the shell shows the signed-out page. */
let onSignedOut = () => {};
export const whenSignedOut = (handler) => { onSignedOut = handler; };

/** One call: resolves with { body, headers, status } for a 2xx, throws an ApiError otherwise. */
export async function api(method, path, body, headers = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (method !== "GET") init.headers["Idempotency-Key"] = `dash-${crypto.randomUUID()}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/dashboard/api${path}`, init);
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (response.status === 401 && path !== "/session") onSignedOut();
  if (!response.ok) throw new ApiError(response.status, parsed);
  return { body: parsed, headers: response.headers, status: response.status };
}

/** The API path of a link the API gave (links.next, links.prev): the same path and query, under /dashboard/api. */
export function pathOf(href) {
  const url = new URL(href);
  return `${url.pathname}${url.search}`;
}

export const get = (path) => api("GET", path).then((r) => r.body);
export const when = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }) : "");
export const query = (params) => {
  const search = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""));
  const text = search.toString();
  return text ? `?${text}` : "";
};

/** JSON as text, with bidirectional controls written as escapes: a right-to-left override in a value shows as \u202e. */
export const bidiSafe = (json) => json.replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
