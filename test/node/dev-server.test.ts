import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { chromium } from "playwright-core";
import { AuthenticationError, NotFoundError, PreconditionFailedError, ValidationError, Vatly, verifyWebhook, type Customer } from "../../client/dist/index.js";
import { describe, expect, it } from "vitest";
import { send, PORT, BASE, STATE, output, cli, receiver, until } from "./e2e";

describe("npm run dev, over HTTP", () => {
  it("prints a working local test key and a curl line that returns 200", async () => {
    const key = /export VATLY_API_KEY=(test_[A-Za-z0-9]{32,})/.exec(output)?.[1];
    expect(key).toBeDefined();
    // Printed once, after the server answers, with the base the examples use; wrangler's own line per request (the
    // Worker logs each request already) and its cron hint are left out unless --verbose.
    expect(output).toMatch(/Ready\. Local test key for account \S+ /);
    expect(output.split("export VATLY_API_KEY=").length).toBe(2);
    expect(output).not.toMatch(/\[wrangler:info\] (GET|POST|PATCH|DELETE|QUEUE) /);
    expect(output).toContain(`Cron locally: curl "${BASE}/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*"`);
    expect(output).not.toContain("/cdn-cgi/local/scheduled"); // one cron hint, the README's
    expect(output.split("Your Worker has access to the following bindings").length).toBeLessThanOrEqual(2);
    expect(output).toContain(`export VATLY_API_BASE=${BASE}\n`);
    expect(output).toContain('curl -H "Authorization: Bearer $VATLY_API_KEY" $VATLY_API_BASE/v1/customers');
    const curl = execFileSync("bash", ["-c", 'curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $VATLY_API_KEY" $VATLY_API_BASE/v1/customers'], { encoding: "utf8", env: { ...process.env, VATLY_API_KEY: key!, VATLY_API_BASE: BASE } });
    expect(curl).toBe("200");
  });

  it("serves create, get and list for a key made with the CLI, and refuses it once revoked", async () => {
    const key = cli("create", "--account", `acct_e2e${PORT}`, "--mode", "live");
    expect(key).toMatch(/^live_[A-Za-z0-9]{32,}$/);
    const auth = { Authorization: `Bearer ${key}` };

    const created = await send(`${BASE}/v1/customers`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json", "Idempotency-Key": "e2e-1" },
      body: JSON.stringify({ email: "e2e@example.com", metadata: { source: "e2e" } }),
    });
    expect(created.status).toBe(201);
    const customer = (await created.json()) as { id: string; testmode: boolean; links: { self: { href: string } } };
    expect(customer.testmode).toBe(false);
    expect(customer.links.self.href).toBe(`${BASE}/v1/customers/${customer.id}`);

    const fetched = await send(customer.links.self.href, { headers: auth });
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toEqual(customer);

    const list = (await (await send(`${BASE}/v1/customers?limit=1`, { headers: auth })).json()) as { data: { id: string }[]; count: number };
    expect(list.data.map((c) => c.id)).toEqual([customer.id]);
    expect(list.count).toBe(1);

    const unused = cli("create", "--account", `acct_e2e${PORT}`, "--mode", "test");
    cli("revoke", unused);
    const revoked = await send(`${BASE}/v1/customers`, { headers: { Authorization: `Bearer ${unused}` } });
    expect(revoked.status).toBe(403);
    expect(await revoked.json()).toEqual({ message: "This API key has been revoked." });
  });
});


describe("Cron Triggers through npm run dev", () => {
  it("run from wrangler's own scheduled endpoint, as the README's hint says, with no restart", async () => {
    const hint = /curl "http:\/\/127\.0\.0\.1:8787(\/cdn-cgi\/handler\/scheduled\?cron=[^"]+)"/.exec(readFileSync("README.md", "utf8"));
    expect(hint).not.toBeNull();
    const before = output.length;
    const response = await send(`${BASE}${hint![1]}`);
    expect(response.status).toBe(200);
    for (let i = 0; i < 50 && !output.slice(before).includes('"event":"webhook_sweep"'); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(output.slice(before)).toContain('"event":"webhook_sweep"');
  });
});

describe("webhooks through npm run dev (Queues simulated by wrangler)", () => {
  it("delivers webhook.setup and the customer events with valid signatures", async () => {
    const key = cli("create", "--account", `acct_hooks${PORT}`, "--mode", "test");
    const auth = { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
    const hooks = await receiver();
    const secret = "e2e-signing-secret-123";
    try {
      expect((await send(`${BASE}/v1/webhook-endpoints`, { method: "POST", headers: auth, body: JSON.stringify({ url: hooks.url, secret }) })).status).toBe(201);
      const customer = (await (await send(`${BASE}/v1/customers`, { method: "POST", headers: auth, body: JSON.stringify({ email: "hooked@example.com" }) })).json()) as { id: string };
      expect((await send(`${BASE}/v1/customers/${customer.id}`, { method: "PATCH", headers: auth, body: JSON.stringify({ name: "Hooked" }) })).status).toBe(200);
      expect((await send(`${BASE}/v1/customers/${customer.id}`, { method: "DELETE", headers: auth })).status).toBe(204);
      const names = ["webhook.setup", "customer.created", "customer.updated", "customer.deleted"];
      await until(() => (names.every((n) => hooks.got.some((g) => JSON.parse(g.body).eventName === n)) ? true : undefined));
      for (const delivery of hooks.got) {
        const expected = createHmac("sha256", secret).update(delivery.body).digest("hex");
        expect(delivery.headers["vatly-signature"]).toBe(expected);
        expect(delivery.headers["webhook-id"]).toBe(JSON.parse(delivery.body).id);
      }
      const updated = hooks.got.map((g) => JSON.parse(g.body)).find((e) => e.eventName === "customer.updated");
      expect(updated).toMatchObject({ entityId: customer.id, entityType: "customer" });
    } finally {
      hooks.close();
    }
  });

  it("keeps trying a receiver that answers 500 twice, until it answers 200", async () => {
    const key = cli("create", "--account", `acct_flaky${PORT}`, "--mode", "test");
    const auth = { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
    const hooks = await receiver([500, 500]);
    try {
      expect((await send(`${BASE}/v1/webhook-endpoints`, { method: "POST", headers: auth, body: JSON.stringify({ url: hooks.url, secret: "flaky-secret-0123" }) })).status).toBe(201);
      const setup = await until(() => (hooks.got.filter((g) => g.status === 200).length ? hooks.got : undefined), 30_000);
      expect(setup.map((g) => g.status)).toEqual([500, 500, 200]);
      expect(new Set(setup.map((g) => g.headers["webhook-id"])).size).toBe(1);
    } finally {
      hooks.close();
    }
  });
});

describe("backups", () => {
  it("no script runs wrangler d1 export (it refuses the index, and a failed remote export can leave a database busy)", () => {
    for (const script of ["scripts/backup.ts", "scripts/shards.ts", "scripts/deploy.ts", "scripts/account-move.ts", "scripts/keys.ts"]) {
      expect(readFileSync(script, "utf8"), script).not.toMatch(/["']d1["'],\s*["']export["']/);
    }
  });
});


describe("the TypeScript client (client/), against npm run dev", () => {
  /**
   * A fault-injecting proxy in front of npm run dev: `fault` decides, per request, to answer a status itself, to
   * forward and then drop the connection (the write applied, the answer lost), or to forward. Records what it saw.
   */
  async function proxy(fault: (method: string, path: string, n: number) => { status?: number; retryAfter?: string; drop?: boolean; before?: () => Promise<void> } | undefined) {
    const seen: { method: string; path: string; headers: Record<string, string | string[] | undefined> }[] = [];
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      seen.push({ method: req.method!, path: req.url!, headers: req.headers });
      const action = fault(req.method!, req.url!, seen.filter((s) => s.method === req.method && s.path === req.url).length);
      await action?.before?.();
      if (action?.status) {
        res.writeHead(action.status, { "Content-Type": "application/json", ...(action.retryAfter ? { "Retry-After": action.retryAfter } : {}) }).end('{"message":"injected"}');
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !["host", "connection", "content-length", "accept-encoding"].includes(k)).map(([k, v]) => [k, String(v)]));
      const upstream = await send(`${BASE}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
      const body = Buffer.from(await upstream.arrayBuffer());
      if (action?.drop) {
        res.socket?.destroy(); // the write is done upstream; the client never hears of it
        return;
      }
      // fetch has decoded the body: its encoding and length headers no longer describe it.
      const answer = Object.fromEntries([...upstream.headers].filter(([k]) => !["content-encoding", "content-length", "transfer-encoding"].includes(k)));
      res.writeHead(upstream.status, answer).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen, close: () => server.close() };
  }

  it("every method: customers, webhook endpoints and events, lists walked across pages both ways", async () => {
    const account = `acct_client${PORT}`;
    const vatly = new Vatly({ apiKey: cli("create", "--account", account, "--mode", "test"), baseUrl: BASE });
    const made: Customer[] = [];
    for (let i = 0; i < 7; i++) made.push(await vatly.customers.create({ email: `c${i}@example.com`, metadata: { i: String(i) } }));
    const newestFirst = [...made].reverse().map((c) => c.id);
    const walked: string[] = [];
    for await (const customer of vatly.customers.list({ limit: 3 })) walked.push(customer.id);
    expect(walked).toEqual(newestFirst);
    const back: string[] = [];
    for await (const customer of vatly.customers.list({ limit: 3, endingBefore: made[0]!.id, backwards: true })) back.push(customer.id);
    expect(back).toEqual(made.slice(1).map((c) => c.id));
    const page = await vatly.customers.page({ limit: 3 });
    expect(page.data).toHaveLength(3);
    expect((await (await page.next())!.prev())!.data.map((c) => c.id)).toEqual(page.data.map((c) => c.id));

    expect((await vatly.customers.retrieve(made[0]!.id)).email).toBe("c0@example.com");
    expect((await vatly.customers.findByEmail(" C3@Example.com "))!.id).toBe(made[3]!.id);
    expect(await vatly.customers.findByEmail("nobody@example.com")).toBeNull();
    const updated = await vatly.customers.update(made[0]!.id, { name: "Ada", metadata: { i: null, plan: "pro" } });
    expect(updated).toMatchObject({ name: "Ada", metadata: { plan: "pro" } });
    const { etag } = await vatly.customers.retrieveWithEtag(made[0]!.id);
    await expect(vatly.customers.update(made[0]!.id, { name: "Stale" }, { ifMatch: '"not-it"' })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await vatly.customers.update(made[0]!.id, { name: "Fresh" }, { ifMatch: etag })).name).toBe("Fresh");
    await vatly.customers.del(made[1]!.id);
    const missing = await vatly.customers.retrieve(made[1]!.id).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).requestId).toMatch(/^req_/);
    const invalid = await vatly.customers.create({ email: "not-an-email" }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect(Object.keys((invalid as ValidationError).errors)).toEqual(["email"]);

    const endpoint = await vatly.webhookEndpoints.create({ url: "http://127.0.0.1:9/hooks", secret: "client-test-secret" });
    expect((await vatly.webhookEndpoints.retrieve(endpoint.id)).url).toBe("http://127.0.0.1:9/hooks");
    expect((await vatly.webhookEndpoints.update(endpoint.id, { url: "http://127.0.0.1:9/other" })).url).toBe("http://127.0.0.1:9/other");
    const endpoints: string[] = [];
    for await (const e of vatly.webhookEndpoints.list()) endpoints.push(e.id);
    expect(endpoints).toEqual([endpoint.id]);
    const events: string[] = [];
    for await (const e of vatly.webhookEvents.list({ limit: 4, eventName: "customer.created" })) events.push(e.eventName);
    expect(events).toEqual(Array(7).fill("customer.created"));
    const first = (await vatly.webhookEvents.page({ limit: 1 })).data[0]!;
    expect((await vatly.webhookEvents.retrieve(first.id)).id).toBe(first.id);
    await vatly.webhookEndpoints.del(endpoint.id);
    const auth = await new Vatly({ apiKey: "test_nope", baseUrl: BASE }).customers.page().catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(AuthenticationError);
  }, 120_000);

  it("retries 503, 429 and a lost answer with the same Idempotency-Key: exactly one write; carries the bookmark; modify() survives a 412", async () => {
    const account = `acct_retry${PORT}`;
    const key = cli("create", "--account", account, "--mode", "test");
    let racer: (() => Promise<void>) | undefined;
    const p = await proxy((method, path, n) => {
      if (method === "POST" && path === "/v1/customers" && n === 1) return { status: 503, retryAfter: "0" };
      if (method === "POST" && path === "/v1/customers" && n === 2) return { status: 429, retryAfter: "1" };
      if (method === "POST" && path === "/v1/customers" && n === 3) return { drop: true };
      if (method === "PATCH" && racer) {
        const before = racer;
        racer = undefined;
        return { before };
      }
      return undefined;
    });
    try {
      const vatly = new Vatly({ apiKey: key, baseUrl: p.url, baseDelayMs: 10 });
      const customer = await vatly.customers.create({ email: "once@example.com" });
      const posts = p.seen.filter((s) => s.method === "POST");
      expect(posts).toHaveLength(4);
      expect(new Set(posts.map((s) => s.headers["idempotency-key"])).size).toBe(1);
      const direct = new Vatly({ apiKey: key, baseUrl: BASE });
      const all = (await direct.customers.page({ limit: 100 })).data;
      expect(all.map((c) => c.id)).toEqual([customer.id]);

      // The bookmark of the create's answer goes out with the next call.
      const afterCreate = vatly.bookmark;
      expect(afterCreate).toMatch(/^[0-9a-f]{8}-/);
      await vatly.customers.retrieve(customer.id);
      expect(p.seen.at(-1)!.headers["x-d1-bookmark"]).toBe(afterCreate);

      // A concurrent change lands between modify()'s read and its write: the write gets a 412, modify reads again.
      racer = async () => void (await direct.customers.update(customer.id, { metadata: { other: "writer" } }));
      const modified = await vatly.customers.modify(customer.id, (c) => ({ metadata: { count: String(Number(c.metadata?.count ?? 0) + 1) } }));
      expect(modified.metadata).toEqual({ other: "writer", count: "1" });
    } finally {
      p.close();
    }
  }, 120_000);

  it("verifies a real delivery with verifyWebhook, and refuses a tampered one", async () => {
    const account = `acct_verify${PORT}`;
    const vatly = new Vatly({ apiKey: cli("create", "--account", account, "--mode", "test"), baseUrl: BASE });
    const deliveries: { body: string; headers: Record<string, string | string[] | undefined> }[] = [];
    const receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        deliveries.push({ body, headers: req.headers });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    try {
      const secret = "verify-secret-0123";
      await vatly.webhookEndpoints.create({ url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`, secret });
      const customer = await vatly.customers.create({ email: "delivered@example.com" });
      const deadline = Date.now() + 30_000;
      while (!deliveries.some((d) => d.body.includes(customer.id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const delivery = deliveries.find((d) => d.body.includes(customer.id))!;
      const event = await verifyWebhook(delivery.body, delivery.headers, { secrets: ["an-old-secret-000", secret] });
      expect(event).toMatchObject({ eventName: "customer.created", entityId: customer.id });
      await expect(verifyWebhook(delivery.body.replace("delivered@", "tampered@"), delivery.headers, { secrets: secret })).rejects.toThrow(/webhook-signature does not match/);
      await expect(verifyWebhook(delivery.body, delivery.headers, { secrets: secret, now: Math.floor(Date.now() / 1000) + 3600 })).rejects.toThrow(/tolerance/);
      await expect(verifyWebhook(delivery.body, delivery.headers, { secrets: "wrong-secret-0000" })).rejects.toThrow();
    } finally {
      receiver.close();
    }
  }, 60_000);
});

// A real browser: Debian's chromium (`.ci/run` installs it when missing), driven by playwright-core.
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  console.log(`The /docs browser test was not run: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).`);
} else {
  describe("GET /docs in a real browser", () => {
    it("lists every operation by its group, once (no HEAD twins), with short names, and the try-it console reaches npm run dev", async () => {
      const key = /export VATLY_API_KEY=(test_[A-Za-z0-9]{32,})/.exec(output)![1]!;
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const outside: string[] = [];
        const answered: string[] = [];
        page.on("request", (r) => void (new URL(r.url()).host !== `127.0.0.1:${PORT}` && outside.push(r.url())));
        page.on("response", (r) => answered.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`));
        await page.goto(`${BASE}/docs`);
        type Op = { summary?: string; tags?: string[]; "x-scalar-ignore"?: boolean };
        const document = JSON.parse(readFileSync("openapi.json", "utf8")) as { paths: Record<string, Record<string, Op>>; tags: { name: string }[] };
        const operations = Object.values(document.paths).flatMap((ops) => Object.values(ops));
        const shown = operations.filter((op) => !op["x-scalar-ignore"]);
        // Every operation but the HEAD twins: short names, each in one of the groups.
        expect(shown.length).toBeGreaterThanOrEqual(17);
        expect(operations.length - shown.length).toBe(operations.filter((op) => op.summary?.endsWith("(headers only)")).length);
        for (const op of shown) expect(op.summary!.length, op.summary).toBeLessThanOrEqual(32);
        await page.getByText(shown[0]!.summary!).first().waitFor();
        mkdirSync("test-output", { recursive: true });
        await page.screenshot({ path: "test-output/docs-1280.png" });
        // The sidebar: a group per tag (the first open), each opening on its operations.
        for (const tag of document.tags.map((t) => t.name)) {
          expect(await page.getByText(tag, { exact: true }).count(), tag).toBeGreaterThan(0);
          const inTag = shown.filter((op) => op.tags?.[0] === tag);
          expect(inTag.length, tag).toBeGreaterThan(0);
          if ((await page.getByText(inTag[0]!.summary!, { exact: true }).count()) === 0) await page.getByText(tag, { exact: true }).first().click();
          for (const op of inTag) await page.getByText(op.summary!, { exact: true }).first().waitFor({ timeout: 5_000 });
        }
        expect(document.tags.map((t) => t.name)).toEqual(["Customers", "Webhook endpoints", "Webhook events", "Reference"]);
        expect(await page.getByText("(headers only)").count()).toBe(0);
        expect(await page.getByText("Client Libraries").count()).toBe(0); // no empty box of snippets

        // The console: "List customers", with the local key as bearer token, sent to this server.
        const summary = "List customers";
        await page.getByRole("button", { name: /^List customers\s*HTTP Method:\s*GET/i }).first().click();
        const section = page.locator("section", { has: page.getByRole("heading", { name: summary, exact: true }) }).first();
        await section.getByRole("button", { name: /Test Request/ }).first().click();
        await page.getByPlaceholder("Token").last().fill(key); // the console's (the page has one too)
        await page.getByRole("button", { name: /^Send/ }).first().click();
        await page.getByText("200 OK").first().waitFor({ timeout: 15_000 });
        expect(answered).toContain("GET /v1/customers 200");
        expect(outside).toEqual([]); // no CDN, fonts or telemetry
      } finally {
        await browser.close();
      }
    });
  });
}


describe("README", () => {
  // Every shell block, run as printed against this npm run dev (only the port differs, and local state goes to this
  // test's own directory), except the few marked "not run by the tests" with the reason.
  const readme = readFileSync("README.md", "utf8");
  // Blocks marked "rehearsed" run against the stand-in for Cloudflare's API instead (test/node/first-day.test.ts).
  const all = [...readme.matchAll(/(<!-- (?:not run by the tests|rehearsed)[^\n]*-->\n)?```sh\n([\s\S]*?)```/g)];
  const blocks = all.filter((m) => !m[1]).map((m) => m[2]!);

  it("runs every block but the few marked with a reason", () => {
    const skipped = all.filter((m) => m[1]?.startsWith("<!-- not run")).map((m) => m[1]!);
    expect(skipped.length).toBeLessThanOrEqual(4);
    for (const reason of skipped) expect(reason).toMatch(/not run by the tests[^:]*: \S/);
    expect(blocks.length).toBeGreaterThanOrEqual(10);
  });

  it("has curl examples of every customer route, of webhooks and of errors", () => {
    const text = blocks.join("\n");
    // Against the base npm run dev prints (PORT= changes it), never a hard-coded port.
    expect(text).not.toMatch(/http:\/\/127\.0\.0\.1:8787/);
    expect(text).toMatch(/curl -G \$VATLY_API_BASE\/v1\/customers /);
    expect(text).toMatch(/curl \$VATLY_API_BASE\/v1\/customers \\/);
    expect(text).toMatch(/curl \$VATLY_API_BASE\/v1\/customers\/\$CUSTOMER_ID/);
    expect(text).toMatch(/curl -X PATCH \$VATLY_API_BASE\/v1\/customers\/\$CUSTOMER_ID/);
    expect(text).toMatch(/curl -i -X DELETE \$VATLY_API_BASE\/v1\/customers\/\$CUSTOMER_ID/);
    expect(text).toMatch(/\/v1\/webhook-endpoints/);
  });

  // The second time through, the blocks of curl calls alone: re-running them is what a reader does (the writes replay
  // or meet their own earlier results); the npm scripts' repeat runs have tests of their own, and each costs seconds.
  const again = blocks.filter((block) => !/^\s*(npm|npx|node) /m.test(block));

  it("every block works as printed against npm run dev, top to bottom, then the curl blocks again (a walkthrough can be run again)", () => {
    const key = /export VATLY_API_KEY=(test_[A-Za-z0-9]{32,})/.exec(output)![1]!;
    expect(again.length).toBeGreaterThanOrEqual(9);
    for (const block of [...blocks, ...again]) {
      const script = block.replaceAll("127.0.0.1:8787", `127.0.0.1:${PORT}`);
      const out = execFileSync("bash", ["-euo", "pipefail", "-c", script], {
        encoding: "utf8",
        env: { ...process.env, VATLY_API_KEY: key, VATLY_API_BASE: /export VATLY_API_BASE=(\S+)/.exec(output)![1]!, VATLY_PERSIST_TO: STATE },
        timeout: 60_000,
        stdio: ["ignore", "pipe", "pipe"], // curl's progress meter stays out of the log; a failing block's stderr is in the error
      });
      expect(out, script).not.toMatch(/HTTP\/1\.1 5\d\d|An unexpected error/);
      expect(out.trim(), script).not.toBe("");
      if (block.includes('"email": "john@example.com"')) expect(JSON.parse(out)).toMatchObject({ resource: "customer", email: "john@example.com", name: "John Doe" });
      if (block.includes("-X PATCH")) expect(JSON.parse(out)).toMatchObject({ resource: "customer", name: "John Q. Doe", metadata: { plan: "business" } });
      else if (block.includes("-X DELETE")) expect(out).toContain("HTTP/1.1 204");
      else if (block.includes("$CUSTOMER_ID")) expect(JSON.parse(out)).toMatchObject({ resource: "customer" });
      if (block.includes("not-an-email")) expect(out).toContain("HTTP/1.1 422");
      if (block.includes("webhook-endpoints")) expect(out).toContain('"resource":"webhook_endpoint"');
      if (block.includes("X-D1-Bookmark: $BOOKMARK")) expect(JSON.parse(out).data.length).toBeGreaterThan(0);
      if (block.includes("key:list")) expect(out).toMatch(/test_…\w{4} {2}created .* shard \d/);
      if (block.includes("try-vatly.mjs")) expect(out.trim().split("\n")).toEqual([expect.stringMatching(/^cus_\w+ \S+@example\.com$/), expect.stringMatching(/^cus_\w+ \S+@example\.com$/)]);
    }
  }, 300_000);
});
