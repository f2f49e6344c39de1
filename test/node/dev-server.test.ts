import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const PORT = String(18000 + Math.floor(Math.random() * 1000));
const BASE = `http://127.0.0.1:${PORT}`;
let dev: ChildProcess;
let output = "";

function cli(...args: string[]): string {
  const result = spawnSync("node", ["scripts/keys.mjs", ...args], { encoding: "utf8" });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.trim().split("\n").at(-1)!;
}

beforeAll(async () => {
  // Its own process group, so the whole tree (wrangler, workerd) can be stopped at the end.
  dev = spawn("node", ["scripts/dev.mjs", "--inspector-port", "0"], { env: { ...process.env, PORT }, detached: true });
  dev.stdout!.on("data", (chunk) => (output += chunk));
  dev.stderr!.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + 90_000;
  while (!output.includes("Ready on")) {
    if (Date.now() > deadline || dev.exitCode !== null) throw new Error(`npm run dev did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});

afterAll(() => {
  if (dev?.pid) process.kill(-dev.pid, "SIGTERM");
});

describe("npm run dev, over HTTP", () => {
  it("prints a working local test key and a curl line that returns 200", async () => {
    const key = /export VATLY_API_KEY=(test_[A-Za-z0-9]{32,})/.exec(output)?.[1];
    expect(key).toBeDefined();
    expect(output).toContain(`curl -H "Authorization: Bearer $VATLY_API_KEY" ${BASE}/v1/customers`);
    const response = await fetch(`${BASE}/v1/customers`, { headers: { Authorization: `Bearer ${key}` } });
    expect(response.status).toBe(200);
  });

  it("serves create, get and list for a key made with the CLI, and refuses it once revoked", async () => {
    const key = cli("create", "--account", `acct_e2e${PORT}`, "--mode", "live");
    expect(key).toMatch(/^live_[A-Za-z0-9]{32,}$/);
    const auth = { Authorization: `Bearer ${key}` };

    const created = await fetch(`${BASE}/v1/customers`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json", "Idempotency-Key": "e2e-1" },
      body: JSON.stringify({ email: "e2e@example.com", metadata: { source: "e2e" } }),
    });
    expect(created.status).toBe(201);
    const customer = (await created.json()) as { id: string; testmode: boolean; links: { self: { href: string } } };
    expect(customer.testmode).toBe(false);
    expect(customer.links.self.href).toBe(`${BASE}/v1/customers/${customer.id}`);

    const fetched = await fetch(customer.links.self.href, { headers: auth });
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toEqual(customer);

    const list = (await (await fetch(`${BASE}/v1/customers?limit=1`, { headers: auth })).json()) as { data: { id: string }[]; count: number };
    expect(list.data.map((c) => c.id)).toEqual([customer.id]);
    expect(list.count).toBe(1);

    const unused = cli("create", "--account", `acct_e2e${PORT}`, "--mode", "test");
    cli("revoke", unused);
    const revoked = await fetch(`${BASE}/v1/customers`, { headers: { Authorization: `Bearer ${unused}` } });
    expect(revoked.status).toBe(403);
    expect(await revoked.json()).toEqual({ message: "This API key has been revoked." });
  });
});

describe("README", () => {
  // Every shell block of the README that calls the local API, run as printed (only the port differs).
  const blocks = [...readFileSync(new URL("../../README.md", import.meta.url), "utf8").matchAll(/```sh\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .filter((block) => block.includes("curl") && block.includes("127.0.0.1:8787") && !block.includes("npx "));

  it("has curl examples of all three endpoints and of errors", () => {
    const all = blocks.join("\n");
    expect(all).toMatch(/curl -G http:\/\/127\.0\.0\.1:8787\/v1\/customers /);
    expect(all).toMatch(/curl http:\/\/127\.0\.0\.1:8787\/v1\/customers \\/);
    expect(all).toMatch(/\/v1\/customers\/\$CUSTOMER_ID/);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
  });

  it("every curl example works against npm run dev", () => {
    const key = /export VATLY_API_KEY=(test_[A-Za-z0-9]{32,})/.exec(output)![1]!;
    for (const block of blocks) {
      const script = block.replaceAll("127.0.0.1:8787", `127.0.0.1:${PORT}`);
      const out = execFileSync("bash", ["-euo", "pipefail", "-c", script], { encoding: "utf8", env: { ...process.env, VATLY_API_KEY: key } });
      expect(out, script).not.toMatch(/HTTP\/1\.1 5\d\d|An unexpected error/);
      expect(out.trim(), script).not.toBe("");
      if (block.includes('"email": "john@example.com"')) expect(JSON.parse(out)).toMatchObject({ resource: "customer", email: "john@example.com" });
      if (block.includes("$CUSTOMER_ID")) expect(JSON.parse(out)).toMatchObject({ resource: "customer" });
      if (block.includes("not-an-email")) expect(out).toContain("HTTP/1.1 422");
      if (block.includes("X-D1-Bookmark: $BOOKMARK")) expect(JSON.parse(out).data.length).toBeGreaterThan(0);
    }
  });
});
