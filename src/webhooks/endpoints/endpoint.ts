// The WebhookEndpoint object: its fields' validation, its rendering, and what every endpoint operation shares.
import * as v from "valibot";
import type { Caller, RouteRequest } from "../../env";
import { fail, failValidation } from "../../lib/errors";
import { ENDPOINT_ID, IsoSecondsSchema } from "../../lib/ids";
import { link, LinkSchema } from "../../lib/links";
import { listSchema } from "../../lib/pagination";
import { characters } from "../../lib/text";
import { findEndpoint, type EndpointRow } from "./repository";

/** How long the previous secret still signs (the Standard Webhooks header) after a rotation. */
export const PREVIOUS_SECRET_MS = 24 * 60 * 60 * 1000;

export const Url = v.pipe(
  v.string((issue) => (issue.input == null ? "The url field is required." : "The url field must be a string.")),
  v.trim(),
  v.nonEmpty("The url field is required."),
  v.maxLength(2048, "The url field must not be greater than 2048 characters."),
  v.check((s) => URL.canParse(s) && ["http:", "https:"].includes(new URL(s).protocol), "The url field must be an absolute http or https URL."),
  v.check((s) => !URL.canParse(s) || (!new URL(s).username && !new URL(s).password), "The url field must not contain a user name or password."),
  v.description("Absolute; https only in live mode (test mode also accepts http)."),
);
export const Secret = v.pipe(
  v.string((issue) => (issue.input == null ? "The secret field is required." : "The secret field must be a string.")),
  characters(10, 255, "The secret field must be between 10 and 255 characters."),
  v.check((s) => s.isWellFormed(), "The secret field must be valid Unicode text."),
  v.description("Write-only: never returned. Signs every delivery (Vatly-Signature and webhook-signature)."),
);

export const WebhookEndpointSchema = v.object({
  id: v.pipe(v.string(), v.regex(ENDPOINT_ID)),
  resource: v.literal("webhook_endpoint"),
  testmode: v.boolean(),
  url: v.string(),
  createdAt: IsoSecondsSchema,
  links: v.object({ self: LinkSchema }),
});
export const WebhookEndpointListSchema = listSchema(WebhookEndpointSchema, 1);

export const toEndpoint = (row: Pick<EndpointRow, "id" | "url" | "createdAt">, testmode: boolean, base: string) => ({
  id: row.id,
  resource: "webhook_endpoint" as const,
  testmode,
  url: row.url,
  createdAt: row.createdAt,
  links: { self: link(`${base}/v1/webhook-endpoints/${row.id}`) },
});

export const NOT_FOUND = "No webhook endpoint with this id in the caller's account and mode.";
export const notFound = (): never => fail(404, "Webhook endpoint not found.");

/** Live endpoints receive customer data over the internet: https only. */
export function requireHttpsInLive(url: string | undefined, caller: Caller): void {
  if (url !== undefined && !caller.testmode && new URL(url).protocol !== "https:") {
    failValidation({ url: ["The url field must use https in live mode."] });
  }
}

/** The endpoint the path names, or 404. */
export async function findOr404(request: RouteRequest): Promise<EndpointRow> {
  const id = request.params.id!;
  return (ENDPOINT_ID.test(id) && (await findEndpoint(request.db, request.caller, id))) || notFound();
}
