// `--profile <scenario>`: V8's sampling profile of one harness scenario.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OUT } from "../shared/processes";
import { HARNESS_PORT, HARNESS_TARGETS, startHarness, type HarnessTarget } from "../shared/harness";

/** `--profile <scenario>`: V8's sampling profiler over the harness through the inspector; prints the top self times. */
export async function profile(scenario: string, target: string) {
  const harness = await startHarness(HARNESS_PORT, 18790);
  const inspectable = (await (await fetch("http://127.0.0.1:18790/json/list")).json()) as { webSocketDebuggerUrl: string; title?: string; url?: string }[];
  const inspected = inspectable.find((t) => `${t.title ?? ""} ${t.url ?? ""}`.includes(target)) ?? inspectable[HARNESS_TARGETS.indexOf(target as HarnessTarget)];
  const ws = new WebSocket(inspected!.webSocketDebuggerUrl);
  await new Promise((resolve) => ws.addEventListener("open", resolve));
  let id = 0;
  const pending = new Map<number, (result: any) => void>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    pending.get(message.id)?.(message.result);
  });
  const send = (method: string, params = {}) => new Promise<any>((resolve) => (pending.set(++id, resolve), ws.send(JSON.stringify({ id, method, params }))));
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 50 });
  const run = `${harness.url(target as HarnessTarget)}/run?scenario=${scenario}`;
  await fetch(`${run}&n=2000`); // warm up
  await send("Profiler.start");
  await fetch(`${run}&n=4000`);
  const { profile } = await send("Profiler.stop");
  ws.close();
  harness.stop();
  const nodes = new Map<number, any>(profile.nodes.map((n: any) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const nameOf = (id: number) => {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    return `${functionName || "(anonymous)"} ${url.split("/").pop()}:${lineNumber}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>(); // time with the function anywhere on the (synchronous) stack
  let total = 0;
  profile.samples.forEach((sample: number, i: number) => {
    const dt = profile.timeDeltas[i];
    total += dt;
    self.set(nameOf(sample), (self.get(nameOf(sample)) ?? 0) + dt);
    const onStack = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parents.get(id)) onStack.add(nameOf(id));
    for (const name of onStack) inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
  });
  // Self time per bundled module: esbuild heads each module's code with a `// path` comment.
  const bundle = readFileSync(join(OUT, "harness", target, `${target}.js`), "utf8").split("\n");
  const moduleOf: string[] = [];
  let current = "(bundle)";
  bundle.forEach((line, i) => {
    if (/^\/\/ (src|node_modules|bench)\//.test(line)) current = line.slice(3);
    moduleOf[i] = current;
  });
  const byModule = new Map<string, number>();
  profile.samples.forEach((sample: number, i: number) => {
    const { url, lineNumber } = nodes.get(sample).callFrame;
    const name = url.endsWith(`${target}.js`) ? moduleOf[lineNumber]! : nodes.get(sample).callFrame.functionName || "(native)";
    byModule.set(name, (byModule.get(name) ?? 0) + profile.timeDeltas[i]);
  });
  const top = (times: Map<string, number>) =>
    [...times].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([name, t]) => `${((t / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
  console.log(`Self time of ${scenario}, ${target} (line numbers of the bundle bench/.out/harness/${target}/${target}.js)`);
  console.log(top(self).join("\n"));
  console.log(`\nSelf time by module of ${scenario} (native functions by name)`);
  console.log(top(byModule).join("\n"));
  console.log(`\nTotal time (self and callees, synchronous part) of ${scenario}`);
  console.log(top(inclusive).join("\n"));
}
