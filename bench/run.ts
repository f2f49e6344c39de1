// `npm run bench` (default run), `-- --scale`, `-- --shards`, `-- --profile <scenario>`. See bench/README.md.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import autocannon from "autocannon";
import type { StoredKey } from "../src/lib/api-keys";
import { sha256Hex } from "../src/lib/crypto";

const USAGE = `Usage: npm run bench [-- --scale | --shards | --own | --profile <scenario> [--target before|after]]

  (default)   HTTP under wrangler dev beside a baseline Worker, the handler's own CPU (this code and the code before the
              request-path redesign, side by side), the deploy bundle. About 4 minutes; writes bench/RESULTS.md.
  --scale     list and get at 1,000 vs 200,000 customers, and the query plans.
  --shards    create throughput over HTTP with two accounts on one shard vs on two shards.
  --primitives  what the platform's building blocks cost (Request, Response, headers, hashing, ...), µs per call.
  --own       only the handler's own CPU, before and after (about a minute; prints, writes nothing).
  --profile   V8 sampling profile of one harness scenario (get, list, create, create-keyed, replay, update, delete, ...).
Environment: BENCH_SECONDS (per scenario per round, default 5), BENCH_ROUNDS (default 2), BENCH_CUSTOMERS (default 10000),
BENCH_OWN_ROUNDS (the own-CPU rounds, default 6), BENCH_SCENARIOS (--own: a comma-separated subset, e.g. get,create).`;

let options: { scale?: boolean; shards?: boolean; own?: boolean; primitives?: boolean; profile?: string; target?: string; help?: boolean };
try {
  options = parseArgs({
    options: { scale: { type: "boolean" }, shards: { type: "boolean" }, own: { type: "boolean" }, primitives: { type: "boolean" }, profile: { type: "string" }, target: { type: "string" }, help: { type: "boolean", short: "h" } },
    strict: true,
  }).values;
} catch (err) {
  console.error(`${(err as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}

const ROOT = new URL("..", import.meta.url).pathname;
const OUT = join(ROOT, "bench/.out");
const SCALE = options.scale ?? false;
const SHARDS = options.shards ?? false;
/** The commit before the request-path redesign: its handler is the harness's `before` target. */
const BEFORE_COMMIT = "37a33124f307cb3203e32628e4a060f3679935a5";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5); // per scenario per round
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
// The handler's own CPU is a difference of a few µs: six rounds keep its ratios within a few percent between runs.
const OWN_ROUNDS = Number(process.env.BENCH_OWN_ROUNDS ?? 6);
const N = Number(process.env.BENCH_CUSTOMERS ?? 10_000);
const CONNECTIONS = 4;
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

// ---------- processes: every one started here is stopped here, by pid, whatever happens ----------
const started: ChildProcess[] = [];
function stopAll() {
  for (const child of started.splice(0)) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {}
  }
}
process.on("exit", stopAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
process.on("uncaughtException", (err) => {
  console.error(err);
  process.exit(1);
});

function wrangler(cwd: string, ...command: string[]) {
  const result = spawnSync("wrangler", command, { cwd, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" }, maxBuffer: 1 << 28 });
  if (result.status !== 0) throw new Error(`wrangler ${command.join(" ")}: ${result.stderr || result.stdout}`);
  return result.stdout;
}

interface Server {
  port: number;
  runtimePid: number;
  proxyPid: number;
  stop(): void;
}

/**
 * The project's wrangler.toml, except that the rate limit is out of the way: one account sends all the load here.
 * Paths are rewritten because the copy lives in bench/.out/; the binding ids stay, so the local state is shared.
 */
function benchConfig(): string {
  const file = join(OUT, "wrangler.toml");
  const config = readFileSync(join(ROOT, "wrangler.toml"), "utf8")
    .replace(/^main = "(.*)"$/m, 'main = "../../$1"')
    .replace(/^migrations_dir = "(.*)"$/gm, 'migrations_dir = "../../$1"')
    .replace(/^directory = "\.\/(.*)"$/m, 'directory = "../../$1"')
    .replace(/simple = \{ limit = \d+/, "simple = { limit = 1000000000");
  writeFileSync(file, config);
  return file;
}

/** `wrangler dev` as `npm run dev` starts it, on 127.0.0.1; finds its two workerd processes. */
async function startServer(cwd: string, port: number, persist?: string, config?: string): Promise<Server> {
  const child = spawn("wrangler", ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", "0", "--log-level", "error", ...(persist ? ["--persist-to", persist] : []), ...(config ? ["-c", config] : [])], {
    cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  started.push(child);
  child.stdout!.resume();
  child.stderr!.resume();
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`wrangler dev in ${cwd} did not start`);
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  // The proxy listens on the public port; the runtime on 127.0.0.1:0 (a port of its own).
  const workerd = descendants(child.pid!).filter((pid) => cmdline(pid).includes("workerd"));
  const proxyPid = workerd.find((pid) => cmdline(pid).includes(`entry=127.0.0.1:${port}`))!;
  const runtimePid = workerd.find((pid) => pid !== proxyPid && cmdline(pid).includes("entry=127.0.0.1:0"))!;
  if (!proxyPid || !runtimePid) throw new Error(`could not find workerd processes under ${child.pid}`);
  return {
    port,
    runtimePid,
    proxyPid,
    stop() {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
      started.splice(started.indexOf(child), 1);
    },
  };
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
};

function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, ppid] of parent) if (ppid === pid) out.push(child), walk(child);
  };
  walk(root);
  return out;
}

/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

// ---------- data ----------
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const base62 = (n: number, width: number) => {
  let s = "";
  for (let i = 0; i < width; i++, n = Math.floor(n / 62)) s = ALPHABET[n % 62] + s;
  return s;
};
const randomChars = (n: number) => Array.from({ length: n }, () => ALPHABET[randomInt(62)]).join("");
const KEY = `test_${randomChars(40)}`;
const ACCOUNT = "acct_bench";

/** Appends `count` customers per scope to local D1 with generated SQL, oldest first; returns the main scope's ids. */
function seed(persist: string, count: number, startMs: number): string[] {
  const scopes: [string, number][] = [[ACCOUNT, 1], ["acct_other", 1], [ACCOUNT, 0]];
  const ids: string[] = [];
  const file = join(OUT, "seed.sql");
  for (let from = 0; from < count; from += 50_000) {
    const lines: string[] = [];
    for (const [account, testmode] of scopes) {
      for (let chunk = from; chunk < Math.min(count, from + 50_000); chunk += 500) {
        const values: string[] = [];
        for (let i = chunk; i < Math.min(count, from + 50_000, chunk + 500); i++) {
          const id = `cus_${base62(startMs + i, 8)}${randomChars(14)}`;
          if (account === ACCOUNT && testmode === 1) ids.push(id);
          const created = new Date(startMs + i).toISOString().replace(/\.\d{3}Z$/, "Z");
          values.push(`('${id}','${account}',${testmode},'c${startMs + i}@example.com','{"plan":"pro"}','${created}')`);
        }
        lines.push(`INSERT INTO customers (id, account_id, testmode, email, metadata, created_at) VALUES ${values.join(",")};`);
      }
    }
    writeFileSync(file, lines.join("\n"));
    wrangler(ROOT, "d1", "execute", "DB", "--local", "--persist-to", persist, "--file", file);
  }
  return ids;
}

/** Migrated shards and the bench account's key (plus, for --shards, keys of accounts on each shard). */
async function prepareState(persist: string, extraKeys: { key: string; accountId: string; shard: number }[] = []) {
  rmSync(persist, { recursive: true, force: true });
  mkdirSync(persist, { recursive: true });
  for (const binding of ["DB", "DB_1"]) wrangler(ROOT, "d1", "migrations", "apply", binding, "--local", "--persist-to", persist);
  for (const { key, accountId, shard } of [{ key: KEY, accountId: ACCOUNT, shard: 0 }, ...extraKeys]) {
    const hash = await sha256Hex(key);
    const stored: StoredKey = { accountId, mode: "test", createdAt: new Date().toISOString(), revokedAt: null, shard };
    const record = JSON.stringify(stored);
    wrangler(ROOT, "kv", "key", "put", `apikey:${hash}`, record, "--binding", "API_KEYS", "--local", "--persist-to", persist);
  }
}

// ---------- load ----------
interface Scenario {
  name: string;
  server: () => Server;
  request: () => autocannon.Request;
}
interface Sample {
  rps: number;
  p50: number;
  p99: number;
  cpuMs: number; // runtime workerd CPU per request
  proxyCpuMs: number;
  errors: number;
}

async function load(server: Server, request: autocannon.Request, seconds: number): Promise<Sample> {
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function summarize(samples: Sample[]): Sample {
  return {
    rps: median(samples.map((s) => s.rps)),
    p50: median(samples.map((s) => s.p50)),
    p99: median(samples.map((s) => s.p99)),
    cpuMs: median(samples.map((s) => s.cpuMs)),
    proxyCpuMs: median(samples.map((s) => s.proxyCpuMs)),
    errors: samples.reduce((a, s) => a + s.errors, 0),
  };
}

async function rounds(scenarios: Scenario[], seconds: number) {
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
function apiScenarios(server: () => Server, ids: string[]): Scenario[] {
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

// ---------- the Worker's own CPU, without the simulators ----------
/**
 * The harness served by a bare workerd (no wrangler proxy, no inspector, no simulators): one Worker per target, each
 * in its own isolate, in one process whose CPU is measured. `after` listens on `port`, `before` on `port + 1`.
 */
const HARNESS_TARGETS = ["after", "before"] as const;
const HARNESS_PORT = 18796;
type HarnessTarget = (typeof HARNESS_TARGETS)[number];
async function startHarness(port: number, inspectorPort?: number): Promise<{ pid: number; stop(): void; url(target: HarnessTarget): string }> {
  const dir = join(OUT, "harness");
  rmSync(dir, { recursive: true, force: true });
  prepareBefore();
  for (const target of HARNESS_TARGETS) {
    wrangler(ROOT, "deploy", "--dry-run", "--outdir", join(dir, target), "-c", "bench/cpu/wrangler.toml", `bench/cpu/${target}.ts`);
  }
  const url = (target: HarnessTarget) => `http://127.0.0.1:${port + HARNESS_TARGETS.indexOf(target)}`;
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [${HARNESS_TARGETS.map((t) => `(name = "${t}", worker = .${t})`).join(", ")}],
  sockets = [${HARNESS_TARGETS.map((t, i) => `(name = "${t}", address = "127.0.0.1:${port + i}", http = (), service = "${t}")`).join(", ")}],
);
${HARNESS_TARGETS.map((t) => `const ${t} :Workerd.Worker = (
  modules = [(name = "${t}.js", esModule = embed "${t}/${t}.js")],
  compatibilityDate = "2026-11-01",
);`).join("\n")}
`,
  );
  const inspector = inspectorPort ? [`--inspector-addr=127.0.0.1:${inspectorPort}`] : [];
  const child = spawn(join(ROOT, "node_modules/.bin/workerd"), ["serve", "config.capnp", ...inspector], { cwd: dir, detached: true, stdio: "ignore" });
  started.push(child);
  for (const target of HARNESS_TARGETS) {
    for (let i = 0; ; i++) {
      try {
        await fetch(`${url(target)}/run?scenario=baseline&n=1`);
        break;
      } catch {
        if (i > 100) throw new Error(`workerd did not start the harness (${target})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  // node_modules/.bin/workerd is a Node launcher: measure the workerd binary it runs.
  const pid = [child.pid!, ...descendants(child.pid!)].find((p) => cmdline(p).includes("bin/workerd serve"))!;
  return { pid, stop: () => process.kill(-child.pid!, "SIGKILL"), url };
}

/** The handler as it was before the request-path redesign, for the harness's `before` target. */
function prepareBefore() {
  const dir = join(OUT, "before");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = spawnSync("git", ["archive", BEFORE_COMMIT, "src", "openapi.json"], { cwd: ROOT, maxBuffer: 1 << 26 });
  if (archive.status !== 0) throw new Error(`git archive ${BEFORE_COMMIT} failed (a shallow clone?): ${archive.stderr}`);
  const untar = spawnSync("tar", ["-x", "-C", dir], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`);
}

const ALL_OWN = ["get", "list", "list-deep", "create", "create-keyed", "replay", "create-endpoint", "update", "update-keyed", "delete"];
const OWN_SCENARIOS = process.env.BENCH_SCENARIOS ? ALL_OWN.filter((s) => process.env.BENCH_SCENARIOS!.split(",").includes(s)) : ALL_OWN;
const NEW_ONLY = new Set(["create-endpoint", "update", "update-keyed", "delete"]);

/** Own CPU per request of each scenario, for both targets, alternating within every round. */
async function handlerCpu(): Promise<Map<string, { after: number; before?: number }>> {
  const harness = await startHarness(HARNESS_PORT);
  const runs = [["baseline", "after"], ...OWN_SCENARIOS.flatMap((s) => (NEW_ONLY.has(s) ? [[s, "after"]] : [[s, "before"], [s, "after"]]))];
  const perRequest = new Map<string, number[]>(runs.map(([s, t]) => [`${s}/${t}`, []]));
  for (let round = 0; round < OWN_ROUNDS + 1; round++) {
    for (const [name, target] of round % 2 ? [...runs].reverse() : runs) {
      const n = name === "baseline" ? 100_000 : 20_000; // about a second each: /proc counts CPU in 10 ms ticks
      const before = cpuMs(harness.pid);
      const response = await fetch(`${harness.url(target as HarnessTarget)}/run?scenario=${name}&n=${n}`);
      const body = (await response.json()) as { d1RoundTripsPerRequest?: number };
      if (!response.ok) throw new Error(`harness ${name} (${target}): ${JSON.stringify(body)}`);
      if (round > 0) perRequest.get(`${name}/${target}`)!.push(((cpuMs(harness.pid) - before) * 1000) / n); // round 0 warms up
      if (body.d1RoundTripsPerRequest !== undefined) handlerRoundTrips.set(`${name}/${target}`, body.d1RoundTripsPerRequest);
    }
    process.stderr.write(".");
  }
  harness.stop();
  const result = new Map<string, { after: number; before?: number }>();
  result.set("baseline", { after: median(perRequest.get("baseline/after")!) });
  for (const name of OWN_SCENARIOS) {
    const before = perRequest.get(`${name}/before`);
    result.set(name, { after: median(perRequest.get(`${name}/after`)!), before: before && median(before) });
  }
  return result;
}
const handlerRoundTrips = new Map<string, number>();

/** `--primitives`: CPU per call of each building block in bench/cpu/harness.ts, median of the rounds. */
async function primitiveCpu(): Promise<string[]> {
  const { primitives } = await import("./cpu/harness");
  const harness = await startHarness(HARNESS_PORT);
  const names = Object.keys(primitives);
  const perCall = new Map<string, number[]>(names.map((name) => [name, []]));
  const n = 200_000;
  for (let round = 0; round < ROUNDS + 2; round++) {
    for (const name of names) {
      const before = cpuMs(harness.pid);
      const response = await fetch(`${harness.url("after")}/run?scenario=${encodeURIComponent(`primitive:${name}`)}&n=${n}`);
      if (!response.ok) throw new Error(`primitive ${name}: ${await response.text()}`);
      if (round > 0) perCall.get(name)!.push(((cpuMs(harness.pid) - before) * 1000) / n);
    }
    process.stderr.write(".");
  }
  harness.stop();
  return [
    "## What the platform's building blocks cost in workerd (µs per call, median of the rounds)",
    "",
    "| building block | µs |",
    "| --- | ---: |",
    ...names.map((name) => `| ${name} | ${median(perCall.get(name)!).toFixed(2)} |`),
  ];
}

function ownCpuTable(own: Map<string, { after: number; before?: number }>): string[] {
  const ownBase = own.get("baseline")!.after;
  const above = (us: number) => Math.max(us - ownBase, 0);
  return [
      "## The Worker's own CPU (no simulators): before and after, side by side",
      "",
      `The handler bundled with \`bench/cpu/harness.ts\` and served by a bare \`workerd\` (no wrangler proxy, no inspector), called thousands of times per request against in-memory D1/KV/rate-limit/queue stand-ins that return realistic rows; CPU of that workerd process per call, median of the rounds. Each call builds a real \`Request\` and reads the whole \`Response\`; the baseline gets the same \`Request\` and answers with a customer-sized JSON \`Response\`. **before** is the handler at ${BEFORE_COMMIT.slice(0, 7)} (before the request-path redesign), **after** is \`src/index.ts\`; both run in the same workerd process, each in its own isolate, alternating over ${OWN_ROUNDS} rounds. "Own" is the CPU above the baseline (${f(ownBase, 1)} µs).`,
      "",
      "| scenario | before µs/req | after µs/req | own CPU after / before | D1 round trips after (before) |",
      "| --- | ---: | ---: | ---: | ---: |",
      ...[...own].filter(([name]) => name !== "baseline").map(([name, { after, before }]) => {
        const trips = `${handlerRoundTrips.get(`${name}/after`) ?? "-"}${before === undefined ? "" : ` (${handlerRoundTrips.get(`${name}/before`) ?? "-"})`}`;
        return `| ${name} | ${before === undefined ? "-" : f(before, 1)} | ${f(after, 1)} | ${before === undefined ? "-" : ratio(above(after), above(before))} | ${trips} |`;
      })
  ];
}

/** `--profile <scenario>`: V8's sampling profiler over the harness through the inspector; prints the top self times. */
async function profile(scenario: string, target: string) {
  const harness = await startHarness(HARNESS_PORT, 18790);
  const inspectable = (await (await fetch("http://127.0.0.1:18790/json/list")).json()) as { webSocketDebuggerUrl: string; title?: string; url?: string }[];
  const inspected = inspectable.find((t) => `${t.title ?? ""} ${t.url ?? ""}`.includes(target)) ?? inspectable[HARNESS_TARGETS.indexOf(target as HarnessTarget)];
  const ws = new WebSocket(inspected!.webSocketDebuggerUrl);
  await new Promise((resolve) => ws.addEventListener("open", resolve));
  let id = 0;
  const pending = new Map<number, (result: any) => void>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    pending.get(message.id)?.(message.result);
  });
  const send = (method: string, params = {}) => new Promise<any>((resolve) => (pending.set(++id, resolve), ws.send(JSON.stringify({ id, method, params }))));
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 50 });
  const run = `${harness.url(target as HarnessTarget)}/run?scenario=${scenario}`;
  await fetch(`${run}&n=2000`); // warm up
  await send("Profiler.start");
  await fetch(`${run}&n=4000`);
  const { profile } = await send("Profiler.stop");
  ws.close();
  harness.stop();
  const nodes = new Map<number, any>(profile.nodes.map((n: any) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const nameOf = (id: number) => {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    return `${functionName || "(anonymous)"} ${url.split("/").pop()}:${lineNumber}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>(); // time with the function anywhere on the (synchronous) stack
  let total = 0;
  profile.samples.forEach((sample: number, i: number) => {
    const dt = profile.timeDeltas[i];
    total += dt;
    self.set(nameOf(sample), (self.get(nameOf(sample)) ?? 0) + dt);
    const onStack = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parents.get(id)) onStack.add(nameOf(id));
    for (const name of onStack) inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
  });
  const top = (times: Map<string, number>) =>
    [...times].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([name, t]) => `${((t / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
  console.log(`Self time of ${scenario}, ${target} (line numbers of the bundle bench/.out/harness/${target}/${target}.js)`);
  console.log(top(self).join("\n"));
  console.log(`\nTotal time (self and callees, synchronous part) of ${scenario}`);
  console.log(top(inclusive).join("\n"));
}

function bundleSize() {
  const dir = join(OUT, "bundle");
  rmSync(dir, { recursive: true, force: true });
  wrangler(ROOT, "deploy", "--dry-run", "--minify", "--outdir", dir);
  const file = readdirSync(dir).find((f) => f.endsWith(".js"))!;
  const raw = statSync(join(dir, file)).size;
  return { raw, gzip: gzipSync(readFileSync(join(dir, file))).length };
}

// ---------- EXPLAIN QUERY PLAN of the SQL the Worker really sends ----------
async function queryPlans(persist: string, ids: string[]) {
  const { default: worker } = await import("../src/index");
  const { makeEnv, scenarios } = await import("./cpu/harness");
  const plans: { name: string; sql: string; plan: string[] }[] = [];
  const literal = (v: unknown) => (typeof v === "number" ? String(v) : typeof v === "boolean" ? (v ? "1" : "0") : `'${String(v).replaceAll("'", "''")}'`);
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} };
  console.log = () => {}; // the handler's request log lines are not part of the report
  const explain = (name: string, sql: string, params: unknown[]) => {
    let i = 0;
    const inlined = sql.replace(/\?/g, () => literal(params[i++]));
    const out = wrangler(ROOT, "d1", "execute", "DB", "--local", "--persist-to", persist, "--json", "--command", `EXPLAIN QUERY PLAN ${inlined}`);
    const rows = (JSON.parse(out) as { results: { detail: string }[] }[])[0]!.results;
    plans.push({ name, sql: inlined, plan: rows.map((r) => r.detail) });
  };
  for (const [name, scenario, pick] of [
    ["get", "get", (log: { sql: string }[]) => log.find((q) => q.sql.startsWith("select"))],
    ["list", "list", (log: { sql: string }[]) => log.find((q) => q.sql.includes("limit"))],
    ["list, deep cursor (page)", "list-deep", (log: { sql: string }[]) => log.find((q) => q.sql.includes("limit"))],
    ["list, deep cursor (cursor check)", "list-deep", (log: { sql: string }[]) => log.find((q) => q.sql.startsWith('select "id"'))],
    ["list, email filter", "list-email", (log: { sql: string }[]) => log.find((q) => q.sql.includes("limit"))],
    ["idempotency lookup", "create-keyed", (log: { sql: string }[]) => log.find((q) => q.sql.includes('from "idempotency_keys"'))],
  ] as const) {
    const env = (await makeEnv()) as unknown as { DB: { log: { sql: string; params: unknown[] }[] } };
    await worker.fetch(scenarios[scenario]!.request(1) as never, env as never, ctx as never);
    const query = pick(env.DB.log) as { sql: string; params: unknown[] };
    const params = query.params.map((p) => (p === "acct_bench" ? ACCOUNT : typeof p === "string" && p.startsWith("cus_") ? ids[Math.floor(ids.length / 2)] : p));
    explain(name, query.sql, params);
  }
  // The unique index that enforces email uniqueness on insert is probed with this lookup.
  explain("email uniqueness (unique index probe)", "select 1 from customers where account_id = ? and testmode = ? and lower(email) = lower(?)", [ACCOUNT, 1, "c1@example.com"]);
  return plans;
}

// ---------- report ----------
const f = (n: number, digits = 0) => n.toFixed(digits);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

async function main() {
  mkdirSync(OUT, { recursive: true });
  if (options.profile) return profile(options.profile, options.target ?? "after");
  if (SHARDS) return shardThroughput();
  if (options.own) return console.log(ownCpuTable(await handlerCpu()).join("\n"));
  if (options.primitives) return console.log((await primitiveCpu()).join("\n"));
  const lines: string[] = [];
  const header = `Run ${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, ${SCALE ? "scale mode" : `${N} customers per scope, ${ROUNDS} rounds of ${SECONDS}s per scenario, ${CONNECTIONS} connections`}.`;
  console.log(header);
  lines.push(header, "");

  if (!SCALE) {
    const persist = join(OUT, "state");
    await prepareState(persist);
    const ids = seed(persist, N, Date.now() - N - 60_000);
    const api = await startServer(ROOT, 18787, persist, benchConfig());
    const baseline = await startServer(join(ROOT, "bench/baseline"), 18789);
    const scenarios = [...apiScenarios(() => api, ids), { name: "baseline (no D1/KV)", server: () => baseline, request: () => ({ method: "GET", path: "/" }) } as Scenario];
    const http = await rounds(scenarios, SECONDS);
    const base = http.get("baseline (no D1/KV)")!;
    const table = [
      "## HTTP under `wrangler dev` (local D1 and KV simulators)",
      "",
      "CPU is the **runtime** workerd process (the one behind wrangler's proxy), utime+stime from /proc per request; the proxy's own CPU is shown apart. Ratios are to the baseline Worker measured in the same run.",
      "",
      "| scenario | req/s | vs baseline | p50 ms | p99 ms | runtime CPU ms/req | vs baseline | proxy CPU ms/req | non-2xx |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...[...http].map(([name, s]) => `| ${name} | ${f(s.rps)} | ${ratio(s.rps, base.rps)} | ${s.p50} | ${s.p99} | ${f(s.cpuMs, 2)} | ${ratio(s.cpuMs, base.cpuMs)} | ${f(s.proxyCpuMs, 2)} | ${s.errors} |`),
    ];
    api.stop();
    baseline.stop();

    table.push("", ...ownCpuTable(await handlerCpu()));

    const size = bundleSize();
    table.push("", "## Deploy bundle", "", `\`wrangler deploy --dry-run --minify\`: ${f(size.raw / 1024, 1)} KiB raw, **${f(size.gzip / 1024, 1)} KiB gzip**.`);
    console.log(table.join("\n"));
    lines.push(...table);
  } else {
    const persist = join(OUT, "scale");
    await prepareState(persist);
    const scaleSeconds = Math.max(3, SECONDS - 2);
    const measure = async (ids: string[]) => {
      const api = await startServer(ROOT, 18787, persist, benchConfig());
      const result = await rounds(apiScenarios(() => api, ids).slice(0, 3), scaleSeconds);
      api.stop();
      return result;
    };
    const startMs = Date.now() - 400_000;
    const small = seed(persist, 1_000, startMs);
    const atSmall = await measure(small);
    const large = [...small, ...seed(persist, 199_000, startMs + 1_000)];
    const atLarge = await measure(large);
    const table = [
      "## Scale: 1,000 vs 200,000 customers per scope (three scopes in the table)",
      "",
      "| scenario | req/s @1k | req/s @200k | p50 ms @1k | p50 ms @200k | runtime CPU ms/req @1k | @200k | large/small (CPU per request) |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...[...atSmall].map(([name, s]) => {
        const l = atLarge.get(name)!;
        return `| ${name} | ${f(s.rps)} | ${f(l.rps)} | ${s.p50} | ${l.p50} | ${f(s.cpuMs, 2)} | ${f(l.cpuMs, 2)} | ${ratio(l.cpuMs, s.cpuMs)} |`;
      }),
      "",
      "## Query plans (EXPLAIN QUERY PLAN of the SQL the Worker sends, at 200,000 rows per scope)",
      "",
    ];
    const log = console.log;
    const plans = await queryPlans(persist, large);
    console.log = log;
    for (const plan of plans) {
      const scan = plan.plan.some((d) => /^SCAN /.test(d));
      table.push(`- **${plan.name}**: ${plan.plan.map((d) => `\`${d}\``).join(", ")}${scan ? " **(SCAN!)**" : ""}`);
    }
    console.log(table.join("\n"));
    lines.push(...table);
  }

  writeResults(SCALE ? "<!-- scale -->" : "<!-- default -->", lines);
}

/** Keeps the latest run of each mode (default, scale, shards) in bench/RESULTS.md. */
function writeResults(marker: string, lines: string[]) {
  const file = join(ROOT, "bench/RESULTS.md");
  let previous = "";
  try {
    previous = readFileSync(file, "utf8").replace(/^# Benchmark results\n+/, "");
  } catch {}
  const other = previous.split(/(?=<!-- (?:default|notes|scale|shards) -->)/).filter((part) => part.trim() && !part.startsWith(marker) && part.startsWith("<!--"));
  const sections = [`${marker}\n${lines.join("\n")}\n`, ...other].sort();
  writeFileSync(file, `# Benchmark results\n\n${sections.join("\n")}`);
  console.log(`\nwrote bench/RESULTS.md`);
}

// ---------- --shards: create throughput with two accounts on one shard vs on two ----------
async function shardThroughput() {
  const keyOf = (name: string) => `test_${name.padEnd(40, "x")}`;
  const accounts = [
    { key: keyOf("shardzeroa"), accountId: "acct_shard_a", shard: 0 },
    { key: keyOf("shardzerob"), accountId: "acct_shard_b", shard: 0 },
    { key: keyOf("shardonec"), accountId: "acct_shard_c", shard: 1 },
  ];
  const persist = join(OUT, "shards");
  await prepareState(persist, accounts);
  const api = await startServer(ROOT, 18787, persist, benchConfig());
  let n = 0;
  const creates = (key: string) => ({
    method: "POST" as const,
    path: "/v1/customers",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    setupRequest: (req: autocannon.Request) => ({ ...req, body: `{"email":"s${Date.now()}-${n++}@example.com"}` }),
  });
  // Two loads at once, one per account: both accounts on shard 0, or one on each shard.
  const pair = async (a: string, b: string) => {
    const run = (key: string) => autocannon({ url: `http://127.0.0.1:${api.port}`, connections: CONNECTIONS, duration: SECONDS, requests: [creates(key)] });
    const [x, y] = await Promise.all([run(a), run(b)]);
    return { rps: x.requests.average + y.requests.average, errors: x.non2xx + x.errors + y.non2xx + y.errors };
  };
  const one: number[] = [];
  const two: number[] = [];
  let errors = 0;
  for (let round = 0; round < Math.max(ROUNDS, 3); round++) {
    const sameShard = await pair(accounts[0]!.key, accounts[1]!.key);
    const twoShards = await pair(accounts[0]!.key, accounts[2]!.key);
    one.push(sameShard.rps);
    two.push(twoShards.rps);
    errors += sameShard.errors + twoShards.errors;
    process.stderr.write(".");
  }
  api.stop();
  // Bytes per customer on disk: both shards' SQLite files (D1 refuses PRAGMA) over the customers they hold, each with
  // its customer.created event and every index.
  const count = (binding: string) =>
    (JSON.parse(wrangler(ROOT, "d1", "execute", binding, "--local", "--persist-to", persist, "--json", "--command", "SELECT count(*) AS n FROM customers"))[0].results[0] as { n: number }).n;
  const d1Dir = join(persist, "v3/d1/miniflare-D1DatabaseObject");
  const stats = {
    customers: count("DB") + count("DB_1"),
    bytes: readdirSync(d1Dir).filter((f) => f.includes(".sqlite")).reduce((n, f) => n + statSync(join(d1Dir, f)).size, 0),
  };
  const perCustomer = stats.bytes / stats.customers;
  const header = `Run ${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, shards mode, ${Math.max(ROUNDS, 3)} rounds of ${SECONDS}s, ${CONNECTIONS} connections per account.`;
  const lines = [
    header,
    "",
    "## Create throughput: two accounts on one shard vs on two shards (HTTP under `wrangler dev`)",
    "",
    "| placement | creates/s (both accounts) | vs one shard | non-2xx |",
    "| --- | ---: | ---: | ---: |",
    `| both accounts on DB | ${f(median(one))} | 1.00x | ${errors} total |`,
    `| one on DB, one on DB_1 | ${f(median(two))} | ${ratio(median(two), median(one))} | |`,
    "",
    `Bytes on disk per customer (with its customer.created event and all indexes), both shards after the run: **${f(perCustomer)}** (${stats.customers} customers in ${f(stats.bytes / 1024 / 1024, 1)} MiB); a 10 GB shard holds about ${f(10e9 / perCustomer / 1e6, 0)} million such customers.`,
    "",
    "What a 2-core machine can show: locally both shards are SQLite files served by the same workerd process that runs the Worker, so the machine's two cores, not D1, are the limit; a ratio near 1 says that routing to a second shard adds no measurable cost per request. It cannot show the gain sharding is for, the per-database write ceiling of a real D1 primary (about 1,000 small transactions a second each), which a second shard doubles in production.",
  ];
  console.log(lines.join("\n"));
  writeResults("<!-- shards -->", lines);
}

await main().finally(stopAll);
process.exit(0);
