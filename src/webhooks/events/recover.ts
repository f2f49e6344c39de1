// POST /v1/webhook-events/recover: after an outage of the merchant's endpoint, every failed event since a time is
// sent again (Svix's "recover", Hookdeck's bulk retry). `dryRun: true` only counts them: the dashboard's preview. At
// most 1,000 a call, oldest first; `hasMore` says to call again. Idempotent with an Idempotency-Key, like every write.
import { json } from "itty-router";
import * as v from "valibot";
import type { Env, RouteRequest } from "../../env";
import { failValidation, fieldErrors, refusedFields } from "../../lib/errors";
import { ENDPOINT_ID, isoSeconds } from "../../lib/ids";
import type { Described } from "../../lib/describe";
import { MAX_BODY_BYTES } from "../../pipeline/body";
import { replayStored } from "../../pipeline/idempotency";
import { findEndpoint } from "../endpoints/repository";
import { deliverAllLater, timeSchema } from "./event";
import { previewRecovery, RECOVER_MAX, recoverEvents, type Recovery } from "./repository";

export const RecoverBody = v.object({
  since: v.pipe(v.string("The since field is required: an ISO 8601 date or date-time."), timeSchema("since"),
    v.description("Failed events created at this time or later are sent again (events are kept 30 days).")),
  endpointId: v.optional(v.pipe(v.string(), v.regex(ENDPOINT_ID, "The endpointId must be a webhook endpoint id (webhook_...)."),
    v.description("Only the events of this endpoint."))),
  dryRun: v.optional(v.pipe(v.boolean("The dryRun field must be true or false."), v.description("Only count the events a recover would send; nothing changes."))),
});
const FIELDS = new Set(Object.keys(RecoverBody.entries));

export const RecoverySchema = v.object({
  resource: v.literal("webhook_event_recovery"),
  since: v.pipe(v.string(), v.isoTimestamp()),
  endpointId: v.nullable(v.string()),
  dryRun: v.boolean(),
  count: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(RECOVER_MAX), v.description(`How many failed events were made due now (dry run: would be), at most ${RECOVER_MAX}.`)),
  hasMore: v.pipe(v.boolean(), v.description("More failed events of the selection remain: call again (dry run: more than count).")),
});

/** POST /v1/webhook-events/recover */
export async function recoverEventsHandler(request: RouteRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
  const input = request.input!;
  const refused = refusedFields(input, FIELDS);
  const parsed = v.safeParse(RecoverBody, input, { abortPipeEarly: true });
  if (Object.keys(refused).length > 0 || !parsed.success) failValidation({ ...(parsed.success ? {} : fieldErrors(parsed.issues)), ...refused });
  const { caller, idempotency } = request;
  const { since, endpointId = null, dryRun = false } = parsed.output;
  if (endpointId && !(await findEndpoint(request.db, caller, endpointId))) failValidation({ endpointId: ["No webhook endpoint with this id in the caller's account and mode."] });
  const recovery: Recovery = { since: isoSeconds(since), fromMs: since, endpointId };
  if (dryRun) {
    const n = await previewRecovery(request.db, caller, recovery);
    return json({ resource: "webhook_event_recovery", since: recovery.since, endpointId, dryRun, count: Math.min(n, RECOVER_MAX), hasMore: n > RECOVER_MAX });
  }
  const outcome = await recoverEvents(request.db, caller, recovery, idempotency, Date.now());
  const replay = replayStored(outcome.stored, idempotency);
  if (replay) return replay;
  deliverAllLater(env, ctx, caller, outcome.ids);
  return new Response(outcome.body, { headers: { "Content-Type": "application/json; charset=utf-8" } });
}

export const describe: Described = {
  path: "/v1/webhook-events/recover",
  method: "post",
  operation: (d) => ({
    operationId: "recoverWebhookEvents",
    summary: "Resend failed events",
    description: `Sends again every event that failed for good (out of attempts) since a time, optionally only those of one endpoint: at most ${RECOVER_MAX} a call, oldest first (hasMore: call again). Events whose endpoint is gone, or that would send an erased customer's data, are never sent. With dryRun, only counts them. Counts against the account's rate limit.`,
    parameters: [d.param("IdempotencyKey"), d.param("Bookmark")],
    requestBody: { ...d.body(d.schema("RecoverWebhookEventsRequest", v.strictObject(RecoverBody.entries))), required: true },
    responses: {
      "200": d.json(d.schema("WebhookEventRecovery", RecoverySchema), "How many events were sent again (or, dry run, would be).", d.header("X-D1-Bookmark")),
      ...d.common(),
      ...d.writeErrors(MAX_BODY_BYTES),
      "422": d.validation("since is missing or not a date, endpointId names no endpoint of the caller, or a field is unknown."),
    },
  }),
};
