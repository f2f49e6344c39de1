// `--move`: an account moved between shards by the AccountMove Workflow under `wrangler dev`: copy throughput (rows per
// second) and the window of refused writes, for 10,000 and 100,000 customers (BENCH_MOVE_SIZES to change them).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ACCOUNT, prepareState, seed } from "../shared/data";
import { benchConfig, OUT, ROOT, startServer } from "../shared/processes";
import { f, machine, writeResults } from "../shared/report";

const SIZES = (process.env.BENCH_MOVE_SIZES ?? "10000,100000").split(",").map(Number);

export async function moveRun() {
  const header = `${machine()}, move mode.`;
  console.log(header);
  const rows: string[] = [];
  for (const size of SIZES) {
    const persist = join(OUT, `move-${size}`);
    await prepareState(persist);
    seed(persist, size, Date.now() - size - 60_000);
    const port = 18793;
    const server = await startServer(ROOT, port, persist, benchConfig());
    const started = Date.now();
    const result = spawnSync(join(ROOT, "node_modules/.bin/tsx"), ["scripts/account-move.ts", "--account", ACCOUNT, "--to", "1", "--persist-to", persist, "--port", String(port), "--settle", "0"], {
      cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26,
    });
    const seconds = (Date.now() - started) / 1000;
    server.stop();
    const done = /: (\d+) rows copied in ([\d.]+) s; writes were refused for ([\d.]+) s/.exec(result.stdout);
    if (result.status !== 0 || !done) throw new Error(`account:move of ${size} customers failed:\n${result.stdout}\n${result.stderr}`);
    const copied = Number(done[1]);
    rows.push(`| ${size.toLocaleString("en")} | ${copied.toLocaleString("en")} | ${f(seconds, 1)} | ${f(copied / seconds)} | ${done[3]} |`);
    console.log(rows.at(-1));
  }
  const table = [
    "## Moving an account: the AccountMove Workflow under `wrangler dev`",
    "",
    "Seeded customers of one account (three scopes seeded, one moved: the bench account's test mode), moved from DB to DB_1 by `npm run account:move` against a local `wrangler dev`; the time is from the trigger to the end of the clean-up, as the operator waits for it. The refused-write window is the Workflow's own measure (cutover to moved).",
    "",
    "| customers | rows copied | seconds | rows per second | writes refused (s) |",
    "| ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ];
  console.log(table.join("\n"));
  writeResults("<!-- move -->", [header, "", ...table]);
}
