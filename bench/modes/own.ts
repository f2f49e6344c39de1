// `--own`, and a table of the default run: the handler's own CPU per request, before and after, side by side, with
// its D1 round trips and the latency they model for a caller.
import { BEFORE_COMMIT, HARNESS_PORT, startHarness, type HarnessTarget } from "../shared/harness";
import { cpuMs } from "../shared/processes";
import { f, median, OWN_ROUNDS, ratio } from "../shared/report";

const ALL_OWN = ["get", "list", "list-deep", "create", "create-keyed", "replay", "create-endpoint", "update", "update-keyed", "delete"];
const OWN_SCENARIOS = process.env.BENCH_SCENARIOS ? ALL_OWN.filter((s) => process.env.BENCH_SCENARIOS!.split(",").includes(s)) : ALL_OWN;

/**
 * The modelled delay of one D1 round trip, in ms: to the primary (every write, wherever the caller is) and to a
 * replica near the caller (reads). 30 ms is a caller on the primary's continent; FAR_PRIMARY_MS one on another.
 */
export const PRIMARY_MS = Number(process.env.BENCH_PRIMARY_MS ?? 30);
export const REPLICA_MS = Number(process.env.BENCH_REPLICA_MS ?? 3);
export const FAR_PRIMARY_MS = Number(process.env.BENCH_FAR_PRIMARY_MS ?? 100);

interface Trips { primary: number; replica: number }
export interface Own { after: number; before?: number; trips: { after?: Trips; before?: Trips } }

/** Own CPU per request of each scenario, for both targets, alternating within every round, and their round trips. */
export async function handlerCpu(): Promise<Map<string, Own>> {
  const harness = await startHarness(HARNESS_PORT);
  const runs = [["baseline", "after"], ...OWN_SCENARIOS.flatMap((s) => [[s, "before"], [s, "after"]])];
  const perRequest = new Map<string, number[]>(runs.map(([s, t]) => [`${s}/${t}`, []]));
  const trips = new Map<string, Trips>();
  for (let round = 0; round < OWN_ROUNDS + 1; round++) {
    for (const [name, target] of round % 2 ? [...runs].reverse() : runs) {
      const n = name === "baseline" ? 100_000 : 20_000; // about a second each: /proc counts CPU in 10 ms ticks
      const before = cpuMs(harness.pid);
      const response = await fetch(`${harness.url(target as HarnessTarget)}/run?scenario=${name}&n=${n}`);
      const body = (await response.json()) as { primaryTripsPerRequest?: number; replicaTripsPerRequest?: number };
      if (!response.ok) throw new Error(`harness ${name} (${target}): ${JSON.stringify(body)}`);
      if (round > 0) perRequest.get(`${name}/${target}`)!.push(((cpuMs(harness.pid) - before) * 1000) / n); // round 0 warms up
      if (body.primaryTripsPerRequest !== undefined) trips.set(`${name}/${target}`, { primary: body.primaryTripsPerRequest, replica: body.replicaTripsPerRequest ?? 0 });
    }
    process.stderr.write(".");
  }
  harness.stop();
  const result = new Map<string, Own>();
  result.set("baseline", { after: median(perRequest.get("baseline/after")!), trips: {} });
  for (const name of OWN_SCENARIOS) {
    result.set(name, {
      after: median(perRequest.get(`${name}/after`)!),
      before: median(perRequest.get(`${name}/before`)!),
      trips: { after: trips.get(`${name}/after`), before: trips.get(`${name}/before`) },
    });
  }
  return result;
}

/** Modelled time per request, in ms: the handler's CPU plus its round trips at the given delays. */
const modelled = (cpuUs: number, t: Trips | undefined, primaryMs: number) => cpuUs / 1000 + (t ? t.primary * primaryMs + t.replica * REPLICA_MS : 0);
const tripsText = (t: Trips | undefined) => (t ? `${t.primary} + ${t.replica}` : "-");

export function ownCpuTable(own: Map<string, Own>): string[] {
  const ownBase = own.get("baseline")!.after;
  const above = (us: number) => Math.max(us - ownBase, 0);
  const rows = [...own].filter(([name]) => name !== "baseline");
  return [
    "## The Worker's own CPU and D1 round trips: before and after, side by side",
    "",
    `The handler bundled with \`bench/cpu/harness.ts\` and served by a bare \`workerd\` (no wrangler proxy, no inspector), called thousands of times per request against in-memory D1/KV/rate-limit/queue stand-ins that return realistic rows; CPU of that workerd process per call, median of the rounds. Each call builds a real \`Request\` and reads the whole \`Response\`; the baseline gets the same \`Request\` and answers with a customer-sized JSON \`Response\`. **before** is the handler at ${BEFORE_COMMIT.slice(0, 7)} (the code before this change), **after** is \`src/index.ts\`; both run in the same workerd process, each in its own isolate, alternating over ${OWN_ROUNDS} rounds. "Own" is the CPU above the baseline (${f(ownBase, 1)} µs).`,
    "",
    `Round trips are counted by the D1 stand-in per session: to the primary (writes) + to a replica (reads). The modelled time per request is the handler's CPU plus ${PRIMARY_MS} ms per primary and ${REPLICA_MS} ms per replica round trip (a caller on the primary's continent), and at ${FAR_PRIMARY_MS} ms to the primary (a caller on another continent); \`BENCH_PRIMARY_MS\`, \`BENCH_REPLICA_MS\` and \`BENCH_FAR_PRIMARY_MS\` change them.`,
    "",
    "| scenario | round trips before | after | ms @" + PRIMARY_MS + " before | after | ms @" + FAR_PRIMARY_MS + " before | after | µs/req before | after | own CPU after / before |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(([name, { after, before, trips }]) =>
      `| ${name} | ${tripsText(trips.before)} | ${tripsText(trips.after)} | ${f(modelled(before!, trips.before, PRIMARY_MS), 1)} | ${f(modelled(after, trips.after, PRIMARY_MS), 1)} | ${f(modelled(before!, trips.before, FAR_PRIMARY_MS), 1)} | ${f(modelled(after, trips.after, FAR_PRIMARY_MS), 1)} | ${f(before!, 1)} | ${f(after, 1)} | ${ratio(above(after), above(before!))} |`),
  ];
}
