import { fail } from "./errors";

export const MAX_BODY_BYTES = 64 * 1024;
// Strict: invalid UTF-8 is a 400, never silently replaced with U+FFFD.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Reads a JSON object body: 415 unless `application/json`, 413 past the limit (declared or streamed), 400 unless an object. */
export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const mediaType = request.headers.get("Content-Type")?.split(";")[0]!.trim().toLowerCase();
  const declared = request.headers.get("Content-Length");
  // No body at all is an empty request, not a wrong content type: the PHP client sends create([]) that way.
  if (mediaType === undefined && (request.body === null || declared === "0")) return {};
  if (mediaType !== "application/json") fail(415, "The Content-Type must be application/json.");
  if (Number(declared) > MAX_BODY_BYTES) tooLarge();
  // With a declared length the runtime reads exactly that much; only a chunked body is counted as it streams.
  const bytes = declared !== null ? new Uint8Array(await request.arrayBuffer()) : await readCapped(request.body);

  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    fail(400, "The request body is not valid JSON.");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(400, "The request body must be a JSON object.");
  return value as Record<string, unknown>;
}

async function readCapped(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  if (body) {
    const reader = body.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      length += chunk.value.byteLength;
      if (length > MAX_BODY_BYTES) {
        await reader.cancel();
        tooLarge();
      }
      chunks.push(chunk.value);
    }
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
