// `npm run webhooks:listen`: what `stripe listen` is to Stripe. Starts a receiver on 127.0.0.1, registers it as the
// test-mode webhook endpoint of the local account with a fresh secret and a key of its own, checks the signature of
// every delivery and prints one line per event. Stopping it (Ctrl-C) removes its endpoint and revokes its key. It
// never replaces an endpoint it did not make unless told to (--replace), and never one a running listener receives
// on. Needs `npm run dev` running.
import { spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { verifyWebhook } from "../client/src/webhooks";
import { standardWebhooksSecret } from "../src/webhooks/signature";
import { createKey } from "./keys";
import { closeLocal, devPort } from "./local";
import { cli } from "./wrangler";

const USAGE = `Usage: npm run webhooks:listen [-- --port <receiver port>] [--forward-to <url>] [--replace] [--api <url>] [--account <id>] [--persist-to <dir>]

Receives on http://127.0.0.1:<port>/webhooks (default 4242) the events of the local account (default acct_local,
as npm run dev), from the API at --api (default http://127.0.0.1:${devPort()}: where npm run dev serves now, else $PORT
or 8787). --forward-to passes each delivery on to your app (the exact body and the signature headers, so the app
verifies it itself), prints the app's status, and answers the API with it: a failing app shows up as failed attempts
in the event's history (GET /v1/webhook-events/<id>/attempts). An account has one endpoint per mode: if it has one
already, the listener refuses, naming it, unless --replace (then that endpoint and its secret are deleted); an endpoint
another running listener receives on is never replaced. Stop with Ctrl-C: the listener's endpoint is removed and its
key revoked.`;

const { values } = cli(USAGE, {
  port: { type: "string" }, "forward-to": { type: "string" }, replace: { type: "boolean" }, api: { type: "string" }, account: { type: "string" }, "persist-to": { type: "string" },
});
/** Refuses in one line, before anything changed. */
const refuse = (message: string): never => {
  console.error(message);
  process.exit(1);
};
const forwardTo = values["forward-to"];
if (forwardTo !== undefined && !/^https?:\/\/[^\s]+$/.test(forwardTo)) refuse(`--forward-to must be an http(s) URL, such as http://127.0.0.1:3000/hooks.`);
if (values.port !== undefined && !(/^\d{1,5}$/.test(values.port) && Number(values.port) >= 1 && Number(values.port) <= 65535)) refuse(`--port must be a port number from 1 to 65535 (default 4242).`);
if (values.api !== undefined && !/^https?:\/\/[^\s/]+/.test(values.api)) refuse(`--api must be an http(s) URL, such as http://127.0.0.1:8787.`);
/** The headers a delivery is verified by, passed on to the app as they came. */
const FORWARDED = ["content-type", "user-agent", "vatly-signature", "webhook-id", "webhook-timestamp", "webhook-signature"];
/** Answered to a GET of the receiver's URL: how a second listener tells that this one is running. */
const LISTENER_HEADER = "vatly-webhooks-listen";
/** This listener's own mark in that header: the endpoint it answers itself (the README's own port) is not another's. */
const LISTENER_ID = randomUUID();
const port = Number(values.port ?? 4242);
const HERE = dirname(fileURLToPath(import.meta.url));
const TSX = join(HERE, "..", "node_modules", ".bin", "tsx");
const KEYS = join(HERE, "keys.ts");
const api = (values.api ?? `http://127.0.0.1:${devPort(values["persist-to"])}`).replace(/\/+$/, "");
const accountId = values.account ?? process.env.DEV_ACCOUNT ?? "acct_local";
const local = { remote: false, persistTo: values["persist-to"] };
// The endpoint's secret as the API takes it (Vatly-Signature is an HMAC keyed with its UTF-8 bytes), and the same
// bytes in the form Standard Webhooks libraries take (`whsec_` + base64) for webhook-signature.
const secret = `local_${randomBytes(24).toString("hex")}`;
const standardSecret = standardWebhooksSecret(secret);

const server = createServer((request, response) => {
  if (request.method === "GET") return void response.writeHead(200, { [LISTENER_HEADER]: LISTENER_ID }).end("webhooks:listen is running here\n");
  let body = "";
  request.setEncoding("utf8");
  request.on("data", (chunk: string) => (body += chunk));
  request.on("end", async () => {
    // The client's own verifier: Vatly-Signature, and the Standard Webhooks headers with their timestamp tolerance.
    const ok = await verifyWebhook(body, request.headers as Record<string, string>, { secrets: secret }).then(() => true, () => false);
    let line = `${new Date().toISOString()}  (not an event: ${body.slice(0, 60)})`;
    try {
      const event = JSON.parse(body) as { id: string; eventName: string; entityType: string; entityId: string };
      line = `${new Date().toISOString()}  ${event.eventName.padEnd(17)} ${event.id}  ${event.entityType} ${event.entityId}`;
    } catch {}
    if (!forwardTo) {
      console.log(`${line}  signature ${ok ? "ok" : "INVALID"}`);
      response.writeHead(ok ? 200 : 400).end();
      return;
    }
    // Passed on as received; the app's answer becomes ours, so the API records what the app said.
    let status = 502;
    let outcome: string;
    try {
      const headers = Object.fromEntries(FORWARDED.flatMap((name) => (request.headers[name] ? [[name, String(request.headers[name])]] : [])));
      const answer = await fetch(forwardTo, { method: "POST", headers, body, signal: AbortSignal.timeout(9_000) });
      status = answer.status;
      await answer.body?.cancel();
      outcome = `→ ${forwardTo} ${status}`;
    } catch (err) {
      outcome = `→ ${forwardTo} failed: ${(err as Error).message}`;
    }
    console.log(`${line}  signature ${ok ? "ok" : "INVALID"}  ${outcome}`);
    response.writeHead(status).end();
  });
});

async function call(method: string, path: string, key: string, body?: object) {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body && JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : ((await response.json()) as { data?: { id: string; url: string }[]; id?: string });
}

/** Whether another running webhooks:listen answers at an endpoint's URL (only loopback URLs are asked). */
async function listenerAt(url: string): Promise<boolean> {
  if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(url)) return false;
  return fetch(url, { signal: AbortSignal.timeout(1_000) }).then((r) => {
    const mark = r.headers.get(LISTENER_HEADER);
    return mark !== null && mark !== LISTENER_ID;
  }, () => false);
}

/** What this listener made, undone when it stops. */
const made: { key?: string; endpointId?: string } = {};

/** Makes room for the listener's endpoint: refuses (in one line) unless the account has none, or --replace names it. */
async function makeRoom(key: string) {
  for (const endpoint of (await call("GET", "/v1/webhook-endpoints", key))?.data ?? []) {
    if (await listenerAt(endpoint.url)) throw new Error(`Another webhooks:listen is receiving this account's events at ${endpoint.url}: stop it first (Ctrl-C in its terminal).`);
    if (!values.replace) throw new Error(`The account already has a webhook endpoint, ${endpoint.url} (${endpoint.id}): pass --replace to replace it (it is deleted, with its secret), or delete it yourself.`);
    await call("DELETE", `/v1/webhook-endpoints/${endpoint.id}`, key);
    console.log(`Replaced the endpoint ${endpoint.url} (${endpoint.id}), as --replace said.`);
  }
}

/** Removes the listener's endpoint and revokes its key; what could not be undone is said, not thrown. */
async function undo() {
  const notes: string[] = [];
  if (made.endpointId && made.key) await call("DELETE", `/v1/webhook-endpoints/${made.endpointId}`, made.key).then(() => notes.push("its endpoint removed"), (e: Error) => notes.push(`its endpoint not removed (${e.message})`));
  if (made.key) {
    // In a process of its own: Ctrl-C reached every process of this one's group (the TypeScript loader's too).
    const revoked = spawnSync(TSX, [KEYS, "revoke", "-", ...(local.persistTo ? ["--persist-to", local.persistTo] : [])], { input: made.key, encoding: "utf8" });
    notes.push(revoked.status === 0 ? "its key revoked" : `its key not revoked (${revoked.stderr.trim() || `exit ${revoked.status}`}: npm run key:list shows it)`);
  }
  return notes;
}

server.listen(port, "127.0.0.1", async () => {
  try {
    made.key = await createKey({ accountId, mode: "test", madeBy: "webhooks:listen", ...local });
    // Closed while the listener runs: the local bindings' own process would take Ctrl-C with it before the clean-up.
    await closeLocal();
    await makeRoom(made.key);
    const url = `http://127.0.0.1:${port}/webhooks`;
    made.endpointId = (await call("POST", "/v1/webhook-endpoints", made.key, { url, secret }))!.id;
    console.log(`Listening on ${url}: the test-mode endpoint of the local account.
Signing secret: ${secret}  (Vatly-Signature: hex HMAC-SHA256 of the body keyed with it; the PHP client's validator)
Standard Webhooks: ${standardSecret}  (webhook-signature: verifyWebhook and the standardwebhooks libraries take either form)
${forwardTo ? `Forwarding each delivery to ${forwardTo}; its status is the answer the API records.\n` : ""}Ready: events will appear below (Ctrl-C to stop: the endpoint is removed and the key revoked).`);
  } catch (err) {
    const message = (err as Error).message;
    await undo();
    await closeLocal();
    console.error(/webhooks:listen|already has a webhook endpoint/.test(message) ? message : `Could not register with ${api} (is \`npm run dev\` running?): ${message}`);
    process.exit(1);
  }
});
server.on("error", (err: NodeJS.ErrnoException) => {
  console.error(err.code === "EADDRINUSE" ? `Port ${port} is taken: pass another with --port <port>.` : `Could not listen on 127.0.0.1:${port}: ${err.message}`);
  process.exit(1);
});
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    const notes = await undo();
    console.log(`Stopped${notes.length ? `: ${notes.join(", ")}` : ""}.`);
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  });
}
