// `npm test`: the type checks, the tests inside workerd, then the Node tests (the real `npm run dev`, generated
// artefacts). A green run prints one line per test file and a total; a failing step prints its whole output.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { cli } from "./wrangler";

cli(`Usage: npm test

Builds the client (\`npm run client:build\`), runs \`npm run typecheck\`, the workerd suite (vitest.config.ts) and the Node suite (vitest.node.config.ts), and prints
one line per test file and a total. A failing step prints its whole output. \`npm run test:unit\` runs the workerd
suite alone with vitest's own output.`, {});

interface Report { testResults: { name: string; status: string; assertionResults: { status: string }[] }[] }

/** Runs a command with its output captured (printed only if it fails); resolves with its exit code and output. */
function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

const dir = mkdtempSync(join(tmpdir(), "vatly-test-"));
const started = Date.now();
let failed = false;
const totals = { files: 0, tests: 0 };
try {
  // The client's types are generated from openapi.json first: the type checks then hold the client to the API.
  const client = await run("npm", ["run", "-s", "client:build"]);
  const typecheck = client.code === 0 ? await run("npm", ["run", "-s", "typecheck"]) : client;
  console.log(`${typecheck.code === 0 ? "✓" : "✗"} client build and typecheck (tsc, every project)`);
  if (typecheck.code !== 0) {
    console.log(typecheck.output);
    failed = true;
  }
  for (const [name, config] of [["workerd", "vitest.config.ts"], ["node", "vitest.node.config.ts"]] as const) {
    if (failed) break;
    const json = join(dir, `${name}.json`);
    const result = await run("vitest", ["run", "--config", config, "--reporter=default", "--reporter=json", `--outputFile.json=${json}`]);
    let report: Report | undefined;
    try {
      report = JSON.parse(readFileSync(json, "utf8")) as Report;
    } catch {}
    for (const file of report?.testResults ?? []) {
      const passed = file.assertionResults.filter((a) => a.status === "passed").length;
      const mark = file.status === "passed" ? "✓" : "✗";
      console.log(`${mark} ${name.padEnd(7)} ${relative(process.cwd(), file.name)}  ${passed}/${file.assertionResults.length}`);
      totals.files++;
      totals.tests += passed;
    }
    if (result.code !== 0 || !report) {
      console.log(`\n${name} suite failed; its output:\n${result.output}`);
      failed = true;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const seconds = Math.round((Date.now() - started) / 1000);
console.log(failed ? `\nFAILED (${totals.tests} tests passed before the failure, ${seconds} s)` : `\nAll green: typecheck, ${totals.tests} tests in ${totals.files} files, ${seconds} s`);
process.exit(failed ? 1 : 0);
