// Events and their deliveries: the list filtered by state, type and dates with recover (#/events), and one event with
// every attempt, its next retry and resend (#/events/<id>).
import { html, useEffect, useState } from "./preact-htm.js";
import { api, bidiSafe, get, pathOf, query, when } from "./api.js";

const NAMES = ["customer.created", "customer.updated", "customer.deleted", "webhook.setup"];
const STATES = ["pending", "delivered", "failed", "none"];
const STATE_TEXT = { pending: "Pending", delivered: "Delivered", failed: "Failed", none: "No endpoint" };

const State = ({ state }) => html`<span class=${`state ${state}`}>${STATE_TEXT[state] ?? state}</span>`;

/** Each listed event's delivery state, read from its attempts (one call each, for the page shown). */
function useStates(events) {
  const [states, setStates] = useState({});
  useEffect(() => {
    setStates({});
    for (const e of events ?? []) get(`/v1/webhook-events/${e.id}/attempts`).then((a) => setStates((s) => ({ ...s, [e.id]: a.delivery.state })), () => {});
  }, [events]);
  return states;
}

function Recover({ endpoints }) {
  const [since, setSince] = useState(new Date(Date.now() - 86_400_000).toISOString().slice(0, 16));
  const [endpointId, setEndpointId] = useState("");
  const [state, setState] = useState(null);
  const selection = () => ({ since: new Date(since).toISOString(), ...(endpointId ? { endpointId } : {}) });
  const preview = async (e) => {
    e.preventDefault();
    try {
      setState({ preview: (await api("POST", "/v1/webhook-events/recover", { ...selection(), dryRun: true })).body });
    } catch (err) {
      setState({ error: err.message });
    }
  };
  const run = async () => {
    try {
      let total = 0;
      for (let more = true; more;) {
        const done = (await api("POST", "/v1/webhook-events/recover", selection())).body;
        total += done.count;
        more = done.hasMore && done.count > 0;
      }
      setState({ done: total });
    } catch (err) {
      setState({ error: err.message });
    }
  };
  const count = state?.preview && `${state.preview.count}${state.preview.hasMore ? "+" : ""}`;
  return html`<form class="panel" onSubmit=${preview}>
    <h2>Recover failed events</h2>
    <p class="muted">After your receiver was down: send again every event that failed for good since a time.</p>
    <div class="filters">
      <label>Failed since<input type="datetime-local" required value=${since} onInput=${(e) => { setSince(e.target.value); setState(null); }} /></label>
      <label>Endpoint<select value=${endpointId} onChange=${(e) => { setEndpointId(e.target.value); setState(null); }}>
        <option value="">Any endpoint</option>
        ${endpoints.map((ep) => html`<option value=${ep.id}>${ep.url}</option>`)}
      </select></label>
      <button type="submit" class="secondary">Preview</button>
    </div>
    ${state?.error && html`<p class="notice error" role="alert">${state.error}</p>`}
    ${state?.preview && html`<p role="status"><strong>${count}</strong> failed event(s) would be sent again.
      ${state.preview.count > 0 && html` <button type="button" onClick=${run}>Resend ${count} event(s)</button>`}</p>`}
    ${state?.done !== undefined && html`<p class="notice ok" role="status">Queued ${state.done} event(s) for delivery.</p>`}
  </form>`;
}

export function EventsPage({ params }) {
  const filters = { delivery: params.get("delivery") ?? "", eventName: params.get("eventName") ?? "", from: params.get("from") ?? "", before: params.get("before") ?? "" };
  const first = `/v1/webhook-events${query({ delivery: filters.delivery, eventName: filters.eventName, createdFrom: filters.from, createdBefore: filters.before, limit: 20 })}`;
  const [pages, setPages] = useState([first]);
  const [result, setResult] = useState({ loading: true });
  const [endpoints, setEndpoints] = useState([]);
  useEffect(() => void get("/v1/webhook-endpoints").then((b) => setEndpoints(b.data), () => {}), []);
  const current = pages.at(-1);
  useEffect(() => {
    setResult({ loading: true });
    get(current).then((body) => setResult({ body }), (err) => setResult({ error: err.message }));
  }, [current]);
  const states = useStates(result.body?.data);
  const submit = (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    location.hash = `#/events${query(Object.fromEntries(["delivery", "eventName", "from", "before"].map((k) => [k, form.get(k)])))}`;
  };
  return html`
    <h1 tabindex="-1">Events</h1>
    <form class="filters" onSubmit=${submit}>
      <label>State<select name="delivery" value=${filters.delivery}><option value="">Any state</option>${STATES.map((s) => html`<option value=${s}>${STATE_TEXT[s]}</option>`)}</select></label>
      <label>Type<select name="eventName" value=${filters.eventName}><option value="">Any type</option>${NAMES.map((n) => html`<option value=${n}>${n}</option>`)}</select></label>
      <label>Created from<input type="date" name="from" value=${filters.from} /></label>
      <label>Created before<input type="date" name="before" value=${filters.before} /></label>
      <button type="submit">Filter</button>
    </form>
    ${result.error && html`<p class="notice error" role="alert">${result.error}</p>`}
    ${result.loading ? html`<p role="status">Loading events…</p>` : result.body && (result.body.data.length === 0 ? html`<p role="status">No events found.</p>` : html`<table>
      <caption class="sr-only">Events, newest first</caption>
      <thead><tr><th scope="col">Event</th><th scope="col">Type</th><th scope="col">State</th><th scope="col">Created</th></tr></thead>
      <tbody>${result.body.data.map((e) => html`<tr key=${e.id}>
        <td><a href=${`#/events/${e.id}`}><code>${e.id}</code></a></td><td>${e.eventName}</td>
        <td>${states[e.id] ? html`<${State} state=${states[e.id]} />` : "…"}</td><td>${when(e.createdAt)}</td>
      </tr>`)}</tbody></table>`)}
    <nav class="pager" aria-label="Pages">
      <button type="button" class="secondary" disabled=${pages.length < 2} onClick=${() => setPages(pages.slice(0, -1))}>Previous page</button>
      <button type="button" class="secondary" disabled=${!result.body?.links?.next} onClick=${() => setPages([...pages, pathOf(result.body.links.next.href)])}>Next page</button>
    </nav>
    <${Recover} endpoints=${endpoints} />`;
}

function Attempts({ attempts }) {
  if (attempts.data.length === 0) return html`<p class="muted">No attempts recorded: none yet, or erased with the event's customer.</p>`;
  return html`<table>
    <caption class="sr-only">Delivery attempts, newest first</caption>
    <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">URL</th><th scope="col">Answer</th><th scope="col">Duration</th></tr></thead>
    <tbody>${attempts.data.map((a) => html`<tr key=${a.attempt}>
      <td>${a.attempt}</td><td>${when(a.attemptedAt)}</td><td><bdi>${a.url}</bdi></td>
      <td>${a.status === null ? html`<span class="state failed">${a.error}</span>` : html`HTTP ${a.status}`}</td><td>${a.durationMs} ms</td>
    </tr>`)}</tbody></table>`;
}

export function EventPage({ id }) {
  const [data, setData] = useState(null);
  const [notice, setNotice] = useState(null);
  const load = () => Promise.all([get(`/v1/webhook-events/${id}`), get(`/v1/webhook-events/${id}/attempts`)])
    .then(([event, attempts]) => setData({ event, attempts }), (err) => setNotice({ error: err.message }));
  useEffect(() => void load(), [id]);
  const resend = async () => {
    try {
      await api("POST", `/v1/webhook-events/${id}/resend`);
      setNotice({ ok: "Queued: a new attempt is being made now." });
      setTimeout(load, 1500);
    } catch (err) {
      setNotice({ error: err.message });
    }
  };
  const delivery = data?.attempts.delivery;
  return html`
    <p><a href="#/events">← Events</a></p>
    <h1 tabindex="-1">Event <code>${id}</code></h1>
    ${notice?.error && html`<p class="notice error" role="alert">${notice.error}</p>`}
    ${notice?.ok && html`<p class="notice ok" role="status">${notice.ok}</p>`}
    ${!data ? !notice && html`<p role="status">Loading…</p>` : html`
      <dl>
        <dt>Type</dt><dd>${data.event.eventName}</dd>
        <dt>Of</dt><dd>${data.event.entityType === "customer" ? html`<a href=${`#/customers/${data.event.entityId}`}><code>${data.event.entityId}</code></a>` : html`<code>${data.event.entityId}</code>`}</dd>
        <dt>Created</dt><dd>${when(data.event.createdAt)}</dd>
        <dt>Delivery</dt><dd><${State} state=${delivery.state} />${delivery.nextAttemptAt && html` · next attempt ${when(delivery.nextAttemptAt)}`}</dd>
      </dl>
      <p><button type="button" onClick=${resend}>Resend now</button> <button type="button" class="secondary" onClick=${load}>Refresh</button></p>
      <h2>Attempts</h2>
      <${Attempts} attempts=${data.attempts} />
      <h2>Payload</h2>
      <pre>${bidiSafe(JSON.stringify(data.event, null, 2))}</pre>`}`;
}
