// `--scale`: list and get at 1,000 vs 200,000 customers, and the query plans of the SQL the Worker sends.
import { join } from "node:path";
import { ACCOUNT, prepareState, seed } from "../shared/data";
import { apiScenarios, rounds } from "../shared/load";
import { benchConfig, OUT, ROOT, startServer, wrangler } from "../shared/processes";
import { f, machine, ratio, SECONDS, writeResults } from "../shared/report";

// ---------- EXPLAIN QUERY PLAN of the SQL the Worker really sends ----------
async function queryPlans(persist: string, ids: string[]) {
  const { default: worker } = await import("../../src/index");
  const { makeEnv, scenarios } = await import("../cpu/harness");
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

export async function scaleRun() {
  const header = `${machine()}, scale mode.`;
  console.log(header);
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
  writeResults("<!-- scale -->", [header, "", ...table]);
}
