// The secret `npm run webhooks:listen` prints for Standard Webhooks, checked with that standard's own library.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
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

  it("after a rotation, the old secret alone and the new one alone verify a delivery with the library and the README's Node lines", () => {
    const [oldSecret, newSecret] = ["my-signing-secret-123", "my-rotated-secret-456"];
    const id = "webhook_event_0000000000000000000001";
    const body = JSON.stringify({ id, eventName: "customer.updated" });
    const timestamp = Math.floor(Date.now() / 1000);
    // What the consumer sends for 24 hours after the PATCH: the new secret first, the old one beside it.
    const headers = signatureHeaders(body, id, timestamp, [newSecret, oldSecret]);
    for (const secret of [oldSecret, newSecret]) expect(new Webhook(standardWebhooksSecret(secret)).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(standardWebhooksSecret("never-configured-000")).verify(body, headers)).toThrow();

    // The README's snippet, run as printed.
    const snippet = /In Node, with the secret as you gave it:\n\s*```js\n([\s\S]*?)```/.exec(readFileSync("README.md", "utf8"))![1]!;
    const check = new Function("require", "secret", "id", "timestamp", "rawBody", "signatureHeader", `${snippet}\nreturn ok;`);
    const run = (secret: string, raw = body) => check(createRequire(import.meta.url), secret, id, headers["webhook-timestamp"], raw, headers["webhook-signature"]);
    expect(run(oldSecret)).toBe(true);
    expect(run(newSecret)).toBe(true);
    expect(run("never-configured-000")).toBe(false);
    expect(run(oldSecret, `${body} `)).toBe(false);
  });
});
