// Route stage for writes: the JSON object body, read once with every size and encoding rule applied.
import { StatusError } from "itty-router";
import type { ApiRequest } from "../env";
import { fail } from "../lib/errors";

/**
 * Above the largest body the contract allows: 50 metadata keys of 40 and values of 500 characters plus a name of 255,
 * every character an emoji that PHP's json_encode escapes as a 12-byte surrogate pair, is about 330 KB.
 */
export const MAX_BODY_BYTES = 1024 * 1024;
const JSON_TYPES = new Set(["application/json", "application/merge-patch+json"]);
// Strict: invalid UTF-8 is a 400, never silently replaced with U+FFFD.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * 415 unless JSON, 413 past the cap (declared or streamed), 400 unless an object. No body is `{}` when it carries no
 * Content-Type (the PHP client's create([])) and always on PATCH ("no body changes nothing").
 */
export async function readBody(request: ApiRequest): Promise<void> {
  const mediaType = request.headers.get("Content-Type")?.split(";")[0]!.trim().toLowerCase();
  const declared = request.headers.get("Content-Length");
  const emptyIsObject = mediaType === undefined || request.method === "PATCH";
  if (emptyIsObject && (request.body === null || declared === "0")) {
    request.input = {};
    return;
  }
  if (mediaType === undefined || !JSON_TYPES.has(mediaType)) fail(415, "The Content-Type must be application/json.");
  if (Number(declared) > MAX_BODY_BYTES) tooLarge();
  // With a declared length the runtime reads exactly that much; only a chunked body is counted as it streams.
  let bytes: Uint8Array;
  try {
    bytes = declared !== null ? new Uint8Array(await request.arrayBuffer()) : await readCapped(request.body!);
  } catch (err) {
    if (err instanceof StatusError) throw err; // the 413 of a streamed body
    // The client went away (or broke the stream) before its body ended: its fault, not a server error to log.
    fail(400, "The request body ended before it was complete.");
  }
  if (bytes.byteLength === 0 && emptyIsObject) {
    request.input = {};
    return;
  }

  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    fail(400, "The request body is not valid JSON.");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(400, "The request body must be a JSON object.");
  request.input = value as Record<string, unknown>;
}

async function readCapped(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = body.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    length += chunk.value.byteLength;
    if (length > MAX_BODY_BYTES) {
      await reader.cancel();
      tooLarge();
    }
    chunks.push(chunk.value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function tooLarge(): never {
  fail(413, `The request body must not be larger than ${MAX_BODY_BYTES} bytes.`);
}
