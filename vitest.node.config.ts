import { defineConfig } from "vitest/config";

// Tests that run in Node: the real `npm run dev` (wrangler dev, local D1 and KV) driven over HTTP,
// and checks of generated artefacts with Node-only tools.
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    environment: "node",
    // Two files at a time: each drives its own npm run dev (its own port and state) and mostly waits on it.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
