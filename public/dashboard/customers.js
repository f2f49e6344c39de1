// Customers: the searchable list (#/customers) and one customer (#/customers/<id>): fields, metadata, its events,
// edit under If-Match, delete after a typed confirmation.
import { html, useEffect, useState } from "./preact-htm.js";
import { api, bidiSafe, get, pathOf, query, when } from "./api.js";

const PAGE = 20;
const quote = (text) => `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/**
 * The search the box asks for: plain words search email and name (a substring from 3 characters, exact below that);
 * anything with the search language's signs (: ~ < > ") is taken as it is. The created filter adds createdAt clauses.
 * The language joins with one kind of operator, so words beside a date search the field they look like.
 */
export function searchOf(text, from, before) {
  const dates = [from && `createdAt>=${quote(from)}`, before && `createdAt<${quote(before)}`].filter(Boolean);
  const words = text.trim();
  if (!words) return dates.join(" AND ");
  if (/[:~<>"]/.test(words)) return [words, ...dates].join(" AND ");
  const op = [...words].length >= 3 ? "~" : ":";
  if (dates.length === 0) return `email${op}${quote(words)} OR name${op}${quote(words)}`;
  const field = /@|^\S+\.\S+$/.test(words) ? "email" : "name";
  return [`${field}${op}${quote(words)}`, ...dates].join(" AND ");
}

function CustomerRows({ customers }) {
  if (customers.length === 0) return html`<p role="status">No customers found.</p>`;
  return html`<table>
    <caption class="sr-only">Customers, newest first</caption>
    <thead><tr><th scope="col">Email</th><th scope="col">Name</th><th scope="col">Created</th></tr></thead>
    <tbody>${customers.map((c) => html`<tr key=${c.id}>
      <td><a href=${`#/customers/${c.id}`}><bdi>${c.email}</bdi></a></td>
      <td><bdi>${c.name ?? ""}</bdi></td>
      <td>${when(c.createdAt)}</td>
    </tr>`)}</tbody>
  </table>`;
}

export function CustomersPage({ params }) {
  const text = params.get("q") ?? "";
  const from = params.get("from") ?? "";
  const before = params.get("before") ?? "";
  const search = searchOf(text, from, before);
  const first = search ? `/v1/customers/search${query({ query: search, limit: PAGE })}` : `/v1/customers${query({ limit: PAGE })}`;
  const [pages, setPages] = useState([first]); // the paths of the pages walked, this one last
  const [result, setResult] = useState({ loading: true });
  const current = pages.at(-1);
  useEffect(() => {
    setResult({ loading: true });
    get(current).then((body) => setResult({ body }), (err) => setResult({ error: err.message }));
  }, [current]);
  const submit = (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    location.hash = `#/customers${query({ q: form.get("q"), from: form.get("from"), before: form.get("before") })}`;
  };
  return html`
    <h1 tabindex="-1">Customers</h1>
    <form class="filters" role="search" onSubmit=${submit}>
      <label>Search email and name, or a query<input type="search" name="q" value=${text} placeholder='ada, or email~"acme" AND metadata["plan"]:"pro"' /></label>
      <label>Created from<input type="date" name="from" value=${from} /></label>
      <label>Created before<input type="date" name="before" value=${before} /></label>
      <button type="submit">Search</button>
    </form>
    ${params.get("deleted") && html`<p class="notice ok" role="status">Customer <code>${params.get("deleted")}</code> was deleted and erased.</p>`}
    ${search && html`<p class="muted">Query: <code>${search}</code></p>`}
    ${result.error && html`<p class="notice error" role="alert">${result.error}</p>`}
    ${result.loading ? html`<p role="status">Loading customers…</p>` : result.body && html`<${CustomerRows} customers=${result.body.data} />`}
    <nav class="pager" aria-label="Pages">
      <button type="button" class="secondary" disabled=${pages.length < 2} onClick=${() => setPages(pages.slice(0, -1))}>Previous page</button>
      <button type="button" class="secondary" disabled=${!result.body?.links?.next} onClick=${() => setPages([...pages, pathOf(result.body.links.next.href)])}>Next page</button>
    </nav>`;
}

function Fields({ customer }) {
  const metadata = Object.entries(customer.metadata ?? {});
  return html`<dl>
      <dt>Id</dt><dd><code>${customer.id}</code></dd>
      <dt>Email</dt><dd><bdi>${customer.email}</bdi></dd>
      <dt>Name</dt><dd><bdi>${customer.name ?? "—"}</bdi></dd>
      <dt>Created</dt><dd>${when(customer.createdAt)}</dd>
    </dl>
    <h2>Metadata</h2>
    ${metadata.length === 0 ? html`<p class="muted">No metadata.</p>` : html`<table>
      <thead><tr><th scope="col">Key</th><th scope="col">Value</th></tr></thead>
      <tbody>${metadata.map(([k, v]) => html`<tr key=${k}><td><bdi>${k}</bdi></td><td><bdi>${v}</bdi></td></tr>`)}</tbody>
    </table>`}`;
}

function CustomerEvents({ id }) {
  const [events, setEvents] = useState(null);
  useEffect(() => void get(`/v1/webhook-events${query({ entityId: id, limit: 20 })}`).then((b) => setEvents(b.data), () => setEvents([])), [id]);
  if (!events) return html`<p role="status">Loading events…</p>`;
  if (events.length === 0) return html`<p class="muted">No events in the last 30 days.</p>`;
  return html`<ul>${events.map((e) => html`<li key=${e.id}><a href=${`#/events/${e.id}`}>${e.eventName}</a> <span class="muted">${when(e.createdAt)}</span></li>`)}</ul>`;
}

/** The merge patch from what was loaded to what the form says: changed and new keys set, removed keys null. */
function metadataPatch(before, after) {
  const patch = { ...after };
  for (const key of Object.keys(before ?? {})) if (!(key in after)) patch[key] = null;
  return patch;
}

function EditForm({ loaded, onSaved, saved }) {
  const [draft, setDraft] = useState({ email: loaded.customer.email, name: loaded.customer.name ?? "", metadata: bidiSafe(JSON.stringify(loaded.customer.metadata ?? {}, null, 2)) });
  const [status, setStatus] = useState(null);
  const field = (name) => (e) => setDraft({ ...draft, [name]: e.target.value });
  const save = async (e) => {
    e.preventDefault();
    let metadata;
    try {
      metadata = JSON.parse(draft.metadata);
      if (!metadata || typeof metadata !== "object" || Array.isArray(metadata)) throw new Error();
    } catch {
      return setStatus({ error: "Metadata must be a JSON object of string values, such as {\"plan\": \"pro\"}." });
    }
    const changes = { email: draft.email, name: draft.name === "" ? null : draft.name, metadata: metadataPatch(loaded.customer.metadata, metadata) };
    try {
      const answer = await api("PATCH", `/v1/customers/${loaded.customer.id}`, changes, { "If-Match": loaded.etag });
      onSaved({ customer: answer.body, etag: answer.headers.get("ETag"), saved: true });
    } catch (err) {
      if (err.status !== 412) return setStatus({ error: err.message });
      const current = await api("GET", `/v1/customers/${loaded.customer.id}`);
      setStatus({ conflict: current.body, etag: current.headers.get("ETag") });
    }
  };
  return html`<form onSubmit=${save}>
    <h2>Edit</h2>
    ${status?.error && html`<p class="notice error" role="alert">${status.error}</p>`}
    ${saved && !status && html`<p class="notice ok" role="status">Saved.</p>`}
    ${status?.conflict && html`<div class="notice warn" role="alert">
      <p><strong>This customer was changed elsewhere after you opened it. Your edit was not saved.</strong> It now reads:</p>
      <${Fields} customer=${status.conflict} />
      <button type="button" onClick=${() => onSaved({ customer: status.conflict, etag: status.etag })}>Start again from these values</button>
    </div>`}
    <div class="filters">
      <label>Email<input type="email" required value=${draft.email} onInput=${field("email")} /></label>
      <label>Name<input type="text" value=${draft.name} onInput=${field("name")} /></label>
    </div>
    <label>Metadata (JSON object; a key left out is removed)<textarea onInput=${field("metadata")} value=${draft.metadata} /></label>
    <p><button type="submit">Save changes</button></p>
  </form>`;
}

function DeleteForm({ customer }) {
  const [typed, setTyped] = useState("");
  const [error, setError] = useState(null);
  const remove = async (e) => {
    e.preventDefault();
    try {
      await api("DELETE", `/v1/customers/${customer.id}`);
      location.hash = `#/customers${query({ deleted: customer.id })}`;
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<form class="panel" onSubmit=${remove}>
    <h2>Delete and erase</h2>
    <p>Deleting erases this customer's email, name and metadata everywhere this API keeps them: the customer record, the
      search index, the events that carried them and the answers kept for repeated requests. The id remains, so lists
      and audits stay whole; a <code>customer.deleted</code> event is sent. This cannot be undone.</p>
    ${error && html`<p class="notice error" role="alert">${error}</p>`}
    <label>Type the customer's email to confirm<input type="text" autocomplete="off" value=${typed} onInput=${(e) => setTyped(e.target.value)} /></label>
    <p><button type="submit" class="danger" disabled=${typed !== customer.email}>Delete and erase this customer</button></p>
  </form>`;
}

export function CustomerPage({ id }) {
  const [loaded, setLoaded] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => void api("GET", `/v1/customers/${id}`).then((r) => setLoaded({ customer: r.body, etag: r.headers.get("ETag") }), (err) => setError(err.message)), [id]);
  if (error) return html`<h1 tabindex="-1">Customer</h1><p class="notice error" role="alert">${error}</p>`;
  if (!loaded) return html`<h1 tabindex="-1">Customer</h1><p role="status">Loading…</p>`;
  return html`
    <p><a href="#/customers">← Customers</a></p>
    <h1 tabindex="-1"><bdi>${loaded.customer.name || loaded.customer.email}</bdi></h1>
    <${Fields} customer=${loaded.customer} />
    <h2>Events</h2>
    <${CustomerEvents} id=${id} />
    <${EditForm} key=${loaded.etag} loaded=${loaded} onSaved=${setLoaded} saved=${loaded.saved} />
    <${DeleteForm} customer=${loaded.customer} />`;
}
