// Processes: every one the bench starts is stopped here, by pid, whatever happens. And wrangler, wrangler dev, /proc.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const OUT = join(ROOT, "bench/.out");
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

export const started: ChildProcess[] = [];
export function stopAll() {
  for (const child of started.splice(0)) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {}
  }
}
process.on("exit", stopAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
process.on("uncaughtException", (err) => {
  console.error(err);
  process.exit(1);
});

export function wrangler(cwd: string, ...command: string[]) {
  const result = spawnSync("wrangler", command, { cwd, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" }, maxBuffer: 1 << 28 });
  if (result.status !== 0) throw new Error(`wrangler ${command.join(" ")}: ${result.stderr || result.stdout}`);
  return result.stdout;
}

export interface Server {
  port: number;
  runtimePid: number;
  proxyPid: number;
  stop(): void;
}

/**
 * The project's wrangler.toml, except that the rate limit is out of the way: one account sends all the load here.
 * Paths are rewritten because the copy lives in bench/.out/; the binding ids stay, so the local state is shared.
 */
export function benchConfig(): string {
  const file = join(OUT, "wrangler.toml");
  const config = readFileSync(join(ROOT, "wrangler.toml"), "utf8")
    .replace(/^main = "(.*)"$/m, 'main = "../../$1"')
    .replace(/^migrations_dir = "(.*)"$/gm, 'migrations_dir = "../../$1"')
    .replace(/^directory = "\.\/(.*)"$/m, 'directory = "../../$1"')
    .replace(/simple = \{ limit = \d+/, "simple = { limit = 1000000000");
  writeFileSync(file, config);
  // The Worker secrets `npm run dev` keeps in .dev.vars, beside this copy of the configuration (fresh ones: the bench
  // never reads the developer's): without IDEMPOTENCY_SECRET every keyed write would be a 503.
  writeFileSync(join(OUT, ".dev.vars"), `WEBHOOK_SECRET_KEY=${randomBytes(32).toString("base64")}\nIDEMPOTENCY_SECRET=${randomBytes(32).toString("base64")}\n`);
  return file;
}

/** `wrangler dev` as `npm run dev` starts it, on 127.0.0.1; finds its two workerd processes. */
export async function startServer(cwd: string, port: number, persist?: string, config?: string): Promise<Server> {
  const child = spawn("wrangler", ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", "0", "--log-level", "error", ...(persist ? ["--persist-to", persist] : []), ...(config ? ["-c", config] : [])], {
    cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  started.push(child);
  child.stdout!.resume();
  child.stderr!.resume();
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`wrangler dev in ${cwd} did not start`);
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  // The proxy listens on the public port; the runtime on 127.0.0.1:0 (a port of its own).
  const workerd = descendants(child.pid!).filter((pid) => cmdline(pid).includes("workerd"));
  const proxyPid = workerd.find((pid) => cmdline(pid).includes(`entry=127.0.0.1:${port}`))!;
  const runtimePid = workerd.find((pid) => pid !== proxyPid && cmdline(pid).includes("entry=127.0.0.1:0"))!;
  if (!proxyPid || !runtimePid) throw new Error(`could not find workerd processes under ${child.pid}`);
  return {
    port,
    runtimePid,
    proxyPid,
    stop() {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
      started.splice(started.indexOf(child), 1);
    },
  };
}

export const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
};

export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, ppid] of parent) if (ppid === pid) out.push(child), walk(child);
  };
  walk(root);
  return out;
}

/** utime + stime of a process, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/**
 * CPU of a process's live threads, in ms to the µs (the scheduler's own sum, where the kernel shows it): finer than
 * the 10 ms ticks of cpuMs, for the harness whose threads live as long as it does.
 */
export function threadCpuMs(pid: number): number {
  try {
    let ms = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const m = /se\.sum_exec_runtime\s*:\s*([\d.]+)/.exec(readFileSync(`/proc/${pid}/task/${task}/sched`, "utf8"));
      if (!m) return cpuMs(pid);
      ms += Number(m[1]);
    }
    return ms;
  } catch {
    return cpuMs(pid);
  }
}
