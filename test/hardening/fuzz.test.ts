import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { BASE, call, newKey } from "../helpers";

// `FUZZ_RUNS=20000 npm run test:unit -- test/hardening/fuzz.test.ts` for a long run.
const RUNS = Number(env.FUZZ_RUNS) || 2000;
const ASCII_EMAIL = /^[\x21-\x7e]+@[\x21-\x7e]+$/;

let keys: string[] = [];
let revoked = "";
const knownIds: string[] = [];

beforeAll(async () => {
  // Several keys, so that the rate limit (wrangler.toml) rarely decides the answer.
  keys = await Promise.all(Array.from({ length: Math.ceil(RUNS / 250) + 1 }, (_, i) => newKey({ mode: i % 3 ? "test" : "live" }).then((k) => k.key)));
  revoked = (await newKey({ revoked: true })).key;
  for (let i = 0; i < 40; i++) {
    const response = await call("/v1/customers", { key: keys[0], json: { email: `seed${i}@example.com` } });
    knownIds.push(((await response.json()) as { id: string }).id);
  }
});

const nasty = fc.constantFrom(
  "", " ", "\u0000", "\ud800", "\t\n", "__proto__", "constructor", "prototype", "toString", "cus_", "test_", "live_",
  "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --", "%00", "%E0%A4%A", "😀".repeat(300), "a".repeat(501), "x".repeat(70_000),
  "john@example.com", "JOHN@EXAMPLE.COM", " john@example.com ", "user@xn--mller-kva.de", "user@müller.de", "a@b", "@", "a@b.c",
);
const text = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary", maxLength: 50 }), nasty, fc.string({ minLength: 490, maxLength: 520 }));
const email = fc.oneof(fc.emailAddress(), text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.emailAddress(), { maxLength: 2 }), fc.object({ maxDepth: 1 }));
const metadataKey = fc.oneof(fc.string({ maxLength: 45 }), nasty);
const metadata = fc.oneof(
  fc.constant(null),
  fc.dictionary(metadataKey, fc.oneof(text, fc.integer(), fc.double(), fc.constant(null), fc.boolean()), { maxKeys: 55 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 20 }), { maxKeys: 60 }),
  fc.anything({ maxDepth: 3 }),
);
const name = fc.oneof(text, fc.constant(null), fc.integer(), fc.constant("😀".repeat(255)), fc.constant("😀".repeat(256)));
const metadataPatch = fc.oneof(metadata, fc.dictionary(fc.constantFrom("a", "b", "c", "k1"), fc.option(fc.string({ maxLength: 10 }), { nil: null }), { maxKeys: 4 }));
const url = fc.oneof(fc.webUrl(), fc.constantFrom("http://127.0.0.1:9/h", "https://user:pw@x.example/h", "ftp://x.example", "/relative", "https://x.example/" + "a".repeat(2100)), text);
// Addresses the API certainly accepts, so that creates and email changes succeed in every run.
const validEmail = fc.tuple(fc.stringMatching(/^[a-z0-9]{1,16}$/), fc.constantFrom("example.com", "test.org", "xn--mller-kva.de")).map(([l, d]) => `${l}@${d}`);
const jsonBody = fc.oneof(
  fc.record({ email: validEmail, name: fc.option(fc.string({ minLength: 1, maxLength: 20 }).filter((n) => n.trim() !== ""), { nil: undefined }), metadata: fc.option(fc.dictionary(fc.stringMatching(/^[a-z]{1,10}$/), fc.string({ maxLength: 20 }), { maxKeys: 5 }), { nil: undefined }) }, { requiredKeys: ["email"] }),
  // Webhook endpoint bodies, valid and not.
  fc.record({ url, secret: fc.oneof(text, fc.string({ minLength: 10, maxLength: 40 })), extra: fc.anything({ maxDepth: 1 }) }, { requiredKeys: [] }),
  fc.record({ email, name, metadata, extra: fc.anything({ maxDepth: 2 }) }, { requiredKeys: [] }),
  // Mostly valid updates, so PATCH reaches its success and merge paths too.
  fc.record({ email: fc.oneof(fc.emailAddress(), email), name, metadata: metadataPatch, id: fc.string(), createdAt: fc.string() }, { requiredKeys: [] }),
).map((o) => JSON.stringify(o));
const rawBody = fc.oneof(
  jsonBody,
  fc.json({ maxDepth: 3 }),
  text,
  fc.constantFrom(
    '{"email":"dup@example.com","email":"other@example.com"}',
    '{"email":"proto@example.com","metadata":{"__proto__":{"polluted":"yes"}}}',
    '{"email":"proto@example.com","metadata":{"constructor":{"prototype":"x"}}}',
    '{"__proto__":{"email":"a@example.com"}}',
    `${"[".repeat(5000)}${"]".repeat(5000)}`,
    `{"email":"deep@example.com","metadata":${'{"a":'.repeat(2000)}1${"}".repeat(2000)}}`,
    '{"email":"n@example.com","metadata":{"n":1e400}}',
    "null", "[]", "true", "\"str\"", "{}",
  ),
);

const cursorValue = fc.oneof(
  fc.constantFrom("cus_0000000000000000000000", "cus_zzzzzzzzzzzzzzzzzzzzzz", "cus_abc", "sub_0000000000000000000000", "CUS_0000000000000000000000"),
  fc.integer({ min: 0, max: 39 }).map((i) => knownIds[i] ?? "cus_x"),
  fc.stringMatching(/^cus_[0-9A-Za-z]{20,24}$/),
  text,
);
const limitValue = fc.oneof(fc.integer({ min: -5, max: 110 }).map(String), fc.constantFrom("1.5", "1e2", "abc", "", " 10", "0x10", "9".repeat(40), "-0", "+5", "10 "), text);
const query = fc
  .array(fc.oneof(fc.tuple(fc.constant("limit"), limitValue), fc.tuple(fc.constantFrom("startingAfter", "endingBefore"), cursorValue), fc.tuple(text, text)), { maxLength: 4 })
  .map((pairs) => (pairs.length ? `?${new URLSearchParams(pairs)}` : ""));

const path = fc.oneof(
  { weight: 6, arbitrary: fc.constant("/v1/customers") },
  { weight: 3, arbitrary: fc.oneof(cursorValue, text).map((id) => `/v1/customers/${encodeURIComponent(id.toWellFormed())}`) },
  // The seeded customers, so PATCH and DELETE often reach a real one.
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 39 }).map((i) => `/v1/customers/${knownIds[i] ?? "cus_x"}`) },
  { weight: 1, arbitrary: fc.constantFrom("/v1/customers/%E0%A4%A", "/v1/customers/%00", "/v1/customers/..", "/v1/customers/a/b", "/v1", "/", "/v2/customers", "//v1/customers") },
  { weight: 1, arbitrary: fc.webPath() },
  { weight: 2, arbitrary: fc.constantFrom("/v1/webhook-endpoints", "/v1/webhook-endpoints/") },
  { weight: 1, arbitrary: fc.oneof(fc.stringMatching(/^webhook_[0-9A-Za-z]{22}$/), text).map((id) => `/v1/webhook-endpoints/${encodeURIComponent(id.toWellFormed())}`) },
  { weight: 1, arbitrary: fc.oneof(fc.stringMatching(/^webhook_event_[0-9A-Za-z]{22}$/), text).map((id) => `/v1/webhook-events/${encodeURIComponent(id.toWellFormed())}`) },
  { weight: 1, arbitrary: fc.constant("/v1/webhook-events") },
);

type Auth = { kind: "valid" | "revoked" | "bad"; header?: string };
const auth: fc.Arbitrary<Auth> = fc.oneof(
  // Half of the valid requests use the key that owns the seeded customers, so PATCH and DELETE reach them.
  { weight: 8, arbitrary: fc.nat().map((i) => ({ kind: "valid" as const, header: `Bearer ${keys[i % 2 ? i % keys.length : 0]}` })) },
  // Built when generated, not when declared: the keys exist only after beforeAll.
  { weight: 1, arbitrary: fc.constant(null).map(() => ({ kind: "revoked" as const, header: `Bearer ${revoked}` })) },
  { weight: 2, arbitrary: fc.oneof(fc.constant(undefined), fc.string(), text, fc.constantFrom("Bearer", "Basic dGVzdA==", `Bearer test_${"a".repeat(40)}`, "Bearer sk_live_x"))
      // Header values are bytes on the wire; workerd only warns about (and re-encodes) non-ASCII ones.
      .filter((header) => header === undefined || /^[\x20-\x7e]*$/.test(header))
      .map((header) => ({ kind: "bad" as const, header })) },
);

const request = fc.record({
  method: fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom("GET", "POST") },
    { weight: 3, arbitrary: fc.constantFrom("PATCH", "DELETE") },
    { weight: 1, arbitrary: fc.constantFrom("PUT", "OPTIONS", "HEAD") },
  ),
  path,
  query,
  auth,
  body: rawBody,
  contentType: fc.oneof({ weight: 6, arbitrary: fc.constant("application/json") }, { weight: 1, arbitrary: fc.constantFrom(undefined, "text/plain", "application/json; charset=utf-8", "APPLICATION/JSON", "multipart/form-data", "application/merge-patch+json") }),
  ifMatch: fc.option(fc.constantFrom("*", '"stale"', "W/\"x\"", "garbage"), { nil: undefined }),
  idempotencyKey: fc.option(fc.oneof(fc.constantFrom("k1", "k2", "k3"), fc.string({ maxLength: 70 }).filter((k) => /^[\x20-\x7e]*$/.test(k))), { nil: undefined }),
});

function expectedStatuses(method: string, pathname: string, authKind: Auth["kind"]): number[] {
  if (/^\/+$/.test(pathname)) return ["GET", "HEAD"].includes(method) ? [200, 302, 429] : [405];
  const collection = /^\/v1\/(customers|webhook-endpoints|webhook-events)\/?$/.exec(pathname)?.[1];
  const member = collection ? undefined : /^\/v1\/(customers|webhook-endpoints|webhook-events)\/[^/]+\/?$/.exec(pathname)?.[1];
  if (collection === "webhook-events" || member === "webhook-events") {
    if (!["GET", "HEAD"].includes(method)) return [405];
    if (authKind === "bad") return [401, 403, 429];
    if (authKind === "revoked") return [403, 429];
    return collection ? [200, 422, 429] : [200, 404, 429];
  }
  if (collection === "webhook-endpoints" || member === "webhook-endpoints") {
    if (!(collection ? ["GET", "HEAD", "POST"] : ["GET", "HEAD", "PATCH", "DELETE"]).includes(method)) return [405];
    if (authKind === "bad") return [401, 403, 429];
    if (authKind === "revoked") return [403, 429];
    if (collection) return method === "POST" ? [201, 400, 409, 413, 415, 422, 429] : [200, 422, 429];
    if (method === "PATCH") return [200, 400, 404, 409, 413, 415, 422, 429];
    if (method === "DELETE") return [204, 400, 404, 409, 429];
    return [200, 404, 429];
  }
  const list = collection === "customers";
  const one = member === "customers";
  if (!list && !one) return [404];
  if (!(list ? ["GET", "HEAD", "POST"] : ["GET", "HEAD", "PATCH", "DELETE"]).includes(method)) return [405];
  if (authKind === "bad") return [401, 403, 429];
  if (authKind === "revoked") return [403, 429];
  if (one && method === "PATCH") return [200, 400, 404, 409, 412, 413, 415, 422, 429];
  if (one && method === "DELETE") return [204, 400, 404, 409, 412, 429];
  if (one) return [200, 404, 429];
  if (method === "GET" || method === "HEAD") return [200, 422, 429];
  return [201, 400, 404, 409, 413, 415, 422, 429];
}

type FuzzRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

function headersFor(r: FuzzRequest): Headers | null {
  try {
    const headers = new Headers();
    if (r.auth.header !== undefined) headers.set("Authorization", r.auth.header);
    if (r.contentType) headers.set("Content-Type", r.contentType);
    if (r.idempotencyKey !== undefined) headers.set("Idempotency-Key", r.idempotencyKey);
    if (r.ifMatch !== undefined) headers.set("If-Match", r.ifMatch);
    return headers;
  } catch {
    return null; // not a value any HTTP client can send
  }
}

describe(`fuzz: ${RUNS} generated requests`, () => {
  it("never answers 5xx, always JSON with a message on errors, always a status the contract allows, never stores a forbidden value", async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers = headersFor(r);
        fc.pre(headers !== null);
        let url: URL;
        try {
          url = new URL(BASE + r.path + r.query);
        } catch {
          return fc.pre(false);
        }
        const withBody = !["GET", "HEAD"].includes(r.method);
        const response = await call(url.pathname + url.search, { method: r.method, headers: Object.fromEntries(headers!), body: withBody ? r.body : undefined });
        seen.set(response.status, (seen.get(response.status) ?? 0) + 1);

        expect(response.status).toBeLessThan(500);
        expect(expectedStatuses(r.method, url.pathname, r.auth.kind)).toContain(response.status);
        expect(response.headers.get("X-Request-Id")).toBeTruthy();
        if (r.method === "HEAD" || response.status === 204) {
          expect(await response.text()).toBe("");
          return;
        }
        expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
        const body = (await response.json()) as Record<string, unknown>;
        if (response.status >= 400) expect(typeof body.message).toBe("string");

        if (url.pathname.startsWith("/v1/webhook-")) {
          // The secret is write-only: never echoed, whatever was sent.
          if (response.status < 300) expect(JSON.stringify(body)).not.toMatch(/"secret"/);
          return;
        }
        if (response.status === 201 || (response.status === 200 && r.method === "PATCH")) {
          // Whatever was accepted obeys the schema, and is what a later GET returns.
          const customer = body as { id: string; email: string; name: string | null; metadata: Record<string, unknown> };
          if (customer.name !== null) expect([...customer.name].length >= 1 && [...customer.name].length <= 255 && customer.name.trim() === customer.name).toBe(true);
          expect(customer.email).toMatch(ASCII_EMAIL);
          expect(customer.email.length).toBeLessThanOrEqual(254);
          const entries = Object.entries(customer.metadata);
          expect(entries.length).toBeLessThanOrEqual(50);
          for (const [k, v] of entries) {
            expect([...k].length >= 1 && [...k].length <= 40).toBe(true);
            expect(typeof v === "string" && [...v].length <= 500).toBe(true);
          }
          const fetched = await call(`/v1/customers/${customer.id}`, { headers: { Authorization: r.auth.header! } });
          expect(await fetched.json()).toEqual(body);
        }
        if (response.status === 200 && url.pathname.startsWith("/v1/customers") && Array.isArray(body.data)) {
          expect(body.count).toBe(body.data.length);
          expect(body.data.length).toBeLessThanOrEqual(100);
        }
      }),
      { numRuns: RUNS },
    );
    // The generator reached the interesting answers, not only one kind.
    for (const status of [200, 201, 204, 400, 401, 403, 404, 405, 415, 422]) expect(seen.get(status) ?? 0, `status ${status} never answered`).toBeGreaterThan(0);
  }, RUNS * 50 + 30_000);
});
