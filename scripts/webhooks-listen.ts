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

const USAGE = `Usage: npm run webhooks:listen [-- --port <receiver port>] [--api <url>] [--account <id>] [--persist-to <dir>]

Receives on http://127.0.0.1:<port>/webhooks (default 4242) the events of the local account (default acct_local,
as npm run dev), from the API at --api (default http://127.0.0.1:${devPort()}: where npm run dev serves now, else $PORT
or 8787). Stop with Ctrl-C.`;

const { values } = cli(USAGE, { port: { type: "string" }, api: { type: "string" }, account: { type: "string" }, "persist-to": { type: "string" } });
const port = Number(values.port ?? 4242);
const api = (values.api ?? `http://127.0.0.1:${devPort()}`).replace(/\/+$/, "");
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
    console.log(`${line}  signature ${ok ? "ok" : "INVALID"}`);
    response.writeHead(ok ? 200 : 400).end();
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
Ready: events will appear below (Ctrl-C to stop).`);
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
