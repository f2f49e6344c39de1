import * as v from "valibot";
import { sha256Hex } from "../auth";
import { openDatabase, uniqueViolation, type Database } from "../db/client";
import type { ApiRequest, Caller, Env } from "../env";
import { fail, failValidation } from "../errors";
import { readJsonObject } from "../http";
import { customerIdTime, newCustomerId } from "../ids";
import { baseUrl, toCustomer, type CustomerRow } from "./customer";
import { enforceRateLimit } from "../rate-limit";
import { findIdempotencyRecord, IDEMPOTENCY_WINDOW_MS, insertCustomer, insertCustomerIdempotently, type IdempotencyRecord } from "./repository";

// ASCII addresses only: a dot-atom local part, and a domain of LDH labels whose top level is letters or Punycode.
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const TOP_LABEL = "(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{0,58}[A-Za-z0-9])";
const EMAIL = new RegExp(`^(?=[^@]{1,64}@)${ATOM}(?:\\.${ATOM})*@(?:${LABEL}\\.)+${TOP_LABEL}$`);
const ASCII = /^[\x20-\x7e]*$/;

const INVALID_EMAIL = "The email field must be a valid email address.";
const RESERVED_KEYS = ["__proto__", "constructor", "prototype"];

const Email = v.pipe(
  v.string((issue) => (issue.input == null ? "The email field is required." : "The email field must be a string.")),
  v.description("Leading and trailing whitespace is trimmed first. ASCII only: internationalized domains in Punycode."),
  v.trim(),
  v.nonEmpty("The email field is required."),
  v.maxLength(254, "The email field must not be greater than 254 characters."),
  v.regex(
    EMAIL,
    (issue) => ASCII.test(issue.input as string)
      ? INVALID_EMAIL
      : `${INVALID_EMAIL} Internationalized domains must be sent in Punycode (e.g. user@xn--mller-kva.de).`,
  ),
);

const isWellFormed = (s: string) => s.isWellFormed();

const Metadata = v.nullish(
  v.pipe(
    v.custom<Record<string, unknown>>((m) => typeof m === "object" && m !== null && !Array.isArray(m), "The metadata field must be an object."),
    // valibot's record() drops these keys silently; refuse them instead of storing less than was sent.
    v.check((m) => !RESERVED_KEYS.some((k) => Object.hasOwn(m, k)), `The metadata keys ${RESERVED_KEYS.join(", ")} are reserved.`),
    v.record(
      v.pipe(
        v.string(),
        v.minLength(1, "Metadata keys must be between 1 and 40 characters."),
        v.maxLength(40, "Metadata keys must be between 1 and 40 characters."),
        v.check(isWellFormed, "Metadata keys must be valid Unicode text."),
      ),
      v.pipe(
        v.string("Each metadata value must be a string."),
        v.maxLength(500, "Each metadata value must not be greater than 500 characters."),
        v.check(isWellFormed, "Each metadata value must be valid Unicode text."),
      ),
    ),
    v.maxEntries(50, "The metadata field must not have more than 50 keys."),
  ),
);

export const CreateCustomerBody = v.object(
  { email: Email, metadata: Metadata },
  // Only reached for a missing required key: the body is known to be an object by now.
  (issue) => `The ${String(issue.path?.[0]?.key)} field is required.`,
);

const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,64}$/;

function jsonText(body: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "Content-Type": "application/json; charset=utf-8", ...headers } });
}

/** POST /v1/customers */
export async function createCustomer(request: ApiRequest, env: Env): Promise<Response> {
  const caller = request.caller!;
  const input = await readJsonObject(request);
  const db = openDatabase(request, env);
  const now = request.receivedAt;

  // A key seen before answers from its record, before validation and before the rate limiter counts the request.
  const idempotencyKey = request.headers.get("Idempotency-Key");
  let record: IdempotencyRecord | undefined;
  if (idempotencyKey !== null) {
    if (!IDEMPOTENCY_KEY.test(idempotencyKey)) fail(400, "The Idempotency-Key header must be 1 to 64 printable ASCII characters.");
    const fingerprint = await sha256Hex(`POST ${request.pathname}\n${JSON.stringify(input)}`);
    const replay = await replayStored(db, caller, idempotencyKey, fingerprint, now);
    if (replay) return replay;
    record = { key: idempotencyKey, fingerprint, status: 201, body: "", createdAt: now };
  }
  await enforceRateLimit(request, env);

  // PHP's json_encode writes empty metadata (`'metadata' => []`) as an empty JSON array: read it as {}.
  const body = Array.isArray(input.metadata) && input.metadata.length === 0 ? { ...input, metadata: {} } : input;
  const parsed = v.safeParse(CreateCustomerBody, body, { abortPipeEarly: true });
  if (!parsed.success) failValidation(parsed.issues);

  const id = newCustomerId(now);
  const metadata = parsed.output.metadata ?? {};
  const row: CustomerRow = {
    id,
    testmode: caller.testmode,
    email: parsed.output.email,
    metadata: JSON.stringify(metadata),
    createdAt: new Date(customerIdTime(id)).toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
  const customer = toCustomer(row, baseUrl(request, env), metadata);
  const response = JSON.stringify(customer);

  try {
    if (record) await insertCustomerIdempotently(db, caller, row, { ...record, body: response }, now - IDEMPOTENCY_WINDOW_MS);
    else await insertCustomer(db, caller, row);
  } catch (err) {
    const index = uniqueViolation(err);
    if (index === "customers_scope_email") failValidation({ email: ["The email has already been taken."] });
    // A concurrent request with the same key committed first: answer as it did.
    if (index === "idempotency_keys" && record) {
      const replay = await replayStored(db, caller, record.key, record.fingerprint, now);
      if (replay) return replay;
    }
    throw err;
  }
  return jsonText(response, 201, { Location: customer.links.self.href });
}

/** The stored answer for this key, a 409 if the key was used for another request, or undefined if it is new. */
async function replayStored(db: Database, caller: Caller, key: string, fingerprint: string, now: number): Promise<Response | undefined> {
  const stored = await findIdempotencyRecord(db, caller, key, now - IDEMPOTENCY_WINDOW_MS);
  if (!stored) return undefined;
  if (stored.fingerprint !== fingerprint) {
    fail(409, "This Idempotency-Key was already used with a different request. Use a new key for a new request.");
  }
  return jsonText(stored.body, stored.status, { "Idempotent-Replayed": "true" });
}
