// Runs the Worker's fetch handler (src/index.ts) n times in one request, against in-memory bindings, so that
// the CPU the workerd process spends is the Worker's own. bench/run.mjs reads that CPU from /proc around each call.
import worker from "../../src/index";
import { baselineResponse } from "../baseline/index";
import { allowAll, customerRow, FakeD1, FakeKV } from "./fakes";

const KEY = "test_benchbenchbenchbenchbenchbenchbench";
const KEY_HASH_NAME = "apikey:" + "0".repeat(64); // replaced at start-up with the real hash
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

export async function makeEnv() {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(KEY));
  const hash = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  const kv = new Map([[KEY_HASH_NAME.slice(0, 7) + hash, JSON.stringify({ accountId: "acct_bench", mode: "test", createdAt: "2026-01-01T00:00:00Z", revokedAt: null })]]);
  return { DB: new FakeD1(), API_KEYS: new FakeKV(kv), RATE_LIMITER: allowAll, PUBLIC_BASE_URL: "", RATE_LIMIT_PERIOD_SECONDS: "60" } as never;
}

const auth = { Authorization: `Bearer ${KEY}` };
// What an HTTP client sends with a JSON body (a Request built from a string has no Content-Length header of its own).
const post = (body: string, headers: Record<string, string> = {}) =>
  ({ method: "POST", headers: { ...auth, "Content-Type": "application/json", "Content-Length": String(new TextEncoder().encode(body).byteLength), ...headers }, body });
const base = "http://127.0.0.1:8787";
export const scenarios: Record<string, { status: number; request: (i: number) => Request }> = {
  get: { status: 200, request: () => new Request(`${base}/v1/customers/${customerRow(1).id}`, { headers: auth }) },
  list: { status: 200, request: () => new Request(`${base}/v1/customers?limit=10`, { headers: auth }) },
  "list-deep": { status: 200, request: () => new Request(`${base}/v1/customers?startingAfter=${customerRow(9000).id}&limit=10`, { headers: auth }) },
  "create-keyed": {
    status: 201,
    request: (i) => new Request(`${base}/v1/customers`, post(`{"email":"keyed${i}@example.com","metadata":{"plan":"pro"}}`, { "Idempotency-Key": `bench-${i}` })),
  },
  "list-email": { status: 200, request: () => new Request(`${base}/v1/customers?email=customer1%40example.com`, { headers: auth }) },
  create: {
    status: 201,
    request: (i) => new Request(`${base}/v1/customers`, post(`{"email":"new${i}@example.com","metadata":{"plan":"pro"}}`)),
  },
  replay: {
    status: 201,
    request: () => new Request(`${base}/v1/customers`, post(`{"email":"replay@example.com","metadata":{"plan":"pro"}}`, { "Idempotency-Key": "bench-replay" })),
  },
};

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const name = url.searchParams.get("scenario") ?? "";
    const n = Number(url.searchParams.get("n") ?? "1000");
    const env = await makeEnv();
    const log = console.log;
    console.log = () => {}; // the local log pipe is wrangler's, not the Worker's; the JSON line is still built
    try {
      if (name === "baseline") {
        // The same Request as a get is built and handed over, so only the handler differs.
        const baseline = { fetch: async (_request: Request) => baselineResponse() };
        for (let i = 0; i < n; i++) await (await baseline.fetch(scenarios.get!.request(i))).arrayBuffer();
      } else {
        const scenario = scenarios[name];
        if (!scenario) return new Response("unknown scenario", { status: 400 });
        if (name === "replay") await worker.fetch(scenario.request(0) as never, env, ctx); // store the record once
        const queriesBefore = (env as { DB: FakeD1 }).DB.queries;
        for (let i = 0; i < n; i++) {
          const response = await worker.fetch(scenario.request(i) as never, env, ctx);
          await response.arrayBuffer();
          if (response.status !== scenario.status) throw new Error(`${name}: status ${response.status}`);
        }
        return Response.json({ n, d1RoundTripsPerRequest: ((env as { DB: FakeD1 }).DB.queries - queriesBefore) / n });
      }
      return Response.json({ n });
    } finally {
      console.log = log;
    }
  },
};
