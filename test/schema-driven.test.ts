// Requests generated from the OpenAPI document's own schemas: every schema-valid request is accepted (or refused only
// for what a schema cannot say: a taken email, a cursor naming nothing, a reused Idempotency-Key), and every answer
// matches the document (call() checks that).
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import openapi from "../openapi.json";
import { call, createCustomer, newKey } from "./helpers";

// `SCHEMA_RUNS=1000 npm run test:unit -- test/schema-driven.test.ts` for a long run.
const RUNS = Number(env.SCHEMA_RUNS) || 60;
const TIMEOUT = Math.max(120_000, RUNS * 1_000);
type Schema = Record<string, any>;
const schemas = openapi.components.schemas as Record<string, Schema>;
const resolve = (s: Schema): Schema => (s.$ref ? resolve(schemas[s.$ref.split("/").pop()!]!) : s);
const codePoints = (s: string) => [...s].length;
// fast-check generates from a regex but not through lookaheads: generate without them, keep what the full pattern allows.
const withoutLookaheads = (pattern: string) => pattern.replace(/\(\?=(?:[^()\\]|\\.|\[[^\]]*\])*\)/g, "");

function text(s: Schema): fc.Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = s.maxLength ?? (s.pattern ? Infinity : 30); // a pattern bounds its own length
  const generated = s.pattern && withoutLookaheads(s.pattern);
  const source = generated
    // Medium-sized strings for long fields, unless the pattern has a lookahead: the email's (a local part of at most 64)
    // refused 99% of medium candidates, 0.2 s per value; small ones still average 69 characters.
    ? fc.stringMatching(new RegExp(generated), { size: max > 100 && generated === s.pattern ? "medium" : "small" })
    : fc.string({ unit: "grapheme", minLength: min, maxLength: Math.min(max, 30) });
  const full = s.pattern ? new RegExp(s.pattern) : null;
  const excluded: unknown[] = s.not?.enum ?? [];
  return source.filter((v) => codePoints(v) >= min && codePoints(v) <= max && (!full || full.test(v)) && !excluded.includes(v));
}

/** An arbitrary of every value the (subset of) JSON Schema the document uses allows. */
function valueOf(schema: Schema): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  if (Object.keys(s).length === 0) return fc.jsonValue(); // {} allows anything
  if (s.anyOf) return fc.oneof(...(s.anyOf as Schema[]).map(valueOf));
  if ("const" in s) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  switch (s.type) {
    case "null": return fc.constant(null);
    case "boolean": return fc.boolean();
    case "integer": return fc.integer({ min: s.minimum ?? -1000, max: s.maximum ?? 1000 });
    case "string": return text(s);
    case "array": return fc.array(valueOf(s.items ?? {}), { minLength: s.minItems ?? 0, maxLength: s.maxItems ?? 3 });
    case "object":
      if (s.properties) {
        return fc.record(Object.fromEntries(Object.entries(s.properties as Record<string, Schema>).map(([k, v]) => [k, valueOf(v)])), { requiredKeys: s.required ?? [] });
      }
      return fc.dictionary(text({ type: "string", ...s.propertyNames }), valueOf(s.additionalProperties ?? {}), { maxKeys: Math.min(s.maxProperties ?? 8, 8) });
  }
  throw new Error(`schema not covered by the generator: ${JSON.stringify(s).slice(0, 120)}`);
}

const operation = (path: keyof typeof openapi.paths, method: string) => (openapi.paths[path] as Record<string, any>)[method];
const parameter = (op: any, name: string): Schema => {
  const p = op.parameters.map((x: Schema) => (x.$ref ? (openapi.components.parameters as Record<string, Schema>)[x.$ref.split("/").pop()!] : x)).find((x: Schema) => x.name === name);
  return p.schema;
};
const bodySchema = (op: any, type = "application/json"): Schema => op.requestBody.content[type].schema;

let key = "";
let customerId = "";
beforeAll(async () => {
  key = (await newKey()).key;
  customerId = (await createCustomer(key, { email: "schema-driven@example.com" })).id;
});

const TAKEN = { email: ["The email has already been taken."] };

describe(`requests generated from openapi.json (${RUNS} each)`, () => {
  it("POST /v1/customers: every schema-valid request creates a customer", async () => {
    const op = operation("/v1/customers", "post");
    const used = new Map<string, string>();
    await fc.assert(
      fc.asyncProperty(valueOf(bodySchema(op)), fc.option(valueOf(parameter(op, "Idempotency-Key")), { nil: undefined }), async (body, idempotencyKey) => {
        const json = JSON.stringify(body);
        const headers: Record<string, string> = idempotencyKey === undefined ? {} : { "Idempotency-Key": idempotencyKey as string };
        const response = await call("/v1/customers", { key, body: json, headers: { ...headers, "Content-Type": "application/json" } });
        const answer = (await response.json()) as { errors?: unknown };
        const reused = idempotencyKey !== undefined && used.has(idempotencyKey as string) && used.get(idempotencyKey as string) !== json;
        if (idempotencyKey !== undefined && !used.has(idempotencyKey as string) && response.status === 201) used.set(idempotencyKey as string, json);
        if (response.status === 422) expect(answer.errors).toEqual(TAKEN);
        else if (response.status === 409) expect(reused).toBe(true);
        else expect(response.status, JSON.stringify(answer)).toBe(201);
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it("PATCH /v1/customers/{id}: every schema-valid update applies", async () => {
    const op = operation("/v1/customers/{id}", "patch");
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("application/json", "application/merge-patch+json"), valueOf(bodySchema(op)), async (type, body) => {
        const response = await call(`/v1/customers/${customerId}`, { method: "PATCH", key, body: JSON.stringify(body), headers: { "Content-Type": type } });
        const answer = (await response.json()) as { errors?: Record<string, string[]> };
        if (response.status === 422) {
          // What no schema can say: the email is another customer's, or the merge would pass 50 keys.
          expect([JSON.stringify(TAKEN), JSON.stringify({ metadata: ["The metadata field must not have more than 50 keys."] })]).toContain(JSON.stringify(answer.errors));
        } else {
          expect(response.status, JSON.stringify(answer)).toBe(200);
        }
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it("GET /v1/customers: every schema-valid query answers a page", async () => {
    const op = operation("/v1/customers", "get");
    const names = ["limit", "startingAfter", "endingBefore", "email"];
    const query = fc.record(Object.fromEntries(names.map((n) => [n, valueOf(parameter(op, n))])), { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(query, fc.option(valueOf(parameter(op, "X-D1-Bookmark")), { nil: undefined }), async (q, bookmark) => {
        const search = new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)]));
        const response = await call(`/v1/customers?${search}`, { key, headers: bookmark === undefined ? {} : { "X-D1-Bookmark": bookmark as string } });
        const answer = (await response.json()) as { errors?: Record<string, string[]> };
        if (response.status === 422) {
          // A cursor that names no customer, or both cursors at once (the description says so; a schema cannot).
          for (const messages of Object.values(answer.errors!)) {
            expect(messages[0]).toMatch(/^No customer with the id given as|cannot be combined/);
          }
        } else {
          expect(response.status, JSON.stringify(answer)).toBe(200);
        }
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it("POST /v1/webhook-endpoints: every schema-valid request creates the endpoint (test mode)", async () => {
    const op = operation("/v1/webhook-endpoints", "post");
    await fc.assert(
      fc.asyncProperty(valueOf(bodySchema(op)), async (body) => {
        const response = await call("/v1/webhook-endpoints", { key: (await newKey()).key, body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
        expect(response.status, JSON.stringify([body, await response.clone().text()])).toBe(201);
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it("PATCH /v1/webhook-endpoints/{id}: every schema-valid update applies, for both content types", async () => {
    const op = operation("/v1/webhook-endpoints/{id}", "patch");
    const owner = (await newKey()).key;
    const created = await call("/v1/webhook-endpoints", { key: owner, json: { url: "https://schema.example/h", secret: "schema-driven-secret" } });
    const { id } = (await created.json()) as { id: string };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("application/json", "application/merge-patch+json"), valueOf(bodySchema(op)), async (type, body) => {
        const response = await call(`/v1/webhook-endpoints/${id}`, { method: "PATCH", key: owner, body: JSON.stringify(body), headers: { "Content-Type": type } });
        expect(response.status, JSON.stringify([body, await response.clone().text()])).toBe(200);
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it("every PATCH body is closed in the document, and a field it does not name is refused, for both content types", async () => {
    const endpoint = await call("/v1/webhook-endpoints", { key, json: { url: "https://closed.example/h", secret: "closed-body-secret" } });
    const { id } = (await endpoint.json()) as { id: string };
    for (const [path, url] of [["/v1/customers/{id}", `/v1/customers/${customerId}`], ["/v1/webhook-endpoints/{id}", `/v1/webhook-endpoints/${id}`]] as const) {
      const op = operation(path, "patch");
      for (const type of ["application/json", "application/merge-patch+json"]) {
        expect(resolve(bodySchema(op, type)).additionalProperties, `${path} ${type}`).toBe(false);
        const response = await call(url, { method: "PATCH", key, body: JSON.stringify({ unknownField: "x" }), headers: { "Content-Type": type } });
        expect(response.status, `${path} ${type}`).toBe(422);
      }
    }
  });
});
