// The merchant dashboard: a page per hash route (#/customers, #/customers/<id>, #/events, #/events/<id>,
// #/endpoints), each talking only to the API (api.js). Preact with htm (one vendored file, no build step). Every
// value from the API is rendered as text by Preact; customer text sits in <bdi> so its direction stays its own.
import { html, render, useEffect, useState } from "./preact-htm.js";
import { api, whenSignedOut } from "./api.js";
import { CustomerPage, CustomersPage } from "./customers.js";
import { EndpointsPage } from "./endpoints.js";
import { EventPage, EventsPage } from "./events.js";

/** The route: a path and its parameters, from location.hash (#/customers?query=...). */
function route() {
  const [path, search = ""] = location.hash.replace(/^#/, "").split("?");
  return { path: path || "/customers", params: new URLSearchParams(search) };
}

function useRoute() {
  const [current, setCurrent] = useState(route());
  useEffect(() => {
    const changed = () => setCurrent(route());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return current;
}

/** Moves focus to the new page's heading, so keyboard and screen-reader users land on what changed. */
function focusHeading() {
  requestAnimationFrame(() => document.querySelector("main h1")?.focus());
}

function Page({ session, at }) {
  useEffect(focusHeading, [at.path]);
  const customer = /^\/customers\/(cus_[0-9A-Za-z]{22})$/.exec(at.path);
  const event = /^\/events\/(webhook_event_[0-9A-Za-z]{22})$/.exec(at.path);
  if (customer) return html`<${CustomerPage} id=${customer[1]} key=${customer[1]} />`;
  if (event) return html`<${EventPage} id=${event[1]} key=${event[1]} />`;
  // A new search or filter is a new page (its own walk through the pages), never the last one's rows for a moment.
  if (at.path === "/events") return html`<${EventsPage} key=${at.params.toString()} params=${at.params} />`;
  if (at.path === "/endpoints") return html`<${EndpointsPage} session=${session} />`;
  return html`<${CustomersPage} key=${at.params.toString()} params=${at.params} />`;
}

function Shell({ session, onSignOut }) {
  const at = useRoute();
  const section = at.path.split("/")[1] || "customers";
  const link = (name, label) => html`<li><a href=${`#/${name}`} aria-current=${section === name ? "page" : undefined}>${label}</a></li>`;
  const test = session.mode === "test";
  return html`
    <div class=${`mode-banner ${test ? "" : "live"}`} role="note">
      ${test ? "Test mode: test data only. Nothing here touches live customers." : "Live mode: real customers. Changes take effect at once."}
    </div>
    <header>
      <span class="brand">Vatly dashboard</span>
      <span class="muted">Account <bdi>${session.accountId}</bdi> · <strong>${test ? "Test" : "Live"}</strong> mode</span>
      <nav aria-label="Sections"><ul>${link("customers", "Customers")}${link("events", "Events")}${link("endpoints", "Endpoints")}</ul></nav>
      <button type="button" class="secondary" onClick=${onSignOut}>Sign out</button>
    </header>
    <main><${Page} session=${session} at=${at} /></main>`;
}

function SignedOut({ message }) {
  return html`<main>
    <h1 tabindex="-1">Sign in to the dashboard</h1>
    ${message && html`<p class="notice error" role="alert">${message}</p>`}
    <p>Open a sign-in link. On your machine, <code>npm run dev</code> prints one; for any account and mode:</p>
    <pre>npm run dashboard:link -- --account ${"<id>"} --mode test</pre>
    <p class="muted">A link works once, for 10 minutes. The session it opens lasts 12 hours or until you sign out.</p>
  </main>`;
}

function App() {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    whenSignedOut(() => setState({ session: null, message: "Your session has ended. Open a new sign-in link." }));
    const link = /^#link=([0-9a-f]{64})$/.exec(location.hash)?.[1];
    // The link's token leaves the address bar (and history) before anything else happens.
    if (link) history.replaceState(null, "", `${location.pathname}#/customers`);
    const signIn = link ? api("POST", "/session", { link }) : api("GET", "/session");
    signIn.then((r) => setState({ session: r.body }), (err) => setState({ session: null, message: link ? err.message : "" }));
  }, []);
  const signOut = async () => {
    await api("DELETE", "/session").catch(() => {});
    setState({ session: null, message: "You are signed out." });
  };
  if (state.loading) return html`<main><p role="status">Loading…</p></main>`;
  if (!state.session) return html`<${SignedOut} message=${state.message} />`;
  return html`<${Shell} session=${state.session} onSignOut=${signOut} />`;
}

render(html`<${App} />`, document.getElementById("app"));
