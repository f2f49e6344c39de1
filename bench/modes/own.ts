// `--own`, and a table of the default run: the handler's own CPU per request, before and after, side by side, with
// its D1 round trips and the latency they model for a caller.
import { BEFORE_COMMIT, HARNESS_PORT, startHarness, type HarnessTarget } from "../shared/harness";
import { threadCpuMs as cpuMs } from "../shared/processes";
import { f, median, OWN_ROUNDS } from "../shared/report";

const ALL_OWN = ["get", "list", "list-deep", "create", "create-keyed", "replay", "create-endpoint", "update", "update-keyed", "delete"];
const OWN_SCENARIOS = process.env.BENCH_SCENARIOS ? ALL_OWN.filter((s) => process.env.BENCH_SCENARIOS!.split(",").includes(s)) : ALL_OWN;

/**
 * The modelled delay of one D1 round trip, in ms: to the primary (every write, wherever the caller is) and to a
 * replica near the caller (reads). 30 ms is a caller on the primary's continent; FAR_PRIMARY_MS one on another.
 */
export const PRIMARY_MS = Number(process.env.BENCH_PRIMARY_MS ?? 30);
export const REPLICA_MS = Number(process.env.BENCH_REPLICA_MS ?? 3);
export const FAR_PRIMARY_MS = Number(process.env.BENCH_FAR_PRIMARY_MS ?? 100);

/**
 * Calls per measurement. The CPU of one call varies by ±20% from one second to the next here (the same Worker, the
 * same calls: the garbage collector and the shared machine), so many short paired rounds beat a few long ones.
 */
const OWN_CALLS = Number(process.env.BENCH_OWN_CALLS ?? 4000);

interface Trips { primary: number; replica: number }
/** µs per request: the whole call (after, before), its own part (above the scenario's baseline), and after/before. */
export interface Own { after: number; before: number; base: number; ratio: number; trips: { after?: Trips; before?: Trips } }

/**
 * Own CPU per request of each scenario, for both targets, and their round trips. Every round measures, per scenario,
 * the baseline with that scenario's Request, then both targets, in alternating order; the ratio is taken within each
 * round (so a slow spell of the shared machine weighs on both sides of it) and the median of the rounds reported.
 */
export async function handlerCpu(): Promise<Map<string, Own>> {
  const harness = await startHarness(HARNESS_PORT, undefined, OWN_SCENARIOS);
  const runs = OWN_SCENARIOS.flatMap((s) => [[`baseline:${s}`, "after"], [s, "before"], [s, "after"]]);
  const perRequest = new Map<string, number[]>(runs.map(([s, t]) => [`${s}/${t}`, []]));
  const trips = new Map<string, Trips>();
  for (let round = 0; round < OWN_ROUNDS + 1; round++) {
    for (const [name, target] of round % 2 ? [...runs].reverse() : runs) {
      const before = cpuMs(harness.pid);
      // Each scenario (and its baseline) runs in its own pair of isolates.
      const isolate = name.replace(/^baseline:/, "");
      const response = await fetch(`${harness.url(target as HarnessTarget, isolate)}/run?scenario=${name}&n=${OWN_CALLS}`);
      const body = (await response.json()) as { primaryTripsPerRequest?: number; replicaTripsPerRequest?: number };
      if (!response.ok) throw new Error(`harness ${name} (${target}): ${JSON.stringify(body)}`);
      if (round > 0) perRequest.get(`${name}/${target}`)!.push(((cpuMs(harness.pid) - before) * 1000) / OWN_CALLS); // round 0 warms up
      if (body.primaryTripsPerRequest !== undefined) trips.set(`${name}/${target}`, { primary: body.primaryTripsPerRequest, replica: body.replicaTripsPerRequest ?? 0 });
    }
    process.stderr.write(".");
  }
  harness.stop();
  const result = new Map<string, Own>();
  for (const name of OWN_SCENARIOS) {
    const [base, after, before] = [`baseline:${name}/after`, `${name}/after`, `${name}/before`].map((k) => perRequest.get(k)!);
    result.set(name, {
      after: median(after!),
      before: median(before!),
      base: median(base!),
      ratio: median(after!.map((a, i) => Math.max(a - base![i]!, 0) / Math.max(before![i]! - base![i]!, 1e-9))),
      trips: { after: trips.get(`${name}/after`), before: trips.get(`${name}/before`) },
    });
  }
  return result;
}

/** Modelled time per request, in ms: the handler's CPU plus its round trips at the given delays. */
const modelled = (cpuUs: number, t: Trips | undefined, primaryMs: number) => cpuUs / 1000 + (t ? t.primary * primaryMs + t.replica * REPLICA_MS : 0);
const tripsText = (t: Trips | undefined) => (t ? `${t.primary} + ${t.replica}` : "-");

export function ownCpuTable(own: Map<string, Own>): string[] {
  const rows = [...own];
  return [
    "## The Worker's own CPU and D1 round trips: before and after, side by side",
    "",
    `The handler bundled with \`bench/cpu/harness.ts\` and served by a bare \`workerd\` (no wrangler proxy, no inspector), called thousands of times per request against in-memory D1/KV/rate-limit/queue stand-ins that return realistic rows; CPU of that workerd process per call. Each call builds a real \`Request\` and reads the whole \`Response\`. **before** is the handler at ${BEFORE_COMMIT.slice(0, 7)} (the code before this change), **after** is \`src/index.ts\`; both run in the same workerd process, each in its own isolate. "Own" is the CPU above the scenario's baseline: the same \`Request\` built and handed to a Worker that answers with a customer-sized JSON \`Response\`, which is read the same way. Each of ${OWN_ROUNDS} rounds measures the baseline and both targets of a scenario in turn (alternating the order); the µs are medians of the rounds, the ratio is the median of the ratios within each round.`,
    "",
    `Round trips are counted by the D1 stand-in per session: to the primary (writes) + to a replica (reads). The modelled time per request is the handler's CPU plus ${PRIMARY_MS} ms per primary and ${REPLICA_MS} ms per replica round trip (a caller on the primary's continent), and at ${FAR_PRIMARY_MS} ms to the primary (a caller on another continent); \`BENCH_PRIMARY_MS\`, \`BENCH_REPLICA_MS\` and \`BENCH_FAR_PRIMARY_MS\` change them.`,
    "",
    "| scenario | round trips before | after | ms @" + PRIMARY_MS + " before | after | ms @" + FAR_PRIMARY_MS + " before | after | baseline µs | own µs before | after | own CPU after / before |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(([name, { after, before, base, ratio, trips }]) =>
      `| ${name} | ${tripsText(trips.before)} | ${tripsText(trips.after)} | ${f(modelled(before, trips.before, PRIMARY_MS), 1)} | ${f(modelled(after, trips.after, PRIMARY_MS), 1)} | ${f(modelled(before, trips.before, FAR_PRIMARY_MS), 1)} | ${f(modelled(after, trips.after, FAR_PRIMARY_MS), 1)} | ${f(base, 1)} | ${f(before - base, 1)} | ${f(after - base, 1)} | ${ratio.toFixed(2)}x |`),
  ];
}
