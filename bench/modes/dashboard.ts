// `--dashboard`: the merchant dashboard in Chromium against wrangler dev: the time from opening a sign-in link to the
// first customer list on screen, at 1,000 and at 200,000 customers of the account (side by side, one run), and the
// bytes its pages ship (as they are, and gzipped as Cloudflare sends them).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { createDashboardLink } from "../../scripts/dashboard-link";
import { closeLocal } from "../../scripts/local";
import { ACCOUNT, prepareState, seed } from "../shared/data";
import { benchConfig, OUT, ROOT, startServer } from "../shared/processes";
import { f, machine, ratio, writeResults } from "../shared/report";

const LOADS = 7;
const PORT = 18795;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** LOADS fresh browser sessions, each from its own link: ms from navigation start to the first row of the list. */
async function timeToList(persist: string) {
  const server = await startServer(ROOT, PORT, persist, benchConfig());
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
  const times: number[] = [];
  try {
    for (let i = 0; i < LOADS; i++) {
      const link = await createDashboardLink({ accountId: ACCOUNT, mode: "test", base: `http://127.0.0.1:${PORT}`, remote: false, persistTo: persist });
      await closeLocal();
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(link);
      await page.locator("tbody tr").first().waitFor({ timeout: 60_000 });
      times.push(await page.evaluate(() => performance.now()));
      await context.close();
    }
  } finally {
    await browser.close();
    server.stop();
  }
  return { ms: median(times) };
}

/** What the pages ship, file by file, gzipped (what leaves Cloudflare) and as they are. */
function shipped() {
  const dir = join(ROOT, "public/dashboard");
  const files = readdirSync(dir).filter((name) => /\.(js|css|html)$/.test(name));
  return files.map((name) => {
    const bytes = readFileSync(join(dir, name));
    return { name, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
}

export async function dashboardRun() {
  const header = `${machine()}, dashboard mode.`;
  console.log(header);
  const persist = join(OUT, "dashboard");
  await prepareState(persist);
  const startMs = Date.now() - 400_000;
  seed(persist, 1_000, startMs);
  const small = await timeToList(persist);
  seed(persist, 199_000, startMs + 1_000);
  const large = await timeToList(persist);
  const files = shipped();
  const total = (key: "raw" | "gzip", pick = (_: string) => true) => files.filter((x) => pick(x.name)).reduce((sum, x) => sum + x[key], 0);
  const scriptsAndStyles = (name: string) => !name.endsWith(".html");
  const table = [
    "## Dashboard: time to the first customer list, and bytes shipped",
    "",
    `Median of ${LOADS} fresh browser sessions (Chromium, each signing in by its own link): from navigation start to the first row of the customer list on screen. The account's customers, with two other scopes of the same size beside them on the shard.`,
    "",
    "| customers in the account | time to first list (ms) | vs 1,000 |",
    "| ---: | ---: | ---: |",
    `| 1,000 | ${f(small.ms)} | 1.00x |`,
    `| 200,000 | ${f(large.ms)} | ${ratio(large.ms, small.ms)} |`,
    "",
    "| file | bytes | gzipped |",
    "| --- | ---: | ---: |",
    ...files.map((x) => `| ${x.name} | ${x.raw} | ${x.gzip} |`),
    `| **JavaScript and CSS** | ${total("raw", scriptsAndStyles)} | **${total("gzip", scriptsAndStyles)}** (limit 30,720) |`,
  ];
  console.log(table.join("\n"));
  writeResults("<!-- dashboard -->", [header, "", ...table]);
}
