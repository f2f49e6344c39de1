// Ids: a prefix ("cus_", "webhook_", "webhook_event_") + 8 base62 chars of creation time (ms) + 14 random base62
// chars. The alphabet is in ASCII order, so comparing ids of one kind as strings compares creation times.
import * as v from "valibot";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const TIME_LENGTH = 8; // 62^8 ms reaches the year 8888
const RANDOM_LENGTH = 14; // ~83 bits

export const CUSTOMER_ID = /^cus_[0-9A-Za-z]{22}$/;
export const ENDPOINT_ID = /^webhook_[0-9A-Za-z]{22}$/;
export const EVENT_ID = /^webhook_event_[0-9A-Za-z]{22}$/;

export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      // 248 = 4 * 62: rejecting the rest keeps every character equally likely.
      if (bytes[i]! < 248) out += ALPHABET[bytes[i]! % 62];
    }
  }
  return out;
}

function encodeTime(ms: number): string {
  let out = "";
  for (let i = 0; i < TIME_LENGTH; i++) {
    out = ALPHABET[ms % 62] + out;
    ms = Math.floor(ms / 62);
  }
  return out;
}

// Workers freeze the clock during a request, so many ids can share one millisecond. Within an isolate,
// later ids in the same millisecond increment the previous random part, keeping id order = creation order.
let lastTime = 0;
let lastTimeText = "";
let lastRandom = "";

function increment(base62: string): string {
  for (let i = base62.length - 1; i >= 0; i--) {
    const next = ALPHABET.indexOf(base62[i]!) + 1;
    if (next < 62) return `${base62.slice(0, i)}${ALPHABET[next]}${"0".repeat(base62.length - 1 - i)}`;
  }
  return randomBase62(RANDOM_LENGTH); // unreachable in practice: 62^14 ids in one millisecond
}

export function newId(prefix: string, now: number): string {
  if (now <= lastTime) {
    lastRandom = increment(lastRandom);
  } else {
    lastTime = now;
    lastTimeText = encodeTime(now);
    lastRandom = randomBase62(RANDOM_LENGTH);
  }
  return `${prefix}${lastTimeText}${lastRandom}`;
}

export const newCustomerId = (now: number) => newId("cus_", now);

/**
 * The lowest id of a kind made at `ms` or later (ids begin with their creation time): `id >= idAt(prefix, t)` is
 * "created at t or later", `id < idAt(prefix, t)` "created before t", ranges on the same index the lists walk.
 */
export const idAt = (prefix: string, ms: number) => `${prefix}${encodeTime(Math.max(0, Math.min(ms, 62 ** TIME_LENGTH - 1)))}`;

/** The creation time encoded in an id, in ms. */
export function idTime(id: string): number {
  let ms = 0;
  for (const ch of id.slice(-(TIME_LENGTH + RANDOM_LENGTH), -RANDOM_LENGTH)) ms = ms * 62 + ALPHABET.indexOf(ch);
  return ms;
}

/** ISO 8601 UTC to the second, as the contract writes times: `2024-01-15T10:30:00Z`. */
// `YYYY-MM-DDTHH:MM:SS` is the first 19 characters of toISOString() for every year 0 to 9999; slicing is cheaper than a regex.
// A request's writes ask for the same second several times (the row, its event): the last answer is kept.
let isoSecond = NaN;
let isoText = "";
export function isoSeconds(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoText = `${new Date(ms).toISOString().slice(0, 19)}Z`;
  }
  return isoText;
}

/** What isoSeconds() writes, as the response schemas (and so the OpenAPI document) state every `createdAt`. */
export const IsoSecondsSchema = v.pipe(v.string(), v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/), v.metadata({ format: "date-time" }));
