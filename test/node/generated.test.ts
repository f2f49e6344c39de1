// Files generated from others are committed; these fail when a copy is stale.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("generated files", () => {
  it("worker-configuration.d.ts is what `npm run cf-typegen` writes from wrangler.toml", () => {
    const check = spawnSync(
      "node_modules/.bin/wrangler",
      ["types", "--check", "--include-runtime=false", "--strict-vars=false", "--env-file", ".dev.vars.example"],
      { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
    );
    expect(check.status, `${check.stdout}${check.stderr}\nRun npm run cf-typegen and commit worker-configuration.d.ts.`).toBe(0);
  });
});
