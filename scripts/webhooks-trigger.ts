// `npm run webhooks:trigger -- <event>`: what `stripe trigger` is to Stripe. Makes the real API calls that cause the
// event, on the local account (as `npm run dev` and `webhooks:listen`), and prints the event's id: with
// `webhooks:listen` running, the delivery shows up there. Needs `npm run dev` running.
import { randomUUID } from "node:crypto";
import { replaceLocalKey } from "./keys";
import { closeLocal, devPort } from "./local";
import { cli, fail } from "./wrangler";

const EVENTS = {
  "customer.created": "creates a customer",
  "customer.updated": "creates a customer, then changes its name",
  "customer.deleted": "creates a customer, then deletes it",
  "webhook.setup": "sends the account's endpoint a test event (as the dashboard's Send test event)",
} as const;
type Trigger = keyof typeof EVENTS;

const USAGE = `Usage: npm run webhooks:trigger -- <event> [--api <url>] [--account <id>] [--persist-to <dir>]

Events:
${Object.entries(EVENTS).map(([name, what]) => `  ${name.padEnd(18)} ${what}`).join("\n")}

Calls the API at --api (default http://127.0.0.1:${devPort()}: where npm run dev serves now, else $PORT or 8787) for the
local account (default acct_local, as npm run dev) with a local test key of its own, and prints the event's id.`;

const { values, positionals } = cli(USAGE, { api: { type: "string" }, account: { type: "string" }, "persist-to": { type: "string" } }, process.argv.slice(2), true);
const api = (values.api ?? `http://127.0.0.1:${devPort(values["persist-to"])}`).replace(/\/+$/, "");

async function call<T>(key: string, method: string, path: string, body?: object): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${api}${path}`, {
      method,
      headers: { Authorization: `Bearer ${key}`, ...(body ? { "Content-Type": "application/json" } : {}), ...(method === "GET" ? {} : { "Idempotency-Key": randomUUID() }) },
      body: body && JSON.stringify(body),
    });
  } catch {
    throw new Error(`Could not reach ${api}: is \`npm run dev\` running (or pass --api)?`);
  }
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  return (response.status === 204 ? null : await response.json()) as T;
}

try {
  const event = positionals[0] as Trigger | undefined;
  const names = Object.keys(EVENTS).join(", ");
  if (positionals.length !== 1 || !event) throw new Error(`Name one event to trigger: ${names} (--help shows the usage).`);
  if (!Object.hasOwn(EVENTS, event)) throw new Error(`Unknown event ${JSON.stringify(event)}: name one of ${names} (--help shows the usage).`);
  const key = await replaceLocalKey("trigger", { accountId: values.account ?? process.env.DEV_ACCOUNT ?? "acct_local", mode: "test", remote: false, persistTo: values["persist-to"] });
  await closeLocal();
  if (event === "webhook.setup") {
    const endpoints = await call<{ data: { id: string; url: string }[] }>(key, "GET", "/v1/webhook-endpoints");
    const endpoint = endpoints.data[0];
    if (!endpoint) throw new Error("The account has no webhook endpoint in test mode: start npm run webhooks:listen (or create one), then this again.");
    const sent = await call<{ id: string }>(key, "POST", `/v1/webhook-endpoints/${endpoint.id}/test`);
    console.log(`Triggered webhook.setup (endpoint ${endpoint.id}, ${endpoint.url}):`);
    console.log(sent.id);
    process.exit(0);
  }
  const customer = await call<{ id: string }>(key, "POST", "/v1/customers", { email: `trigger-${randomUUID().slice(0, 8)}@example.com`, name: "Triggered Customer" });
  if (event === "customer.updated") await call(key, "PATCH", `/v1/customers/${customer.id}`, { name: "Triggered Customer (renamed)" });
  if (event === "customer.deleted") await call(key, "DELETE", `/v1/customers/${customer.id}`);
  const events = await call<{ data: { id: string; entityId: string }[] }>(key, "GET", `/v1/webhook-events?eventName=${event}&limit=100`);
  const made = events.data.find((e) => e.entityId === customer.id);
  if (!made) throw new Error(`The ${event} event of ${customer.id} was not found.`);
  console.log(`Triggered ${event} (customer ${customer.id}):`);
  console.log(made.id);
} catch (err) {
  fail(err);
}
process.exit(0);
