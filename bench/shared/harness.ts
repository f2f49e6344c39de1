// The Worker's own CPU, without the simulators: the harness served by a bare workerd.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cmdline, descendants, OUT, ROOT, started, wrangler } from "./processes";

/**
 * The commit before the one-round-trip write path (issue 17): its handler is the harness's `before` target, so the
 * default run shows what that change did, side by side. (The request-path redesign's own before was 37a3312.)
 */
export const BEFORE_COMMIT = process.env.BENCH_BEFORE ?? "7523657249d5aca0a0abb87c4ddd5633f7b193d9";

/**
 * The harness served by a bare workerd (no wrangler proxy, no inspector, no simulators): one Worker per target, each
 * in its own isolate, in one process whose CPU is measured; and, for each name in `isolates`, one more Worker per
 * target, so that a scenario can run in an isolate that serves nothing else (its JIT's type feedback then never
 * flips between scenarios, which made a call's CPU depend on what ran before it). Ports from `port` upwards.
 */
export const HARNESS_TARGETS = ["after", "before"] as const;
export const HARNESS_PORT = 18796;
export type HarnessTarget = (typeof HARNESS_TARGETS)[number];
export async function startHarness(port: number, inspectorPort?: number, isolates: string[] = []): Promise<{ pid: number; stop(): void; url(target: HarnessTarget, isolate?: string): string }> {
  const dir = join(OUT, "harness");
  rmSync(dir, { recursive: true, force: true });
  prepareBefore();
  for (const target of HARNESS_TARGETS) {
    wrangler(ROOT, "deploy", "--dry-run", "--outdir", join(dir, target), "-c", "bench/cpu/wrangler.toml", `bench/cpu/${target}.ts`);
  }
  const workers = HARNESS_TARGETS.flatMap((target) => [null, ...isolates].map((isolate, i) => ({ target, isolate, name: i ? `${target}${i}` : target })));
  const portOf = new Map(workers.map((w, i) => [`${w.target}/${w.isolate ?? ""}`, port + i]));
  const url = (target: HarnessTarget, isolate?: string) => `http://127.0.0.1:${portOf.get(`${target}/${isolate ?? ""}`)}`;
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [${workers.map((w) => `(name = "${w.name}", worker = .${w.name})`).join(", ")}],
  sockets = [${workers.map((w, i) => `(name = "${w.name}", address = "127.0.0.1:${port + i}", http = (), service = "${w.name}")`).join(", ")}],
);
${workers.map((w) => `const ${w.name} :Workerd.Worker = (
  modules = [(name = "${w.target}.js", esModule = embed "${w.target}/${w.target}.js")],
  compatibilityDate = "2026-11-01",
);`).join("\n")}
`,
  );
  const inspector = inspectorPort ? [`--inspector-addr=127.0.0.1:${inspectorPort}`] : [];
  const child = spawn(join(ROOT, "node_modules/.bin/workerd"), ["serve", "config.capnp", ...inspector], { cwd: dir, detached: true, stdio: "ignore" });
  started.push(child);
  for (const w of workers) {
    for (let i = 0; ; i++) {
      try {
        await fetch(`${url(w.target, w.isolate ?? undefined)}/run?scenario=baseline&n=1`);
        break;
      } catch {
        if (i > 100) throw new Error(`workerd did not start the harness (${w.name})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  // node_modules/.bin/workerd is a Node launcher: measure the workerd binary it runs.
  const pid = [child.pid!, ...descendants(child.pid!)].find((p) => cmdline(p).includes("bin/workerd serve"))!;
  return { pid, stop: () => process.kill(-child.pid!, "SIGKILL"), url };
}

/** The handler as it was before the request-path redesign, for the harness's `before` target. */
export function prepareBefore() {
  const dir = join(OUT, "before");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = spawnSync("git", ["archive", BEFORE_COMMIT, "src", "openapi.json"], { cwd: ROOT, maxBuffer: 1 << 26 });
  if (archive.status !== 0) throw new Error(`git archive ${BEFORE_COMMIT} failed (a shallow clone?): ${archive.stderr}`);
  const untar = spawnSync("tar", ["-x", "-C", dir], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`);
}
