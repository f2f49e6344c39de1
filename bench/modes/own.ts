// `--own`, and a table of the default run: the handler's own CPU per request, before and after, side by side.
import { BEFORE_COMMIT, HARNESS_PORT, startHarness, type HarnessTarget } from "../shared/harness";
import { cpuMs } from "../shared/processes";
import { f, median, OWN_ROUNDS, ratio } from "../shared/report";

const ALL_OWN = ["get", "list", "list-deep", "create", "create-keyed", "replay", "create-endpoint", "update", "update-keyed", "delete"];
const OWN_SCENARIOS = process.env.BENCH_SCENARIOS ? ALL_OWN.filter((s) => process.env.BENCH_SCENARIOS!.split(",").includes(s)) : ALL_OWN;
const NEW_ONLY = new Set(["create-endpoint", "update", "update-keyed", "delete"]);

/** Own CPU per request of each scenario, for both targets, alternating within every round. */
export async function handlerCpu(): Promise<Map<string, { after: number; before?: number }>> {
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

export function ownCpuTable(own: Map<string, { after: number; before?: number }>): string[] {
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
