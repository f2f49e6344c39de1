// `npm run bench`: parses the mode and runs it. Each mode is a file of bench/modes/; what they share is in bench/shared/.
// See bench/README.md.
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { dashboardRun } from "./modes/dashboard";
import { httpRun } from "./modes/http";
import { handlerCpu, ownCpuTable } from "./modes/own";
import { primitiveCpu } from "./modes/primitives";
import { moveRun } from "./modes/move";
import { searchRun } from "./modes/search";
import { profile } from "./modes/profile";
import { scaleRun } from "./modes/scale";
import { shardThroughput } from "./modes/shards";
import { OUT, stopAll } from "./shared/processes";

const USAGE = `Usage: npm run bench [-- --scale | --shards | --move | --dashboard | --primitives | --own | --profile <scenario> [--target before|after]]

  (default)   HTTP under wrangler dev beside a baseline Worker, the handler's own CPU (this code and the code before the
              request-path redesign, side by side), the deploy bundle. About 5 minutes; writes bench/RESULTS.md.
  --scale     list and get at 1,000 vs 200,000 customers, and the query plans.
  --shards    create throughput over HTTP with two accounts on one shard vs on two shards.
  --move      account:move of 10,000 and 100,000 customers: copy rows per second and the refused-write window.
  --dashboard the dashboard in Chromium: time to the first customer list at 1,000 vs 200,000 customers; bytes shipped.
  --search    customer search at 1,000 and 200,000 customers: rows read and time per clause kind; rows the index adds to a write.
  --primitives  what the platform's building blocks cost (Request, Response, headers, hashing, ...), µs per call.
  --own       only the handler's own CPU, before and after (about 2 minutes; prints, writes nothing).
  --profile   V8 sampling profile of one harness scenario (get, list, create, create-keyed, replay, update, delete, ...).
Environment: BENCH_MOVE_SIZES (--move, default 10000,100000), BENCH_SEARCH_SIZES (--search, default 1000,200000), BENCH_SECONDS (per scenario per round, default 5), BENCH_ROUNDS (default 2), BENCH_CUSTOMERS (default 10000),
BENCH_OWN_ROUNDS (the own-CPU rounds, default 6), BENCH_SCENARIOS (--own: a comma-separated subset, e.g. get,create), BENCH_BEFORE (the commit of the
the before target; default the one before issue 17's write path).`;

let options: { dashboard?: boolean; move?: boolean; search?: boolean; scale?: boolean; shards?: boolean; own?: boolean; primitives?: boolean; profile?: string; target?: string; help?: boolean };
try {
  options = parseArgs({
    options: { dashboard: { type: "boolean" }, move: { type: "boolean" }, search: { type: "boolean" }, scale: { type: "boolean" }, shards: { type: "boolean" }, own: { type: "boolean" }, primitives: { type: "boolean" }, profile: { type: "string" }, target: { type: "string" }, help: { type: "boolean", short: "h" } },
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

async function main() {
  mkdirSync(OUT, { recursive: true });
  if (options.profile) return profile(options.profile, options.target ?? "after");
  if (options.shards) return shardThroughput();
  if (options.move) return moveRun();
  if (options.dashboard) return dashboardRun();
  if (options.search) return searchRun();
  if (options.own) return console.log(ownCpuTable(await handlerCpu()).join("\n"));
  if (options.primitives) return console.log((await primitiveCpu()).join("\n"));
  if (options.scale) return scaleRun();
  return httpRun();
}

await main().finally(stopAll);
process.exit(0);
