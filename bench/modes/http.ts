// The default run: HTTP under `wrangler dev` beside a baseline Worker, the handler's own CPU, the deploy bundle.
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { prepareState, seed } from "../shared/data";
import { apiScenarios, rounds, type Scenario } from "../shared/load";
import { benchConfig, OUT, ROOT, startServer, wrangler } from "../shared/processes";
import { CONNECTIONS, f, machine, N, ratio, ROUNDS, SECONDS, writeResults } from "../shared/report";
import { handlerCpu, ownCpuTable } from "./own";

function bundleSize() {
  const dir = join(OUT, "bundle");
  rmSync(dir, { recursive: true, force: true });
  wrangler(ROOT, "deploy", "--dry-run", "--minify", "--outdir", dir);
  const file = readdirSync(dir).find((f) => f.endsWith(".js"))!;
  const raw = statSync(join(dir, file)).size;
  return { raw, gzip: gzipSync(readFileSync(join(dir, file))).length };
}

export async function httpRun() {
  const header = `${machine()}, ${N} customers per scope, ${ROUNDS} rounds of ${SECONDS}s per scenario, ${CONNECTIONS} connections.`;
  console.log(header);
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
  writeResults("<!-- default -->", [header, "", ...table]);
}
