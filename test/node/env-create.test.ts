import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { printedId, setBindingId } from "../../scripts/env-create";

describe("npm run env:create writes the ids wrangler prints into wrangler.toml", () => {
  const toml = readFileSync("wrangler.toml", "utf8");

  it("replaces exactly the placeholder of one binding of one environment", () => {
    const id = "4f1b8c3e-9a2d-4e7f-8b6a-1c2d3e4f5a6b";
    const patched = setBindingId(toml, "staging", "d1_databases", "DB_1", "database_id", id);
    expect(patched).toContain(`database_name = "vatly-customers-staging-1"\ndatabase_id = "${id}"`);
    const changed = patched.split("\n").filter((line, i) => line !== toml.split("\n")[i]);
    expect(changed).toEqual([`database_id = "${id}"`]);
    expect(setBindingId(toml, "production", "kv_namespaces", "API_KEYS", "id", "ab".repeat(16))).toContain(`id = "${"ab".repeat(16)}"`);
    expect(() => setBindingId(toml, "staging", "d1_databases", "DB_9", "database_id", id)).toThrow(/no \[\[env.staging.d1_databases\]\]/);
  });

  it("reads the id from wrangler's TOML or JSON snippet", () => {
    expect(printedId('[[d1_databases]]\nbinding = "DB"\ndatabase_name = "x"\ndatabase_id = "4f1b8c3e-9a2d-4e7f-8b6a-1c2d3e4f5a6b"', "database_id")).toBe("4f1b8c3e-9a2d-4e7f-8b6a-1c2d3e4f5a6b");
    expect(printedId('{ "kv_namespaces": [ { "binding": "API_KEYS", "id": "0123456789abcdef0123456789abcdef" } ] }', "id")).toBe("0123456789abcdef0123456789abcdef");
    expect(() => printedId("nothing here", "id")).toThrow();
  });
});
