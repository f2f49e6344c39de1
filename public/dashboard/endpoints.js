// The webhook endpoint (#/endpoints; one per account and mode): its URL, create and edit, rotate the signing secret
// (made here, shown once, never stored by the page), send a test event, delete.
import { html, useEffect, useState } from "./preact-htm.js";
import { api, get } from "./api.js";

/** A new signing secret: 32 random characters of A-Z a-z 0-9, from the browser's cryptographic generator. */
function newSecret() {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  while (out.length < 32) for (const b of crypto.getRandomValues(new Uint8Array(64))) if (b < 248 && out.length < 32) out += alphabet[b % 62];
  return out;
}

const ShownOnce = ({ secret, rotated }) => html`<div class="notice warn" role="status">
  <p><strong>${rotated ? "New signing secret" : "Signing secret"}, shown only this once:</strong> <span class="secret">${secret}</span></p>
  <p>Put it in your receiver's configuration now.${rotated ? " The previous secret keeps signing beside it for 24 hours." : ""}</p>
</div>`;

function UrlForm({ label, initial = "", onSubmit }) {
  const [url, setUrl] = useState(initial);
  return html`<form class="inline" onSubmit=${(e) => { e.preventDefault(); onSubmit(url); }}>
    <label>Endpoint URL<input type="url" required value=${url} onInput=${(e) => setUrl(e.target.value)} placeholder="https://example.com/webhooks/vatly" /></label>
    <button type="submit">${label}</button>
  </form>`;
}

export function EndpointsPage({ session }) {
  const [endpoints, setEndpoints] = useState(null);
  const [notice, setNotice] = useState(null);
  const load = () => get("/v1/webhook-endpoints").then((b) => setEndpoints(b.data), (err) => setNotice({ error: err.message }));
  useEffect(() => void load(), []);
  const act = (work) => async (...args) => {
    try {
      setNotice(await work(...args));
      await load();
    } catch (err) {
      setNotice({ error: err.message });
    }
  };
  const create = act(async (url) => {
    const secret = newSecret();
    await api("POST", "/v1/webhook-endpoints", { url, secret });
    return { secret };
  });
  const endpoint = endpoints?.[0];
  const rename = act(async (url) => (await api("PATCH", `/v1/webhook-endpoints/${endpoint.id}`, { url }), { ok: "URL saved: a webhook.setup event is on its way to it." }));
  const rotate = act(async () => {
    const secret = newSecret();
    await api("PATCH", `/v1/webhook-endpoints/${endpoint.id}`, { secret });
    return { secret, rotated: true };
  });
  const test = act(async () => {
    const event = (await api("POST", `/v1/webhook-endpoints/${endpoint.id}/test`)).body;
    return { ok: "Test event sent.", event: event.id };
  });
  const remove = act(async () => (await api("DELETE", `/v1/webhook-endpoints/${endpoint.id}`), { ok: "Endpoint deleted: nothing more is sent to it." }));
  return html`
    <h1 tabindex="-1">Webhook endpoint</h1>
    ${notice?.error && html`<p class="notice error" role="alert">${notice.error}</p>`}
    ${notice?.secret && html`<${ShownOnce} secret=${notice.secret} rotated=${notice.rotated} />`}
    ${notice?.ok && html`<p class="notice ok" role="status">${notice.ok}${notice.event && html` <a href=${`#/events/${notice.event}`}>See its delivery</a>`}</p>`}
    ${!endpoints ? html`<p role="status">Loading…</p>` : !endpoint ? html`
      <p>No endpoint yet for ${session.mode} mode. Events are kept for 30 days and listed under Events either way.</p>
      <${UrlForm} label="Create endpoint" onSubmit=${create} />` : html`
      <dl>
        <dt>URL</dt><dd><bdi>${endpoint.url}</bdi></dd>
        <dt>Id</dt><dd><code>${endpoint.id}</code></dd>
      </dl>
      <h2>Change the URL</h2>
      <${UrlForm} key=${endpoint.url} label="Save URL" initial=${endpoint.url} onSubmit=${rename} />
      <h2>Signing secret and tests</h2>
      <p><button type="button" onClick=${rotate}>Rotate secret</button> <button type="button" class="secondary" onClick=${test}>Send test event</button></p>
      <h2>Delete</h2>
      <p><button type="button" class="danger" onClick=${remove}>Delete endpoint</button></p>`}`;
}
