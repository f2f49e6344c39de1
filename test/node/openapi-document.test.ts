import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";

/** Redocly's recommended rules over a document: no error and no warning. */
function lint(path: string) {
  const result = spawnSync("node_modules/.bin/redocly", ["lint", path, "--format=json"], { encoding: "utf8" });
  const report = JSON.parse(result.stdout) as { totals: { errors: number; warnings: number }; problems: { message: string }[] };
  expect(report.problems.map((p) => p.message)).toEqual([]);
  expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
}

describe("openapi.json", () => {
  it("is a valid OpenAPI 3.1 document for a standard validator", async () => {
    const document = JSON.parse(readFileSync("openapi.json", "utf8"));
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("lints clean with Redocly, committed and as served (with the server's own URL)", () => {
    lint("openapi.json");
    const dir = mkdtempSync(join(tmpdir(), "openapi-"));
    try {
      // What GET /v1/openapi.json serves: the committed document with `servers` naming the server it came from.
      const served = { ...JSON.parse(readFileSync("openapi.json", "utf8")), servers: [{ url: "https://customers.vatly.dev" }] };
      writeFileSync(join(dir, "served.json"), JSON.stringify(served));
      lint(join(dir, "served.json"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(execFileSync("node_modules/.bin/redocly", ["--version"], { encoding: "utf8" })).toMatch(/^2\./);
  });
});
