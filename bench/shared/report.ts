// Settings every mode shares, number formatting, and bench/RESULTS.md.
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { ROOT } from "./processes";

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 5); // per scenario per round
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
// The handler's own CPU is a difference of a few µs, measured in short rounds: the median of 15 paired ratios.
export const OWN_ROUNDS = Number(process.env.BENCH_OWN_ROUNDS ?? 15);
export const N = Number(process.env.BENCH_CUSTOMERS ?? 10_000);
export const CONNECTIONS = 4;

export const f = (n: number, digits = 0) => n.toFixed(digits);
export const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** The first line of a report: when, on what. */
export const machine = () => `Run ${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}`;

/** Keeps the latest run of each mode (default, scale, shards) in bench/RESULTS.md. */
export function writeResults(marker: string, lines: string[]) {
  const file = join(ROOT, "bench/RESULTS.md");
  let previous = "";
  try {
    previous = readFileSync(file, "utf8").replace(/^# Benchmark results\n+/, "");
  } catch {}
  const other = previous.split(/(?=<!-- (?:dashboard|default|move|notes|scale|search|shards) -->)/).filter((part) => part.trim() && !part.startsWith(marker) && part.startsWith("<!--"));
  // Each section ends in exactly one newline, so that rewriting the file never grows the gaps between them.
  const sections = [`${marker}\n${lines.join("\n")}`, ...other].map((part) => `${part.trimEnd()}\n`).sort();
  writeFileSync(file, `# Benchmark results\n\n${sections.join("\n")}`);
  console.log(`\nwrote bench/RESULTS.md`);
}
