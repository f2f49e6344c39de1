// HTTP load through autocannon against `wrangler dev`, with the runtime's CPU per request from /proc.
import autocannon from "autocannon";
import { KEY } from "./data";
import { cpuMs, type Server } from "./processes";
import { CONNECTIONS, median, ROUNDS } from "./report";

export interface Scenario {
  name: string;
  server: () => Server;
  request: () => autocannon.Request;
}
export interface Sample {
  rps: number;
  p50: number;
  p99: number;
  cpuMs: number; // runtime workerd CPU per request
  proxyCpuMs: number;
  errors: number;
}

export async function load(server: Server, request: autocannon.Request, seconds: number): Promise<Sample> {
  const cpuBefore = cpuMs(server.runtimePid);
  const proxyBefore = cpuMs(server.proxyPid);
  const result = await autocannon({ url: `http://127.0.0.1:${server.port}`, connections: CONNECTIONS, duration: seconds, requests: [request] });
  const served = result.requests.total;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMs: (cpuMs(server.runtimePid) - cpuBefore) / served,
    proxyCpuMs: (cpuMs(server.proxyPid) - proxyBefore) / served,
    errors: result.non2xx + result.errors,
  };
}

export function summarize(samples: Sample[]): Sample {
  return {
    rps: median(samples.map((s) => s.rps)),
    p50: median(samples.map((s) => s.p50)),
    p99: median(samples.map((s) => s.p99)),
    cpuMs: median(samples.map((s) => s.cpuMs)),
    proxyCpuMs: median(samples.map((s) => s.proxyCpuMs)),
    errors: samples.reduce((a, s) => a + s.errors, 0),
  };
}

export async function rounds(scenarios: Scenario[], seconds: number) {
  const samples = new Map<string, Sample[]>(scenarios.map((s) => [s.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const scenario of round % 2 ? [...scenarios].reverse() : scenarios) {
      samples.get(scenario.name)!.push(await load(scenario.server(), scenario.request(), seconds));
      process.stderr.write(".");
    }
  }
  process.stderr.write("\n");
  return new Map([...samples].map(([name, s]) => [name, summarize(s)]));
}

const auth = () => ({ authorization: `Bearer ${KEY}` });
let emailCounter = 0;
export function apiScenarios(server: () => Server, ids: string[]): Scenario[] {
  const deep = ids[Math.floor(ids.length * 0.1)]!; // near the oldest end: the cursor is deep in the set
  return [
    { name: "list", server, request: () => ({ method: "GET", path: "/v1/customers?limit=10", headers: auth() }) },
    { name: "list, deep cursor", server, request: () => ({ method: "GET", path: `/v1/customers?startingAfter=${deep}&limit=10`, headers: auth() }) },
    { name: "get", server, request: () => ({ method: "GET", path: `/v1/customers/${ids.at(-5)}`, headers: auth() }) },
    {
      name: "create",
      server,
      request: () => ({
        method: "POST",
        path: "/v1/customers",
        headers: { ...auth(), "content-type": "application/json" },
        setupRequest: (req) => ({ ...req, body: `{"email":"bench${Date.now()}-${emailCounter++}@example.com"}` }),
      }),
    },
    {
      name: "update (PATCH)",
      server,
      request: () => ({
        method: "PATCH",
        path: `/v1/customers/${ids.at(-7)}`,
        headers: { ...auth(), "content-type": "application/json" },
        setupRequest: (req) => ({ ...req, body: `{"metadata":{"n":"${emailCounter++}"}}` }),
      }),
    },
    {
      name: "replay (Idempotency-Key)",
      server,
      request: () => ({ method: "POST", path: "/v1/customers", headers: { ...auth(), "content-type": "application/json", "idempotency-key": "bench-replay" }, body: '{"email":"replay@example.com"}' }),
    },
  ];
}
