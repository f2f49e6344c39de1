// `npm run webhooks:listen`: what `stripe listen` is to Stripe. Starts a receiver on 127.0.0.1, registers it as the
// test-mode webhook endpoint of the local account (replacing any previous one) with a fresh secret, checks the
// signature of every delivery and prints one line per event. Needs `npm run dev` running.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { verifyWebhook } from "../client/src/webhooks";
import { standardWebhooksSecret } from "../src/webhooks/signature";
import { replaceLocalKey } from "./keys";
import { closeLocal, devPort } from "./local";
import { cli } from "./wrangler";

const USAGE = `Usage: npm run webhooks:listen [-- --port <receiver port>] [--forward-to <url>] [--api <url>] [--account <id>] [--persist-to <dir>]

Receives on http://127.0.0.1:<port>/webhooks (default 4242) the events of the local account (default acct_local,
as npm run dev), from the API at --api (default http://127.0.0.1:${devPort()}: where npm run dev serves now, else $PORT
or 8787). --forward-to passes each delivery on to your app (the exact body and the signature headers, so the app
verifies it itself), prints the app's status, and answers the API with it: a failing app shows up as failed attempts
in the event's history (GET /v1/webhook-events/<id>/attempts). Stop with Ctrl-C.`;

const { values } = cli(USAGE, { port: { type: "string" }, "forward-to": { type: "string" }, api: { type: "string" }, account: { type: "string" }, "persist-to": { type: "string" } });
const forwardTo = values["forward-to"];
if (forwardTo !== undefined && !/^https?:\/\/[^\s]+$/.test(forwardTo)) {
  console.error(`--forward-to must be an http(s) URL, such as http://127.0.0.1:3000/hooks.`);
  process.exit(1);
}
/** The headers a delivery is verified by, passed on to the app as they came. */
const FORWARDED = ["content-type", "user-agent", "vatly-signature", "webhook-id", "webhook-timestamp", "webhook-signature"];
const port = Number(values.port ?? 4242);
const api = (values.api ?? `http://127.0.0.1:${devPort(values["persist-to"])}`).replace(/\/+$/, "");
// The endpoint's secret as the API takes it (Vatly-Signature is an HMAC keyed with its UTF-8 bytes), and the same
// bytes in the form Standard Webhooks libraries take (`whsec_` + base64) for webhook-signature.
const secret = `local_${randomBytes(24).toString("hex")}`;
const standardSecret = standardWebhooksSecret(secret);


const server = createServer((request, response) => {
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
  return response.status === 204 ? null : ((await response.json()) as { data?: { id: string }[]; id?: string });
}

server.listen(port, "127.0.0.1", async () => {
  try {
    const key = await replaceLocalKey("listen", { accountId: values.account ?? process.env.DEV_ACCOUNT ?? "acct_local", mode: "test", remote: false, persistTo: values["persist-to"] });
    await closeLocal();
    const existing = await call("GET", "/v1/webhook-endpoints", key);
    for (const endpoint of existing?.data ?? []) await call("DELETE", `/v1/webhook-endpoints/${endpoint.id}`, key);
    const url = `http://127.0.0.1:${port}/webhooks`;
    await call("POST", "/v1/webhook-endpoints", key, { url, secret });
    console.log(`Listening on ${url}: the test-mode endpoint of the local account.
Signing secret: ${secret}  (Vatly-Signature: hex HMAC-SHA256 of the body keyed with it; the PHP client's validator)
Standard Webhooks: ${standardSecret}  (webhook-signature: paste into \`new Webhook(...)\` of the standardwebhooks libraries)
${forwardTo ? `Forwarding each delivery to ${forwardTo}; its status is the answer the API records.\n` : ""}Ready: events will appear below (Ctrl-C to stop).`);
  } catch (err) {
    console.error(`Could not register with ${api} (is \`npm run dev\` running?): ${(err as Error).message}`);
    process.exit(1);
  }
});
server.on("error", (err: NodeJS.ErrnoException) => {
  console.error(err.code === "EADDRINUSE" ? `Port ${port} is taken: pass another with --port <port>.` : `Could not listen on 127.0.0.1:${port}: ${err.message}`);
  process.exit(1);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.close(() => process.exit(0)));
