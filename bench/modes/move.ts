// `--move`: an account moved between shards by the AccountMove Workflow under `wrangler dev`: copy throughput (rows per
// second) and the window of refused writes, for 10,000 and 100,000 customers (BENCH_MOVE_SIZES to change them); each
// size also as a move stopped after its first copy step and resumed.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ACCOUNT, prepareState, seed } from "../shared/data";
import { benchConfig, OUT, ROOT, startServer } from "../shared/processes";
import { f, machine, writeResults } from "../shared/report";

const SIZES = (process.env.BENCH_MOVE_SIZES ?? "10000,100000").split(",").map(Number);

/** The summary line of `account:move`: rows copied and the refused-write window. */
const SUMMARY = /is served from DB_1\. copy (\d+) rows in [\d.]+ s;.*?writes refused ([\d.]+) s/;

function accountMove(persist: string, port: number) {
  const result = spawnSync(join(ROOT, "node_modules/.bin/tsx"), ["scripts/account-move.ts", "--account", ACCOUNT, "--to", "1", "--persist-to", persist, "--port", String(port), "--settle", "0"], {
    cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26,
  });
  const done = SUMMARY.exec(result.stdout);
  if (result.status !== 0 || !done) throw new Error(`account:move failed:\n${result.stdout}\n${result.stderr}`);
  return { copied: Number(done[1]), refused: done[2]! };
}

/** A move stopped after its first copy step, as a crash there would, left until its Workflow instance has ended. */
async function stoppedMove(port: number) {
  const id = `bench-stop-${Date.now()}`;
  const params = JSON.stringify({ accountId: ACCOUNT, to: 1, stopAfter: "copy", settleSeconds: 0 });
  const where = ["--local", "--port", String(port)];
  const wrangler = (args: string[]) => spawnSync(join(ROOT, "node_modules/.bin/wrangler"), args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, CI: "true" } });
  if (wrangler(["workflows", "trigger", "account-move", params, "--id", id, ...where]).status !== 0) throw new Error("could not start the stopped move");
  for (;;) {
    const described = wrangler(["workflows", "instances", "describe", "account-move", id, "--json", ...where]).stdout;
    if (/"status":\s*"(errored|terminated)"/.test(described)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export async function moveRun() {
  const header = `${machine()}, move mode.`;
  console.log(header);
  const rows: string[] = [];
  for (const size of SIZES) {
    for (const kind of ["uninterrupted", "stopped after its first copy step, resumed"] as const) {
      const persist = join(OUT, `move-${size}`);
      await prepareState(persist);
      seed(persist, size, Date.now() - size - 60_000);
      const port = 18793;
      const server = await startServer(ROOT, port, persist, benchConfig());
      const started = Date.now();
      if (kind !== "uninterrupted") await stoppedMove(port);
      const { copied, refused } = accountMove(persist, port);
      const seconds = (Date.now() - started) / 1000;
      server.stop();
      rows.push(`| ${size.toLocaleString("en")} | ${kind} | ${copied.toLocaleString("en")} | ${f(seconds, 1)} | ${f(copied / seconds)} | ${refused} |`);
      console.log(rows.at(-1));
    }
  }
  const table = [
    "## Moving an account: the AccountMove Workflow under `wrangler dev`",
    "",
    "Seeded customers of one account (three scopes seeded, one moved: the bench account's test mode), moved from DB to DB_1 by `npm run account:move` against a local `wrangler dev`; the time is from the trigger to the end of the clean-up, as the operator waits for it (for the interrupted run, from the first trigger: the stopped instance, then the command that takes the move over). Rows copied are the copy's own count (the resumed run goes on from the cursor its stopped step kept). Since the moves became a state machine, every page is also read again on both shards and compared before the cutover: 100,000 customers took 17.3 s before that check and 23.6 s with it. The refused-write window is the Workflow's own measure (cutover to moved).",
    "",
    "| customers | run | rows copied | seconds | rows per second | writes refused (s) |",
    "| ---: | --- | ---: | ---: | ---: | ---: |",
    ...rows,
  ];
  console.log(table.join("\n"));
  writeResults("<!-- move -->", [header, "", ...table]);
}
