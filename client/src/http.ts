// One call to the API, made safe to retry: every write carries an Idempotency-Key (the same on every attempt), and
// network errors, 429, 503 and other 5xx are retried with exponential backoff and full jitter, honouring Retry-After,
// within an attempt and a time budget. The latest X-D1-Bookmark is carried into the next call (read-your-writes).
import { errorFor, ServiceError, VatlyError } from "./errors.js";

export interface ClientOptions {
  apiKey: string;
  /** The API's base URL, e.g. https://api.example.com (default: http://127.0.0.1:8787, what `npm run dev` serves). */
  baseUrl?: string;
  /** Attempts per call, the first included (default 6). */
  maxAttempts?: number;
  /** The most a call may take across its attempts and waits, in ms (default 60,000). */
  timeBudgetMs?: number;
  /** The first backoff, doubled each retry before jitter (default 200 ms), and its cap (default 10,000 ms). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Send the latest X-D1-Bookmark with every call (default true). */
  bookmarks?: boolean;
  /** Another fetch (a test double, a proxy agent); default the global one. */
  fetch?: typeof fetch;
}

export interface CallOptions {
  /** Your own Idempotency-Key for a write (default: a fresh random one per call, reused by its retries). */
  idempotencyKey?: string;
  /** The ETag the write requires (412 otherwise). */
  ifMatch?: string;
}

export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
  requestId: string | null;
}

const RETRIABLE = (status: number) => status === 429 || status >= 500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A random Idempotency-Key (printable ASCII, well under 64 characters). */
export function newIdempotencyKey(): string {
  const bytes = (globalThis as unknown as { crypto: Crypto }).crypto.getRandomValues(new Uint8Array(18));
  return `vatly-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export class Http {
  private bookmark: string | null = null;
  readonly baseUrl: string;

  constructor(private readonly options: ClientOptions) {
    if (!options.apiKey) throw new Error("apiKey is required");
    this.baseUrl = (options.baseUrl ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
  }

  /** The latest X-D1-Bookmark received, which the next call sends (unless `bookmarks: false`). */
  get latestBookmark(): string | null {
    return this.bookmark;
  }

  /** The delay before retry `n` (1-based): Retry-After when the server gave one, else capped exponential, full jitter. */
  private delay(n: number, retryAfter: number | null): number {
    if (retryAfter !== null) return retryAfter * 1000;
    const cap = Math.min(this.options.maxDelayMs ?? 10_000, (this.options.baseDelayMs ?? 200) * 2 ** (n - 1));
    return Math.random() * cap;
  }

  async call<T>(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<Answer<T>> {
    const url = path.startsWith("http") ? path : `${this.baseUrl}${path}`;
    const write = method !== "GET" && method !== "HEAD";
    const headers: Record<string, string> = { Authorization: `Bearer ${this.options.apiKey}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (write) headers["Idempotency-Key"] = options.idempotencyKey ?? newIdempotencyKey();
    if (options.ifMatch) headers["If-Match"] = options.ifMatch;
    const fetchImpl = this.options.fetch ?? globalThis.fetch;
    const maxAttempts = this.options.maxAttempts ?? 6;
    const deadline = Date.now() + (this.options.timeBudgetMs ?? 60_000);
    for (let attempt = 1; ; attempt++) {
      if (this.bookmark && this.options.bookmarks !== false) headers["X-D1-Bookmark"] = this.bookmark;
      let response: Response | null = null;
      let failure: unknown = null;
      try {
        response = await fetchImpl(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      } catch (err) {
        failure = err; // no answer: the write may or may not have applied; its key makes the retry safe
      }
      const retryAfter = response ? Number(response.headers.get("Retry-After") ?? NaN) : NaN;
      const wait = this.delay(attempt, Number.isFinite(retryAfter) ? retryAfter : null);
      const retriable = failure !== null || (response !== null && RETRIABLE(response.status));
      if (retriable && attempt < maxAttempts && Date.now() + wait < deadline) {
        await response?.body?.cancel();
        await sleep(wait);
        continue;
      }
      if (!response) throw new ServiceError(`No answer from ${url}: ${String((failure as Error)?.message ?? failure)}`, 0, null);
      return this.settle<T>(response, Number.isFinite(retryAfter) ? retryAfter : null);
    }
  }

  private async settle<T>(response: Response, retryAfter: number | null): Promise<Answer<T>> {
    const requestId = response.headers.get("X-Request-Id");
    const bookmark = response.headers.get("X-D1-Bookmark");
    if (bookmark) this.bookmark = bookmark;
    const text = await response.text();
    let body: unknown = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (!response.ok && response.status !== 304) throw errorFor(response.status, body, requestId, retryAfter);
    return { status: response.status, body: body as T, headers: response.headers, requestId };
  }
}

export { VatlyError };
