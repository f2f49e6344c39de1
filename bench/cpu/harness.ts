// Runs a Worker's fetch handler n times in one request, against in-memory bindings, so that the CPU the workerd
// process spends is the Worker's own. Each target is its own Worker (bench/cpu/after.ts, bench/cpu/before.ts) in one
// workerd process: `after` is src/index.ts, `before` the handler as it was before the request-path redesign
// (extracted by bench/run.ts into bench/.out/before). Separate isolates keep the libraries both bundle (itty-router,
// valibot, drizzle) from sharing the JIT's type feedback, which made one target's run depend on the other's.
import { createHash } from "node:crypto";
import { accountIndexKey } from "../../src/lib/api-keys";
import { sha256Hex } from "../../src/lib/crypto";
import { baselineResponse } from "../baseline/index";
import { allowAll, customerRow, FakeD1, FakeKV, fakeQueue } from "./fakes";

type Target = { fetch: (request: Request, env: never, ctx: ExecutionContext) => Promise<Response> };

const KEY = "test_benchbenchbenchbenchbenchbenchbench";
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

const replayBody = `{"email":"replay@example.com","metadata":{"plan":"pro"}}`;
/** A create's body: the create scenario sends it, and --primitives decodes and parses it alone. */
const createBody = (i: number) => `{"email":"new${i}@example.com","metadata":{"plan":"pro"}}`;

/** The IDEMPOTENCY_SECRET of the harness; each target says how it fingerprints a request (a keyed HMAC since then). */
export const BENCH_IDEMPOTENCY_SECRET = "bench-only-idempotency-fingerprint-secret";
type Fingerprint = (request: string) => Promise<string> | string;

export async function makeEnv(options: { endpoint?: boolean; fingerprint?: Fingerprint } = {}) {
  const hash = await sha256Hex(KEY);
  const kv = new Map([
    [`apikey:${hash}`, JSON.stringify({ accountId: "acct_bench", mode: "test", createdAt: "2026-01-01T00:00:00Z", revokedAt: null })],
    [accountIndexKey("acct_bench", hash), "1"],
  ]);
  const DB = new FakeD1(options.endpoint ?? false);
  // The stored answer the replay scenario finds, fingerprinted as the target does.
  DB.idempotency.set("acct_bench|1|bench-replay", {
    fingerprint: await (options.fingerprint ?? sha256Hex)(`POST /v1/customers\n${JSON.stringify(JSON.parse(replayBody))}`),
    status: 201,
    body: JSON.stringify({ id: customerRow(1).id, resource: "customer" }),
    headers: "{}",
  });
  return {
    DB, API_KEYS: new FakeKV(kv), RATE_LIMITER: allowAll, AUTH_RATE_LIMITER: allowAll, PUBLIC_BASE_URL: "", RATE_LIMIT_PERIOD_SECONDS: "60",
    WEBHOOK_QUEUE: fakeQueue, WEBHOOK_DEAD_LETTERS: fakeQueue, IDEMPOTENCY_SECRET: BENCH_IDEMPOTENCY_SECRET,
  } as never;
}

const auth = { Authorization: `Bearer ${KEY}` };
// What an HTTP client sends with a JSON body (a Request built from a string has no Content-Length header of its own).
const send = (method: string, body: string, headers: Record<string, string> = {}) => ({
  method,
  headers: { ...auth, "Content-Type": "application/json", "Content-Length": String(new TextEncoder().encode(body).byteLength), ...headers },
  body,
});
const base = "http://127.0.0.1:8787";
const one = `${base}/v1/customers/${customerRow(1).id}`;
export const scenarios: Record<string, { status: number; request: (i: number) => Request; endpoint?: boolean }> = {
  get: { status: 200, request: () => new Request(one, { headers: auth }) },
  list: { status: 200, request: () => new Request(`${base}/v1/customers?limit=10`, { headers: auth }) },
  "list-deep": { status: 200, request: () => new Request(`${base}/v1/customers?startingAfter=${customerRow(9000).id}&limit=10`, { headers: auth }) },
  "list-email": { status: 200, request: () => new Request(`${base}/v1/customers?email=customer1%40example.com`, { headers: auth }) },
  create: { status: 201, request: (i) => new Request(`${base}/v1/customers`, send("POST", createBody(i))) },
  "create-keyed": {
    status: 201,
    request: (i) => new Request(`${base}/v1/customers`, send("POST", `{"email":"keyed${i}@example.com","metadata":{"plan":"pro"}}`, { "Idempotency-Key": `bench-${i}` })),
  },
  replay: { status: 201, request: () => new Request(`${base}/v1/customers`, send("POST", replayBody, { "Idempotency-Key": "bench-replay" })) },
  "create-endpoint": { status: 201, endpoint: true, request: (i) => new Request(`${base}/v1/customers`, send("POST", `{"email":"hook${i}@example.com","metadata":{"plan":"pro"}}`)) },
  update: { status: 200, request: (i) => new Request(one, send("PATCH", `{"name":"Name ${i}","metadata":{"plan":"pro","n":"${i}"}}`)) },
  "update-keyed": { status: 200, request: (i) => new Request(one, send("PATCH", `{"metadata":{"n":"${i}"}}`, { "Idempotency-Key": `u-${i}` })) },
  delete: { status: 204, request: () => new Request(one, { method: "DELETE", headers: auth }) },
};

// The platform's building blocks that every request pays, alone, so the handler's own CPU can be read against them.
const customerJson = JSON.stringify({ ...customerRow(1), resource: "customer", metadata: { plan: "pro" }, links: { self: { href: one, type: "application/json" } } });
const JSON_TYPE = { "Content-Type": "application/json; charset=utf-8" };
export const primitives: Record<string, () => unknown> = {
  "new Request (GET, one header)": () => scenarios.get!.request(0),
  "new Response (JSON body, Content-Type)": () => new Response(customerJson, { headers: JSON_TYPE }),
  "new Response + 4 headers.set": () => {
    const r = new Response(customerJson, { headers: JSON_TYPE });
    for (const name of ["X-Request-Id", "Cache-Control", "X-Content-Type-Options", "X-D1-Bookmark"]) r.headers.set(name, "x");
    return r;
  },
  "new Response, 5 headers in its init": () => new Response(customerJson, { headers: { ...JSON_TYPE, "X-Request-Id": "x", "Cache-Control": "x", "X-Content-Type-Options": "x", "X-D1-Bookmark": "x" } }),
  "read a Response body (arrayBuffer)": () => new Response(customerJson).arrayBuffer(),
  "new Request with a JSON body, read and parsed": async () => {
    const request = scenarios.create!.request(0);
    return JSON.parse(new TextDecoder().decode(await request.arrayBuffer()));
  },
  "body bytes: strict UTF-8 decode (fatal TextDecoder)": () => strict.decode(bodyBytes),
  "body text: JSON.parse": () => JSON.parse(bodyText),
  "new Request with a JSON body, request.json()": () => scenarios.create!.request(0).json(),
  "new Request with a JSON body, arrayBuffer only": () => scenarios.create!.request(0).arrayBuffer(),
  "new Request with a JSON body, request.text()": () => scenarios.create!.request(0).text(),
  "new Request with a JSON body, not read": () => scenarios.create!.request(0),
  "SHA-256 hex of a key (WebCrypto, as the Worker does)": () => sha256Hex(KEY),
  "SHA-256 hex of a key (node:crypto, for comparison)": () => createHash("sha256").update(KEY).digest("hex"),
  "new URL": () => new URL(one),
  "headers.get": () => auth.Authorization.length + (primitiveRequest.headers.get("Authorization")?.length ?? 0),
  "JSON.parse + JSON.stringify of a customer": () => JSON.stringify(JSON.parse(customerJson)),
  "crypto.randomUUID": () => crypto.randomUUID(),
};
const primitiveRequest = new Request(one, { headers: auth });
const bodyText = createBody(1);
const bodyBytes = new TextEncoder().encode(bodyText);
const strict = new TextDecoder("utf-8", { fatal: true });

/** The harness Worker for one target: `/run?scenario=<name>&n=<count>`. */
export const harnessFor = (handler: unknown, fingerprint?: Fingerprint) => ({
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const name = url.searchParams.get("scenario") ?? "";
    const n = Number(url.searchParams.get("n") ?? "1000");
    const target = handler as Target;
    const log = console.log;
    console.log = () => {}; // the local log pipe is wrangler's, not the Worker's; the JSON line is still built
    try {
      if (name === "baseline" || name.startsWith("baseline:")) {
        // The scenario's own Request (a get's by default) is built and handed over, so only the handler differs.
        const request = scenarios[name.slice("baseline:".length) || "get"]!.request;
        const baseline = { fetch: async (_request: Request) => baselineResponse() };
        for (let i = 0; i < n; i++) await (await baseline.fetch(request(i))).arrayBuffer();
        return Response.json({ n });
      }
      if (name.startsWith("primitive:")) {
        const run = primitives[name.slice("primitive:".length)]!;
        for (let i = 0; i < n; i++) await run();
        return Response.json({ n });
      }
      const scenario = scenarios[name];
      if (!scenario) return new Response("unknown scenario", { status: 400 });
      const env = await makeEnv({ endpoint: scenario.endpoint, fingerprint });
      const db = (env as { DB: FakeD1 }).DB;
      const [primaryBefore, replicaBefore] = [db.primaryTrips, db.replicaTrips];
      for (let i = 0; i < n; i++) {
        const response = await target.fetch(scenario.request(i), env, ctx);
        await response.arrayBuffer();
        if (response.status !== scenario.status) throw new Error(`${name}: status ${response.status}`);
      }
      return Response.json({ n, primaryTripsPerRequest: (db.primaryTrips - primaryBefore) / n, replicaTripsPerRequest: (db.replicaTrips - replicaBefore) / n });
    } catch (err) {
      return Response.json({ error: String((err as Error).stack ?? err) }, { status: 500 });
    } finally {
      console.log = log;
    }
  },
});
