// The house's shape, checked: every served route describes itself, the README's pictures name stages that exist and
// say truly which reach KV and D1, no module imports one that imports it back, and lib/ and db/ import nothing above
// them.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";
import { OPERATIONS } from "../../src/openapi/document";

const index = readFileSync("src/index.ts", "utf8");
const readme = readFileSync("README.md", "utf8");

describe("the house", () => {
  it("every route of the router is an operation that describes itself, and nothing else is described", () => {
    const routed = [...index.matchAll(/\.(get|post|patch|delete)\("(\/(?:v1\/[^"]+)?)"/g)].map(([, method, path]) => `${method} ${path!.replace(/:(\w+)/g, "{$1}")}`);
    const described = OPERATIONS.map((o) => `${o.method} ${o.path}`);
    expect(routed.length).toBeGreaterThan(10);
    expect([...described].sort()).toEqual([...routed].sort());
  });

  it("each stage the README's request diagram names is a stage of src/index.ts, in the same order", () => {
    const diagram = /```mermaid\n(sequenceDiagram\n[^`]*?participant Router[^`]*?)```/.exec(readme)?.[1];
    expect(diagram, "the request diagram in README.md").toBeDefined();
    const stages = [...diagram!.matchAll(/Router->>Router: (\w+)/g)].map(([, name]) => name!);
    expect(stages).toEqual(["startRequest", "authenticate", "limitCaller", "openSession", "readBody", "idempotency", "finishResponse"]);
    const positions = stages.map((stage) => index.search(new RegExp(`\\b${stage}\\b(?!")`, "g")));
    for (const [i, stage] of stages.entries()) expect(positions[i], `${stage} in src/index.ts`).toBeGreaterThan(-1);
    // In the router's definition the stages appear in request order (finishResponse last, in `finally`).
    const definition = index.slice(index.indexOf("const api"));
    const order = stages.map((stage) => definition.indexOf(stage));
    expect(order.every((p) => p >= 0)).toBe(true);
    expect(order.slice(1, 6)).toEqual([...order.slice(1, 6)].sort((a, b) => a - b));
  });

  it("lib/ and db/ import nothing from the layers above them", () => {
    for (const dir of ["src/lib", "src/db"]) {
      for (const file of readdirSync(dir)) {
        const source = readFileSync(join(dir, file), "utf8");
        const upward = [...source.matchAll(/from "(\.\.\/[^"]+)"/g)].map(([, path]) => path!).filter((path) => !/^\.\.\/(lib|db|env)(\/|$)/.test(path));
        expect(upward, `${dir}/${file}`).toEqual([]);
      }
    }
  });

  it("the stages drawn reaching KV and D1 are the ones whose code does, and only the handler reaches D1", () => {
    const diagram = /```mermaid\n(sequenceDiagram\n[^`]*?participant Router[^`]*?)```/.exec(readme)![1]!;
    const drawn = new Map<string, Set<string>>();
    let stage = "";
    for (const line of diagram.split("\n")) {
      const named = /Router->>Router: (\w+)/.exec(line);
      if (named) stage = named[1]!;
      if (/Router->>D1: the handler/.test(line)) stage = ""; // the handler's own round trip, after every stage
      const arrow = /Router->>(KV|D1):/.exec(line);
      if (arrow && stage) drawn.set(stage, new Set([...(drawn.get(stage) ?? []), arrow[1]!]));
    }
    const files: Record<string, string> = {
      startRequest: "request", authenticate: "auth", limitCaller: "rate-limit", openSession: "database", readBody: "body", idempotency: "idempotency", finishResponse: "request",
    };
    for (const [name, file] of Object.entries(files)) {
      const source = readFileSync(`src/pipeline/${file}.ts`, "utf8");
      const start = source.search(new RegExp(`export (async )?function ${name}\\(`));
      const body = source.slice(start, source.indexOf("\n}\n", start));
      const reaches = new Set<string>();
      if (/API_KEYS|LIMITER|\.limit\(/.test(body)) reaches.add("KV");
      if (/\.(batch|first|all|run)\(|Record\(/.test(body)) reaches.add("D1");
      expect([...reaches].sort(), `${name}: what the diagram draws it reaching`).toEqual([...(drawn.get(name) ?? [])].sort());
    }
  });

  it("no module of src/ imports one that imports it back (no import circle)", () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        const path = join(dir, f);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith(".ts")) files.push(path);
      }
    };
    walk("src");
    const edges = new Map(files.map((file) => [file, [...readFileSync(file, "utf8").matchAll(/from "(\.{1,2}\/[^"]+)"/g)]
      .map(([, spec]) => normalize(join(dirname(file), `${spec!}.ts`))).filter((target) => files.includes(target))]));
    const state = new Map<string, "open" | "done">();
    const circles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        circles.push([...path.slice(path.indexOf(file)), file].join(" → "));
        return;
      }
      state.set(file, "open");
      for (const next of edges.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    expect(circles).toEqual([]);
    // The vocabulary operations describe themselves with sits below them: nothing but the router reaches into openapi/.
    const intoOpenapi = files.filter((f) => !f.startsWith("src/openapi/") && f !== "src/index.ts" && (edges.get(f) ?? []).some((t) => t.startsWith("src/openapi/")));
    expect(intoOpenapi).toEqual([]);
  });
});
