// `npm run dev` for a Node test file: on a random port, with its own local state (never what `npm run dev` serves),
// in its own process group so the whole tree (wrangler, workerd) stops with it.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface DevServer {
  port: string;
  base: string;
  state: string;
  /** Everything it printed so far. */
  output(): string;
  stop(): void;
}

export async function startDev(args: string[] = []): Promise<DevServer> {
  const port = String(18000 + Math.floor(Math.random() * 1000));
  const state = mkdtempSync(join(tmpdir(), "vatly-e2e-"));
  let output = "";
  const dev: ChildProcess = spawn("node_modules/.bin/tsx", ["scripts/dev.ts", "--persist-to", state, "--inspector-port", "0", ...args], { env: { ...process.env, PORT: port }, detached: true });
  dev.stdout!.on("data", (chunk) => (output += chunk));
  dev.stderr!.on("data", (chunk) => (output += chunk));
  const server: DevServer = {
    port, base: `http://127.0.0.1:${port}`, state, output: () => output,
    stop: () => {
      if (dev.pid) process.kill(-dev.pid, "SIGTERM");
      rmSync(state, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 90_000;
  while (!output.includes("/dashboard/#link=")) { // printed once the server answers
    if (Date.now() > deadline || dev.exitCode !== null) {
      server.stop();
      throw new Error(`npm run dev did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return server;
}
