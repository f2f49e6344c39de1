// Signing and verifying a delivery, and the client's errors, as plain functions in Node (run by npm test and, against
// every mutant, by npm run mutation): the signatures an independent HMAC computes, every way a delivery is refused.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { errorFor, RateLimitError, ServiceError, ApiError, AuthenticationError, PermissionError, ConflictError, PreconditionFailedError, ValidationError, NotFoundError } from "../../client/src/errors";
import { verifyWebhook } from "../../client/src/webhooks";
import { signatureHeaders, standardWebhooksSecret } from "../../src/webhooks/signature";

const SECRET = "unit-secret-0123456789";
const body = JSON.stringify({ id: "webhook_event_0VcZ9Xy1Zw2Vu3Ts4Rq5Po", eventName: "customer.created" });
const id = "webhook_event_0VcZ9Xy1Zw2Vu3Ts4Rq5Po";
const now = 1_767_225_600;

describe("signatureHeaders", () => {
  it("signs the body (hex) and id.timestamp.body (base64) with each secret, as an independent HMAC does", () => {
    const headers = signatureHeaders(body, id, now, [SECRET, "old-secret-000000"]);
    expect(headers["Vatly-Signature"]).toBe(createHmac("sha256", SECRET).update(body).digest("hex"));
    expect(headers["webhook-id"]).toBe(id);
    expect(headers["webhook-timestamp"]).toBe(String(now));
    const signed = `${id}.${now}.${body}`;
    expect(headers["webhook-signature"]).toBe(`v1,${createHmac("sha256", SECRET).update(signed).digest("base64")} v1,${createHmac("sha256", "old-secret-000000").update(signed).digest("base64")}`);
    expect(standardWebhooksSecret(SECRET)).toBe(`whsec_${Buffer.from(SECRET).toString("base64")}`);
  });
});

describe("verifyWebhook", () => {
  const headers = signatureHeaders(body, id, now, [SECRET]);
  const verify = (h: Record<string, string>, options: Partial<Parameters<typeof verifyWebhook>[2]> = {}, text: string | Uint8Array = body) =>
    verifyWebhook(text, h, { secrets: SECRET, now, ...options });

  it("returns the event of a genuine delivery: either secret of a rotation, either form, bytes or text, any header case", async () => {
    expect((await verify(headers)).id).toBe(id);
    expect((await verify(headers, { secrets: ["another-one-000000", SECRET] })).id).toBe(id);
    expect((await verify(headers, { secrets: standardWebhooksSecret(SECRET) })).id).toBe(id);
    expect((await verify(headers, {}, new TextEncoder().encode(body))).id).toBe(id);
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect((await verify(upper)).id).toBe(id);
    expect((await verifyWebhook(body, new Headers(headers), { secrets: SECRET, now })).id).toBe(id);
    expect((await verify(headers, { now: now + 300 })).id).toBe(id); // the tolerance's edge
    expect((await verify(headers, { now: now - 300 })).id).toBe(id);
  });

  it("refuses a wrong secret, a changed body, an old or future timestamp, missing or mismatched headers", async () => {
    await expect(verify(headers, { secrets: "wrong-secret-00000" })).rejects.toThrow("webhook-signature does not match");
    await expect(verify(headers, { secrets: [] })).rejects.toThrow("No secret to verify with");
    await expect(verify(headers, { secrets: "" })).rejects.toThrow("No secret to verify with");
    await expect(verify(headers, {}, `${body} `)).rejects.toThrow("webhook-signature does not match");
    await expect(verify(headers, { now: now + 301 })).rejects.toThrow("webhook-timestamp is outside the tolerance");
    await expect(verify(headers, { now: now - 301 })).rejects.toThrow("webhook-timestamp is outside the tolerance");
    await expect(verify(headers, { now: now + 30, toleranceSeconds: 10 })).rejects.toThrow("outside the tolerance");
    await expect(verify({ ...headers, "webhook-timestamp": "12a" })).rejects.toThrow("outside the tolerance");
    const { "webhook-id": _, ...noId } = headers;
    await expect(verify(noId)).rejects.toThrow("Missing Standard Webhooks headers");
    const { "webhook-signature": __, ...noSignature } = headers;
    await expect(verify(noSignature)).rejects.toThrow("Missing Standard Webhooks headers");
    await expect(verify({ ...headers, "webhook-signature": headers["webhook-signature"]!.replace("v1,", "v2,") })).rejects.toThrow("does not match");
    // Signed for another event id: the body names a different one.
    const other = signatureHeaders(body, "webhook_event_other", now, [SECRET]);
    await expect(verify(other)).rejects.toThrow("webhook-id does not name the event in the body");
  });

  it("refuses Vatly-Signature alone unless replays are accepted by name, and then checks it", async () => {
    const only = { "Vatly-Signature": headers["Vatly-Signature"]! };
    await expect(verify(only)).rejects.toThrow(/cannot be told from a replay/);
    expect((await verify(only, { acceptReplayableVatlySignature: true })).id).toBe(id);
    expect((await verify({ "Vatly-Signature": ` ${only["Vatly-Signature"].toUpperCase()} ` }, { acceptReplayableVatlySignature: true })).id).toBe(id);
    await expect(verify(only, { acceptReplayableVatlySignature: true, secrets: "wrong-secret-00000" })).rejects.toThrow("Vatly-Signature does not match");
    await expect(verify({}, { acceptReplayableVatlySignature: true })).rejects.toThrow("Missing webhook-signature and Vatly-Signature");
    await expect(verify({ "Vatly-Signature": only["Vatly-Signature"].slice(0, -2) }, { acceptReplayableVatlySignature: true })).rejects.toThrow("does not match");
  });
});

describe("errorFor", () => {
  it("gives each status its class, the request id, the body, and a message that says what to fix", () => {
    const cases: [number, unknown][] = [[401, AuthenticationError], [403, PermissionError], [404, NotFoundError], [409, ConflictError], [412, PreconditionFailedError], [422, ValidationError], [429, RateLimitError], [500, ServiceError], [503, ServiceError], [418, ApiError]];
    for (const [status, kind] of cases) {
      const error = errorFor(status, { message: `m${status}` }, "req_1", 7);
      expect(error, String(status)).toBeInstanceOf(kind as never);
      expect([error.status, error.requestId, error.message, error.name]).toEqual([status, "req_1", `m${status}`, (kind as { name: string }).name]);
    }
    expect((errorFor(429, {}, null, 7) as RateLimitError).retryAfterSeconds).toBe(7);
    expect(errorFor(502, null, null, null).message).toBe("HTTP 502");
    const invalid = errorFor(422, { message: "The given data was invalid.", errors: { email: ["taken"], name: ["long"] } }, null, null) as ValidationError;
    expect(invalid.message).toBe("The given data was invalid. email: taken (and 1 more field)");
    expect(invalid.errors).toEqual({ email: ["taken"], name: ["long"] });
    expect((errorFor(422, { message: "x" }, null, null) as ValidationError).errors).toEqual({});
    expect(errorFor(422, { message: "x", errors: { a: [] } }, null, null).message).toBe("x");
  });
});

describe("pinned by npm run mutation (survivors that were real behaviours)", () => {
  const headers = signatureHeaders(body, id, now, [SECRET]);
  it("verifyWebhook: a partial Standard Webhooks set is refused, never passed over; the timestamp is digits only; the clock is real by default", async () => {
    const vatly = { "Vatly-Signature": headers["Vatly-Signature"]! };
    for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"] as const) {
      await expect(verifyWebhook(body, { ...vatly, [name]: headers[name]! }, { secrets: SECRET, now, acceptReplayableVatlySignature: true }), name).rejects.toThrow("Missing Standard Webhooks headers");
    }
    const { "webhook-timestamp": _, ...noTimestamp } = headers;
    await expect(verifyWebhook(body, noTimestamp, { secrets: SECRET, now })).rejects.toThrow("Missing Standard Webhooks headers");
    await expect(verifyWebhook(body, { ...headers, "webhook-timestamp": `x${now}` }, { secrets: SECRET, now })).rejects.toThrow("outside the tolerance");
    const fresh = signatureHeaders(body, id, Math.floor(Date.now() / 1000), [SECRET]);
    expect((await verifyWebhook(body, fresh, { secrets: SECRET })).id).toBe(id);
    await expect(verifyWebhook(body, headers, { secrets: SECRET })).rejects.toThrow("outside the tolerance"); // signed long ago
  });

  it("verifyWebhook: only a whsec_ secret is read as base64; the same text without the prefix is the key as typed", async () => {
    const raw = Buffer.from("a-base64-decoded-key!").toString("base64");
    const signedWithDecoded = signatureHeaders(body, id, now, [Buffer.from(raw, "base64").toString("latin1")]);
    expect((await verifyWebhook(body, signedWithDecoded, { secrets: `whsec_${raw}`, now })).id).toBe(id);
    await expect(verifyWebhook(body, signedWithDecoded, { secrets: raw, now })).rejects.toThrow("does not match");
  });

  it("errorFor: a single field error has no 'more' suffix; several say how many, in the plural", () => {
    expect(errorFor(422, { message: "M", errors: { email: ["bad"] } }, null, null).message).toBe("M email: bad");
    expect(errorFor(422, { message: "M", errors: { a: ["1"], b: ["2"], c: ["3"] } }, null, null).message).toBe("M a: 1 (and 2 more fields)");
    expect((errorFor(422, null, null, null) as ValidationError).errors).toEqual({});
  });
});
