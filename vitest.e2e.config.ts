import { defineConfig } from "vitest/config";

// End-to-end: the real `npm run dev` (wrangler dev, local D1 and KV) driven over HTTP from Node.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
