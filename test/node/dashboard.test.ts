// The merchant dashboard in a real browser (Debian's chromium, playwright-core) against `npm run dev`: sign in by the
// printed link, search and page, a customer's page, edit under a conflict, delete, an event's attempts, resend,
// recover, the endpoint's secret and test event, hostile data, sign out. Every page is checked by axe-core (no serious
// or critical violation) and under the dashboard's CSP (any violation fails). Keyboard only: focus and Enter.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE, output } from "./e2e";

// The page's world, as the callbacks evaluated in the browser see it (this project type-checks without the DOM library).
interface Violations { violations: { id: string; impact: string; nodes: unknown[] }[] }
declare const window: { axe: { run(): Promise<Violations> }; cspViolations: string[] };
declare const document: {
  cookie: string; documentElement: { scrollWidth: number }; activeElement: { tagName: string };
  addEventListener(type: string, listener: (e: { violatedDirective: string; blockedURI: string }) => void): void;
};
declare function getComputedStyle(element: unknown): { outlineStyle: string };

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// Every page's screenshot goes to test-output/dashboard/; with UPDATE_SCREENSHOTS=1, those the README shows go to
// docs/dashboard/ instead.
const README_SHOTS = new Set(["customers", "customer-conflict", "event", "recover", "endpoint", "hostile"]);
const shotsOf = (name: string) => (process.env.UPDATE_SCREENSHOTS && README_SHOTS.has(name) ? "docs/dashboard" : "test-output/dashboard");
const HOSTILE_NAME = "<img src=x onerror=alert(1)> \u202Egnp.exe";
const LONG = "W".repeat(500);

let key: string;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];
const axeFindings: string[] = [];

// The body is the API's JSON, read as each test needs it.
async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${BASE}${path}`, {
    method, headers: { Authorization: `Bearer ${key}`, ...(body ? { "Content-Type": "application/json" } : {}), ...(method === "GET" ? {} : { "Idempotency-Key": crypto.randomUUID() }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}

/** Keyboard only: focus the control, then Enter (a link follows, a button presses, a form submits). */
async function press(target: Locator) {
  await target.focus();
  await target.press("Enter");
}

/** After each page: axe-core in the page (serious and critical violations are findings), and a screenshot. */
async function check(name: string) {
  await page.waitForLoadState("networkidle");
  const axeSource = readFileSync("node_modules/axe-core/axe.min.js", "utf8");
  await page.evaluate(axeSource); // through DevTools, as a tool would: not a script of the page's own
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
  for (const v of violations.filter((v) => v.impact === "serious" || v.impact === "critical")) axeFindings.push(`${name}: ${v.id} (${v.impact}, ${v.nodes} nodes)`);
  mkdirSync(shotsOf(name), { recursive: true });
  await page.screenshot({ path: `${shotsOf(name)}/${name}.png`, fullPage: true });
}

const cspViolations = () => page.evaluate(() => window.cspViolations ?? []);

if (!existsSync(CHROMIUM)) {
  console.log(`The dashboard browser test was not run: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).`);
} else {
  beforeAll(async () => {
    key = /export VATLY_API_KEY=(test_[A-Za-z0-9]{32,})/.exec(output)![1]!;
    // An endpoint nobody listens on: every delivery fails, and after five attempts a second apart the event has failed for good.
    expect((await api("POST", "/v1/webhook-endpoints", { url: "http://127.0.0.1:9/hooks", secret: "dashboard-test-secret" })).status).toBe(201);
    for (let i = 1; i <= 25; i++) expect((await api("POST", "/v1/customers", { email: `c-${String(i).padStart(2, "0")}@example.com`, name: `Customer ${i}` })).status).toBe(201);
    expect((await api("POST", "/v1/customers", { email: "ada@example.com", name: "Ada Lovelace", metadata: { plan: "pro" } })).status).toBe(201);
    expect((await api("POST", "/v1/customers", { email: "hostile@example.com", name: HOSTILE_NAME, metadata: { link: "javascript:alert(1)", long: LONG, "<b>key</b>": "\u202Etxt.exe" } })).status).toBe(201);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // Recorded before any page script runs (the test's own hook, outside the page's CSP).
    await context.addInitScript(() => {
      const seen: string[] = (window.cspViolations = []);
      document.addEventListener("securitypolicyviolation", (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    page = await context.newPage();
    page.on("dialog", (d) => void (dialogs.push(d.message()), d.dismiss()));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
  });

  describe("the dashboard in a real browser", () => {
    it("signs in by the printed one-time link, under an unmistakable test-mode banner; the link then works no more", async () => {
      const link = /(http:\/\/127\.0\.0\.1:\d+\/dashboard\/#link=[0-9a-f]{64})/.exec(output)![1]!;
      const served = await page.goto(link);
      expect(served!.headers()["content-security-policy"]).toBe("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
      await page.getByRole("note").filter({ hasText: "Test mode" }).waitFor();
      expect(page.url()).not.toContain("link=");
      const [cookie] = await page.context().cookies();
      expect(cookie).toMatchObject({ name: "vatly_session", httpOnly: true, sameSite: "Strict", path: "/dashboard/api" });
      expect(await page.evaluate(() => document.cookie)).toBe(""); // page scripts never see the session
      await page.getByRole("heading", { name: "Customers" }).waitFor();
      await check("customers");
      const other = await browser.newPage();
      await other.goto(link);
      await other.getByText(/unknown, used or expired/).waitFor();
      await other.close();
    });

    it("searches email and name with plain words, takes the search language, and pages through every customer", async () => {
      await page.getByLabel(/Search email and name/).fill("lovelace");
      await page.getByLabel(/Search email and name/).press("Enter");
      await page.getByText('Query: email~"lovelace" OR name~"lovelace"').waitFor();
      await page.getByRole("link", { name: "ada@example.com" }).waitFor();
      expect(await page.locator("tbody tr").count()).toBe(1);
      await page.getByLabel(/Search email and name/).fill('metadata["plan"]:"pro"');
      await page.getByLabel(/Search email and name/).press("Enter");
      await page.getByText('Query: metadata["plan"]:"pro"').waitFor();
      await page.getByRole("link", { name: "ada@example.com" }).waitFor();
      expect(await page.locator("tbody tr").count()).toBe(1);
      await page.goto(`${BASE}/dashboard/#/customers`);
      await page.locator("tbody tr").nth(19).waitFor();
      const first = await page.locator("tbody tr td:first-child").allTextContents();
      expect(first).toHaveLength(20);
      await press(page.getByRole("button", { name: "Next page" }));
      await page.getByRole("link", { name: "c-01@example.com" }).waitFor();
      const second = await page.locator("tbody tr td:first-child").allTextContents();
      expect(second).toHaveLength(7);
      expect(new Set([...first, ...second]).size).toBe(27);
      await press(page.getByRole("button", { name: "Previous page" }));
      await page.getByRole("link", { name: first[0]! }).waitFor();
    });

    it("opens a customer and refuses to overwrite a change made elsewhere meanwhile (If-Match)", async () => {
      await page.goto(`${BASE}/dashboard/#/customers?q=ada`);
      await press(page.getByRole("link", { name: "ada@example.com" }));
      await page.getByRole("heading", { name: "Ada Lovelace" }).waitFor();
      await page.getByText("customer.created").waitFor(); // its events
      await check("customer");
      const id = /#\/customers\/(cus_\w+)/.exec(page.url())![1]!;
      await page.getByLabel("Name").fill("Ada King");
      await press(page.getByRole("button", { name: "Save changes" }));
      await page.getByText("Saved.").waitFor();
      await page.getByRole("heading", { name: "Ada King" }).waitFor();
      expect((await api("PATCH", `/v1/customers/${id}`, { name: "Changed Elsewhere" })).status).toBe(200);
      await page.getByLabel("Name").fill("Mine");
      await press(page.getByRole("button", { name: "Save changes" }));
      await page.getByText(/changed elsewhere after you opened it/).waitFor();
      await check("customer-conflict");
      expect((await api("GET", `/v1/customers/${id}`)).body.name).toBe("Changed Elsewhere");
    });

    it("deletes only after the email is typed, saying what the erasure forgets", async () => {
      const button = page.getByRole("button", { name: "Delete and erase this customer" });
      expect(await button.isDisabled()).toBe(true);
      await page.getByText(/search index, the events that carried them/).waitFor();
      const id = /#\/customers\/(cus_\w+)/.exec(page.url())![1]!;
      await page.getByLabel("Type the customer's email to confirm").fill("ada@example.co");
      expect(await button.isDisabled()).toBe(true);
      await page.getByLabel("Type the customer's email to confirm").fill("ada@example.com");
      await press(button);
      await page.getByText(`Customer ${id} was deleted and erased.`).waitFor();
      expect((await api("GET", `/v1/customers/${id}`)).status).toBe(404);
    });

    it("shows an event's every attempt with its error, resends it, and recovers every failed event after a preview", async () => {
      // The endpoint never answers: after its attempts each event has failed for good.
      for (let i = 0; (await api("GET", "/v1/webhook-events?delivery=failed&limit=100")).body.data.length < 20; i++) {
        expect(i, "events fail within a minute").toBeLessThan(120);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      await page.goto(`${BASE}/dashboard/#/events?delivery=failed`);
      await page.locator("tbody tr .state.failed").first().waitFor();
      await check("events");
      // One of a customer still there (an erased customer's attempts are erased with it).
      // Chosen among the rows the page shows: events still failing meanwhile may have pushed others off its first page.
      const shown = new Set(await page.locator("tbody tr a").allTextContents());
      const failed = (await api("GET", "/v1/webhook-events?delivery=failed&limit=100")).body.data as { id: string; object: { email?: string } | null }[];
      const target = failed.find((e) => shown.has(e.id) && e.object?.email?.startsWith("c-"))!;
      expect(target, `a failed event of a customer among those shown: ${[...shown].join(", ")}`).toBeDefined();
      await press(page.getByRole("link", { name: target.id }));
      await page.getByRole("heading", { name: /^Event webhook_event_/ }).waitFor();
      await page.locator("tbody tr td .state.failed").first().waitFor(); // the attempt's error, in words
      const attempts = await page.locator("tbody tr").count();
      expect(attempts).toBeGreaterThanOrEqual(2);
      await check("event");
      await press(page.getByRole("button", { name: "Resend now" }));
      await page.getByText("Queued: a new attempt is being made now.").waitFor();
      await expect.poll(async () => {
        await press(page.getByRole("button", { name: "Refresh" }));
        return page.locator("tbody tr").count();
      }, { timeout: 30_000 }).toBeGreaterThan(attempts);

      await page.goto(`${BASE}/dashboard/#/events`);
      await page.getByLabel("Failed since").fill("2020-01-01T00:00");
      await press(page.getByRole("button", { name: "Preview" }));
      const preview = await page.getByText(/failed event\(s\) would be sent again/).textContent();
      const count = Number(/(\d+)/.exec(preview!)![1]);
      expect(count).toBeGreaterThanOrEqual(19);
      await check("recover");
      await press(page.getByRole("button", { name: `Resend ${count} event(s)` }));
      await page.getByText(`Queued ${count} event(s) for delivery.`).waitFor();
    });

    it("rotates the endpoint's secret (shown once), changes its URL and sends a test event", async () => {
      await page.goto(`${BASE}/dashboard/#/endpoints`);
      await page.getByText("http://127.0.0.1:9/hooks").first().waitFor();
      await press(page.getByRole("button", { name: "Rotate secret" }));
      const secret = await page.locator(".secret").textContent();
      expect(secret).toMatch(/^[A-Za-z0-9]{32}$/);
      await check("endpoint");
      // A javascript: URL is a valid URL to the browser's form: the API refuses it, and the page says why.
      await page.getByLabel("Endpoint URL").fill("javascript:alert(1)");
      await press(page.getByRole("button", { name: "Save URL" }));
      await page.getByRole("alert").filter({ hasText: "The given data was invalid. (url:" }).waitFor();
      expect(await page.locator('a[href^="javascript"]').count()).toBe(0);
      await page.getByLabel("Endpoint URL").fill("http://127.0.0.1:9/other");
      await press(page.getByRole("button", { name: "Save URL" }));
      await page.getByText(/URL saved/).waitFor();
      expect(await page.locator(".secret").count()).toBe(0); // shown once: gone with the next action
      await press(page.getByRole("button", { name: "Send test event" }));
      await page.getByText("Test event sent.").waitFor();
      await press(page.getByRole("link", { name: "See its delivery" }));
      await page.getByText("webhook.setup").first().waitFor();
      expect((await api("GET", "/v1/webhook-endpoints")).body.data[0].url).toBe("http://127.0.0.1:9/other");
    });

    it("shows hostile customer data as text: no markup, no script, no link, the page's own direction kept", async () => {
      await page.goto(`${BASE}/dashboard/#/customers?q=hostile`);
      await press(page.getByRole("link", { name: "hostile@example.com" }));
      await page.getByRole("heading", { name: HOSTILE_NAME }).waitFor();
      expect(await page.getByText(LONG).count()).toBeGreaterThan(0);
      expect(await page.getByText("javascript:alert(1)", { exact: true }).count()).toBe(1);
      expect(await page.locator("img").count()).toBe(0);
      expect(await page.locator('a[href^="javascript"]').count()).toBe(0);
      expect(await page.locator("b").count()).toBe(0);
      // The right-to-left override stays inside its value: the heading is isolated in <bdi>.
      expect(await page.locator("h1 bdi").textContent()).toBe(HOSTILE_NAME);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width).toBeLessThanOrEqual(1280); // 500 characters wrap, they do not push the page sideways
      await check("hostile");
      // Its event's payload, shown as JSON text: the override written as an escape, not applied to the line.
      await press(page.getByRole("link", { name: "customer.created" }));
      await page.getByRole("heading", { name: /^Event webhook_event_/ }).waitFor();
      expect(await page.locator("pre").textContent()).toContain('"name": "<img src=x onerror=alert(1)> \\u202egnp.exe"');
      expect(dialogs).toEqual([]);
    });

    it("has visible focus, no serious or critical axe finding and no CSP violation on any page", async () => {
      await page.goto(`${BASE}/dashboard/#/customers`);
      // A new page puts focus on its heading (announced, not a control); the next Tab reaches the search box, ringed.
      await expect.poll(() => page.evaluate(() => document.activeElement.tagName)).toBe("H1");
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => ({ tag: document.activeElement.tagName, outline: getComputedStyle(document.activeElement).outlineStyle }));
      expect(focused.tag).toBe("INPUT");
      expect(focused.outline).not.toBe("none");
      expect(axeFindings).toEqual([]);
      expect(await cspViolations()).toEqual([]);
    });

    it("signs out: the old cookie is refused from then on", async () => {
      const [cookie] = await page.context().cookies();
      await press(page.getByRole("button", { name: "Sign out" }));
      await page.getByText("You are signed out.").waitFor();
      await check("signed-out");
      const after = await fetch(`${BASE}/dashboard/api/v1/customers`, { headers: { Cookie: `${cookie!.name}=${cookie!.value}` } });
      expect(after.status).toBe(401);
    });
  });
}
