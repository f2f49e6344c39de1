import { defineConfig } from "vitest/config";

// What `npm run mutation` (stryker.config.json) runs against every mutant: the Node unit tests of the pure code. The
// workerd suite cannot run under StrykerJS (its Vitest runner drives vitest's own Node pool, not
// @cloudflare/vitest-plugin's workerd pool), so the code it mutates is the code these tests reach.
export default defineConfig({
  test: {
    include: ["test/node/unit-*.test.ts"],
    environment: "node",
  },
});
