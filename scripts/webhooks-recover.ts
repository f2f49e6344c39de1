// `npm run webhooks:recover -- --since <time>`: after an outage of your receiver, sends again every event that failed
// for good since then (POST /v1/webhook-events/recover, through the client: each call safe to retry). It previews the
// count first; --dry-run stops there. Calls continue while the API says more remain (1,000 a call).
import { replaceLocalKey } from "./keys";
import { closeLocal, devPort } from "./local";
import { cli, fail } from "./wrangler";
import { Vatly } from "../client/src/index";

const USAGE = `Usage: npm run webhooks:recover -- --since <ISO 8601 date or time> [--endpoint <webhook_...>] [--dry-run] [--api <url>] [--account <id>] [--persist-to <dir>]

Sends again every webhook event that failed for good (out of attempts) since --since, optionally only those of one
endpoint; --dry-run only counts them. With $VATLY_API_KEY set, calls --api (or $VATLY_API_BASE) as that key; otherwise
calls the local API (npm run dev, http://127.0.0.1:${devPort()}) for the local account (default acct_local) with a local
test key of its own.`;

const { values } = cli(USAGE, {
  since: { type: "string" }, endpoint: { type: "string" }, "dry-run": { type: "boolean" }, api: { type: "string" }, account: { type: "string" }, "persist-to": { type: "string" },
});

try {
  if (!values.since) throw new Error("--since is required: an ISO 8601 date or date-time, such as 2026-12-01 or 2026-12-01T09:30:00Z.");
  const apiKey = process.env.VATLY_API_KEY ??
    (await replaceLocalKey("trigger", { accountId: values.account ?? process.env.DEV_ACCOUNT ?? "acct_local", mode: "test", remote: false, persistTo: values["persist-to"] }));
  await closeLocal();
  const baseUrl = (values.api ?? process.env.VATLY_API_BASE ?? `http://127.0.0.1:${devPort(values["persist-to"])}`).replace(/\/+$/, "");
  const vatly = new Vatly({ apiKey, baseUrl });
  const selection = { since: values.since, ...(values.endpoint ? { endpointId: values.endpoint } : {}) };
  const preview = await vatly.webhookEvents.recover({ ...selection, dryRun: true });
  const of = values.endpoint ? ` of ${values.endpoint}` : "";
  console.log(`${preview.count}${preview.hasMore ? "+" : ""} failed event(s)${of} since ${preview.since} to send again.`);
  if (!values["dry-run"] && preview.count > 0) {
    let total = 0;
    for (let more = true; more;) {
      const run = await vatly.webhookEvents.recover(selection);
      total += run.count;
      more = run.hasMore && run.count > 0;
    }
    console.log(`Queued ${total} event(s) for delivery: each one's attempts show in its history (GET /v1/webhook-events/<id>/attempts).`);
  }
} catch (err) {
  fail(err);
}
process.exit(0);
