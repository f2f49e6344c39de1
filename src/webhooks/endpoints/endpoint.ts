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

/**
 * An absolute http(s) URL without credentials, whitespace or control characters, whose host is a DNS name (its last
 * label not a number) or a dotted IPv4 address. The document states this very pattern; live mode then also requires
 * https and a public host (publicHost below).
 */
const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const PORT = "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
export const URL_PATTERN = new RegExp(
  `^[Hh][Tt][Tt][Pp][Ss]?://(?:(?:${OCTET}\\.){3}${OCTET}|(?:${LABEL}\\.)*[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?::${PORT})?(?:[/?#][\\x21-\\x7e]*)?$`,
);

export const Url = v.pipe(
  v.string((issue) => (issue.input == null ? "The url field is required." : "The url field must be a string.")),
  v.nonEmpty("The url field is required."),
  v.maxLength(2048, "The url field must not be greater than 2048 characters."),
  v.regex(URL_PATTERN, "The url field must be an absolute http or https URL with a host name or IPv4 address, and no spaces, control characters or user name."),
  v.check((s) => URL.canParse(s), "The url field must be an absolute http or https URL."),
  v.description("Absolute http or https, at most 2048 characters. In live mode, https to a public host only (no localhost, private, link-local, shared or metadata address, no single-label name); test mode also accepts http and local hosts."),
);
export const Secret = v.pipe(
  v.string((issue) => (issue.input == null ? "The secret field is required." : "The secret field must be a string.")),
  characters(10, 255, "The secret field must be between 10 and 255 characters."),
  v.check((s) => s.isWellFormed(), "The secret field must be valid Unicode text."),
  v.description("Write-only: never returned. Signs every delivery (Vatly-Signature and webhook-signature)."),
);

export const WebhookEndpointSchema = v.pipe(v.object({
  id: v.pipe(v.string(), v.regex(ENDPOINT_ID)),
  resource: v.literal("webhook_endpoint"),
  testmode: v.boolean(),
  url: v.string(),
  createdAt: IsoSecondsSchema,
  links: v.object({ self: LinkSchema }),
}), v.examples([{
  id: "webhook_0VcZ9Ab3Cd4Ef5Gh6Ij7Kl", resource: "webhook_endpoint" as const, testmode: false, url: "https://shop.example/webhooks/vatly", createdAt: "2026-11-30T09:20:41Z",
  links: { self: { href: "https://api.example.com/v1/webhook-endpoints/webhook_0VcZ9Ab3Cd4Ef5Gh6Ij7Kl", type: "application/json" as const } },
}]));
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

/** Live endpoints receive customer data over the internet: https only, to a host the public internet can reach. */
export function requireHttpsInLive(url: string | undefined, caller: Caller): void {
  if (url === undefined || caller.testmode) return;
  const parsed = new URL(url);
  if (parsed.protocol !== "https:") failValidation({ url: ["The url field must use https in live mode."] });
  if (!publicHost(parsed.hostname)) failValidation({ url: ["The url field must name a public host in live mode (not a local, private or single-label one)."] });
}

// Special-use names that never leave the network they are in (RFC 6761, RFC 8375, common internal suffixes).
const LOCAL_SUFFIXES = ["localhost", "local", "internal", "intranet", "lan", "home", "corp", "home.arpa", "localdomain"];

/**
 * Whether a host (as the URL parser normalised it: `0x7f000001` and `2130706433` are 127.0.0.1 by then) can be a public
 * internet host: a name of two labels or more outside the special-use suffixes, or a globally routable IPv4 address.
 * IPv6 literals are refused in live mode: a public endpoint has a name.
 */
export function publicHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host.startsWith("[")) return false;
  const ipv4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (ipv4) return publicIpv4(ipv4.slice(1).map(Number) as [number, number, number, number]);
  const labels = host.split(".");
  if (labels.length < 2 || labels.some((label) => label === "")) return false;
  return !LOCAL_SUFFIXES.some((suffix) => host === suffix || host.endsWith(`.${suffix}`));
}

function publicIpv4([a, b, c]: [number, number, number, number]): boolean {
  if (a === 0 || a === 10 || a === 127 || a >= 224) return false; // this network, private, loopback, multicast and reserved
  if (a === 100 && b >= 64 && b <= 127) return false; // carrier-grade NAT
  if (a === 169 && b === 254) return false; // link-local, the cloud metadata address among them
  if (a === 172 && b >= 16 && b <= 31) return false;
  if (a === 192 && b === 168) return false;
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return false; // IETF protocol assignments, TEST-NET-1
  if (a === 198 && (b === 18 || b === 19)) return false; // benchmarking
  if ((a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return false; // TEST-NET-2, -3
  return true;
}

/** The endpoint the path names, or 404. */
export async function findOr404(request: RouteRequest): Promise<EndpointRow> {
  const id = request.params.id!;
  return (ENDPOINT_ID.test(id) && (await findEndpoint(request.db, request.caller, id))) || notFound();
}
