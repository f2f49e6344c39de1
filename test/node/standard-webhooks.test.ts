// The secret `npm run webhooks:listen` prints for Standard Webhooks, checked with that standard's own library.
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { signatureHeaders, standardWebhooksSecret } from "../../src/webhooks/signature";

describe("Standard Webhooks", () => {
  it("the whsec_ form of an endpoint secret verifies the Worker's webhook-signature with the standardwebhooks library", () => {
    const secret = "local_0123456789abcdef0123456789abcdef";
    const body = JSON.stringify({ id: "webhook_event_0000000000000000000000", eventName: "customer.created" });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = signatureHeaders(body, "webhook_event_0000000000000000000000", timestamp, [secret]);
    const verified = new Webhook(standardWebhooksSecret(secret)).verify(body, headers);
    expect(verified).toEqual(JSON.parse(body));
    // A tampered body, or the secret without the whsec_ form, is refused.
    expect(() => new Webhook(standardWebhooksSecret(secret)).verify(`${body} `, headers)).toThrow();
    expect(() => new Webhook(standardWebhooksSecret("another-secret-0000")).verify(body, headers)).toThrow();
  });
});
