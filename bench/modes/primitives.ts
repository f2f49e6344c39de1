// `--primitives`: what workerd's building blocks cost, µs per call.
import { HARNESS_PORT, startHarness } from "../shared/harness";
import { threadCpuMs as cpuMs } from "../shared/processes";
import { median, ROUNDS } from "../shared/report";

/** `--primitives`: CPU per call of each building block in bench/cpu/harness.ts, median of the rounds. */
export async function primitiveCpu(): Promise<string[]> {
  const { primitives } = await import("../cpu/harness");
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
