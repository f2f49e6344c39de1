import { spawn, spawnSync, type ChildProcess } from "node:child_process";
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
