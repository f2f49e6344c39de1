// The house's shape, checked: every served route describes itself, the README's pictures name stages that exist, and
// lib/ and db/ import nothing above them.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
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
});
