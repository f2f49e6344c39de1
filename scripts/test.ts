// `npm test`: the client build and type checks, the tests inside workerd, then the Node tests (the real `npm run dev`,
// generated artefacts). The screen gets one line per test file, then each failing test with its assertion's message
// and file:line; everything else the steps print goes to a log file whose path is printed.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { cli } from "./wrangler";

const USAGE = `Usage: npm test [-- --verbose] [<test file filter> ...]

Builds the client (\`npm run client:build\`), runs \`npm run typecheck\`, then the workerd suite (vitest.config.ts) and the
Node suite (vitest.node.config.ts) side by side. Prints one line per test file, then each failing test: its full name, the
assertion's message and the file:line of the assertion. The steps' own output goes to test-output/npm-test.log.
Known runtime noise (workerd's logs of expected failures: unreachable hosts in delivery tests, Workflows stopped on
purpose) is left out of that log unless --verbose is given; --verbose also shows the steps' output as it comes.
\`npm run test:unit\` runs the workerd suite alone with vitest's own output.`;

const { values, positionals: filters } = cli(USAGE, { verbose: { type: "boolean" } }, process.argv.slice(2), true);
const verbose = values.verbose ?? false;

/** Lines workerd prints for failures the tests cause on purpose; none of them is a test's result. */
const NOISE = [
  /^uncaught exception; source = Uncaught \(in promise\); stack = (Error: )?(internal error|NonRetryableError: .*\(test\))/,
  /^uncaught exception; exception = workerd\/jsg\/value\.h:\d+: failed: jsg\.Error: internal error/,
  /^uncaught exception; exception = workerd\/api\/actor-state\.c\+\+:\d+: failed: broken\.outputGateBroken; jsg\.Error: Aborting engine/,
  /^e = rust\/worker\/ffi\.rs:\d+: failed: /,
  /^exception = kj\/async-io\.c\+\+:\d+: disconnected/,
  /^stack: (\S*workerd@\S+ ?)+/,
];
const ANSI = /\x1b\[[0-9;]*m/g;

const logPath = resolve("test-output", "npm-test.log");
mkdirSync("test-output", { recursive: true });
writeFileSync(logPath, "");
let hidden = 0;

/**
 * A step's writer to the log, line by line, leaving out known noise (and the stack under it) unless --verbose. Steps
 * that run side by side each have their own, and each line names its step: their lines interleave whole.
 */
function logger(prefix = "") {
  let partial = "";
  let inNoise = false;
  return (text: string) => {
    if (verbose) process.stdout.write(text);
    const lines = (partial + text.replace(ANSI, "")).split("\n");
    partial = lines.pop()!;
    const kept: string[] = [];
    for (const line of lines) {
      if (!verbose && (NOISE.some((n) => n.test(line)) || (inNoise && /^\s+at /.test(line)))) {
        inNoise = true;
        hidden++;
        continue;
      }
      inNoise = false;
      kept.push(`${prefix}${line}\n`);
    }
    writeFileSync(logPath, kept.join(""), { flag: "a" });
  };
}
/** Runs a command with its output going to the log; resolves with its exit code and output. No colour: it is a file. */
function run(title: string, command: string, args: string[], log = logger()): Promise<{ code: number; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.FORCE_COLOR; // vitest turns colour on for any FORCE_COLOR value, even 0
  log(`\n===== ${title}: ${command} ${args.join(" ")}\n`);
  // A line on the screen as each step starts: the workerd suite is silent for about a minute, the Node one longer.
  if (!verbose) console.log(`… ${title} (started ${new Date().toISOString().slice(11, 19)} UTC)`);
  return new Promise((done) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
    let output = "";
    const take = (chunk: Buffer) => {
      output += chunk;
      log(String(chunk));
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("close", (code) => {
      log("\n");
      done({ code: code ?? 1, output });
    });
  });
}

interface Assertion { fullName: string; status: string; failureMessages: string[] }
interface Report { testResults: { name: string; status: string; message: string; assertionResults: Assertion[] }[] }
interface Failure { name: string; message: string; where: string }

/**
 * Where in the test file an error was raised: its stack's first frame in that file. Inside workerd the stack gives
 * positions in the transformed module (the pool does not map them back), so they are mapped through the source map
 * of the same transform vitest applies.
 */
async function whereIn(file: string, stack: string, transformed: boolean): Promise<string> {
  const at = new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+):(\\d+)`).exec(stack);
  const name = relative(process.cwd(), file);
  if (!at) return name;
  let [line, column] = [Number(at[1]), Number(at[2])];
  if (transformed) {
    const mapped = await originalPosition(file, line, column).catch(() => null);
    if (mapped) [line, column] = mapped;
  }
  return `${name}:${line}:${column}`;
}

let transformer: Promise<{ transform(file: string): Promise<{ map: unknown } | null>; close(): Promise<void> }> | undefined;
async function originalPosition(file: string, line: number, column: number): Promise<[number, number] | null> {
  transformer ??= (async () => {
    const { createServer } = await import("vite");
    const server = await createServer({
      configFile: false, root: process.cwd(), logLevel: "silent", optimizeDeps: { noDiscovery: true },
      server: { middlewareMode: true, hmr: false, ws: false },
    });
    return { transform: (f: string) => server.environments.ssr.transformRequest(f), close: () => server.close() };
  })();
  const result = await (await transformer).transform(file);
  if (!result?.map) return null;
  const { TraceMap, originalPositionFor } = await import("@jridgewell/trace-mapping");
  const position = originalPositionFor(new TraceMap(result.map as never), { line, column: column - 1 });
  return position.line === null ? null : [position.line, position.column + 1];
}

async function failuresOf(report: Report, transformed: boolean): Promise<Failure[]> {
  const failures: Failure[] = [];
  for (const file of report.testResults) {
    const failed = file.assertionResults.filter((a) => a.status === "failed");
    for (const test of failed) {
      const error = (test.failureMessages[0] ?? "").replace(ANSI, "");
      const message = error.split("\n").filter((l) => !/^\s+at /.test(l)).join("\n").trim();
      failures.push({ name: test.fullName, message, where: await whereIn(file.name, error, transformed) });
    }
    if (failed.length === 0 && file.status === "failed") {
      // The file failed outside any test: an import, a hook, an unhandled error.
      const message = (file.message ?? "").replace(ANSI, "");
      failures.push({ name: `${relative(process.cwd(), file.name)} (outside its tests)`, message: message.split("\n").filter((l) => !/^\s+at /.test(l)).join("\n").trim(), where: await whereIn(file.name, message, transformed) });
    }
  }
  return failures;
}

const started = Date.now();
const totals = { files: 0, tests: 0 };
const failures: Failure[] = [];
const failedSteps: string[] = [];

// Every step runs even when an earlier one failed, so one run lists every failure. The client's types are generated from openapi.json first: the type checks then hold the client to the API.
const client = await run("client build", "npm", ["run", "-s", "client:build"]);
const typecheck = client.code === 0 ? await run("typecheck", "npm", ["run", "-s", "typecheck"]) : client;
console.log(`${typecheck.code === 0 ? "✓" : "✗"} client build and typecheck (tsc, every project)`);
if (typecheck.code !== 0) {
  failedSteps.push("client build and typecheck");
  for (const line of typecheck.output.replace(ANSI, "").split("\n").filter((l) => /error TS\d+|error:/i.test(l)).slice(0, 20)) {
    failures.push({ name: "typecheck", message: line.trim(), where: "" });
  }
}
/** One suite: its vitest run (JSON report beside the log), then its lines on the screen and its failures. */
async function suite(name: "workerd" | "node", config: string) {
  const json = resolve("test-output", `${name}.json`);
  writeFileSync(json, "");
  const args = ["run", "--config", config, "--reporter=default", "--reporter=json", `--outputFile.json=${json}`, ...(filters.length ? ["--passWithNoTests", ...filters] : [])];
  const result = await run(`${name} suite`, "vitest", args, logger(`[${name}] `));
  let report: Report | undefined;
  try {
    report = JSON.parse(readFileSync(json, "utf8")) as Report;
  } catch {}
  for (const file of report?.testResults ?? []) {
    const passed = file.assertionResults.filter((a) => a.status === "passed").length;
    console.log(`${file.status === "passed" ? "✓" : "✗"} ${name.padEnd(7)} ${relative(process.cwd(), file.name)}  ${passed}/${file.assertionResults.length}`);
    totals.files++;
    totals.tests += passed;
  }
  const failed = report ? await failuresOf(report, name === "workerd") : [];
  failures.push(...failed);
  if (result.code !== 0 || !report) {
    failedSteps.push(`${name} suite`);
    if (failed.length === 0) {
      const tail = result.output.replace(ANSI, "").trim().split("\n").slice(-15).join("\n");
      failures.push({ name: `${name} suite (exit ${result.code}, no test failed)`, message: tail, where: "" });
    }
  }
}

// The two suites run side by side: the workerd one is mostly CPU, the Node one mostly waits on the processes it drives
// (npm run dev, wrangler, a browser). Each prints its files' lines as it ends.
await Promise.all([suite("workerd", "vitest.config.ts"), suite("node", "vitest.node.config.ts")]);
if (transformer) await (await transformer).close();

const seconds = Math.round((Date.now() - started) / 1000);
const noise = hidden ? `; ${hidden} lines of known runtime noise left out (--verbose keeps them)` : "";
if (failedSteps.length === 0) {
  console.log(`\nAll green: typecheck, ${totals.tests} tests in ${totals.files} files, ${seconds} s. Full output: ${relative(process.cwd(), logPath)}${noise}`);
  process.exit(0);
}
console.log(`\nFAILED in the ${failedSteps.join(" and the ")} (${totals.tests} tests passed, ${seconds} s). Failing:`);
for (const [i, f] of failures.entries()) {
  const message = f.message.split("\n").slice(0, 12).join("\n    ");
  console.log(`\n${i + 1}. ${f.name}${f.where ? `\n   at ${f.where}` : ""}\n    ${message}`);
}
console.log(`\nFull output: ${relative(process.cwd(), logPath)}${noise}`);
process.exit(1);
