// Every operator command fails cleanly on a known problem: one line saying what to do, exit status 1, no stack trace.
// None of these needs `npm run dev` (or a Cloudflare account): they are the cases where neither is there.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const TSX = "node_modules/.bin/tsx";
// No Cloudflare login here: a fresh HOME, no token, and wrangler told it is not interactive.
const NO_LOGIN = { ...process.env, HOME: mkdtempSync(join(tmpdir(), "vatly-nologin-")), CLOUDFLARE_API_TOKEN: "", CI: "true", XDG_CONFIG_HOME: "" };

function expectOneLine(script: string, args: string[], message: RegExp, env: NodeJS.ProcessEnv = process.env) {
  const result = spawnSync(TSX, [script, ...args], { encoding: "utf8", env, timeout: 60_000 });
  expect(result.status, result.stderr).toBe(1);
  const lines = result.stderr.trim().split("\n");
  expect(lines.at(-1)).toMatch(message);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(lines.length, result.stderr).toBe(1);
}

describe("operator commands fail cleanly", () => {
  it("an unknown flag, in every script", () => {
    for (const script of ["scripts/dev.ts", "scripts/keys.ts", "scripts/account-move.ts", "scripts/webhooks-listen.ts", "scripts/webhooks-trigger.ts", "scripts/shards.ts", "scripts/env-create.ts", "scripts/deploy.ts"]) {
      const args = script === "scripts/keys.ts" ? ["list", "--frobnicate"] : ["--frobnicate"];
      expectOneLine(script, args, /Unknown option '--frobnicate'.*\(--help shows the usage\)/);
    }
  });

  it("a missing --account reads the same in key:create, key:list and account:move", () => {
    for (const args of [["create", "--mode", "test"], ["list"]]) expectOneLine("scripts/keys.ts", args, /^--account is required\.$/);
    const move = spawnSync(TSX, ["scripts/account-move.ts", "--to", "1"], { encoding: "utf8" });
    expect(move.status).toBe(1);
    expect(move.stderr.split("\n")[0]).toBe("--account is required.");
  });

  it("no Cloudflare login: db:migrate --remote and key:create --remote say how to log in", () => {
    expectOneLine("scripts/shards.ts", ["--remote"], /^Not logged in to Cloudflare: run `npx wrangler login`/, NO_LOGIN);
    expectOneLine("scripts/keys.ts", ["create", "--account", "acct_x", "--mode", "test", "--remote"], /^Not logged in to Cloudflare/, NO_LOGIN);
    // A token, but Cloudflare's API out of reach: the address is named, not "fetch failed".
    const unreachable = { ...process.env, CLOUDFLARE_API_TOKEN: "t", CLOUDFLARE_ACCOUNT_ID: "a", CLOUDFLARE_API_BASE_URL: "http://127.0.0.1:2/client/v4" };
    expectOneLine("scripts/keys.ts", ["list", "--account", "acct_x", "--remote"], /^Could not reach Cloudflare's API at http:\/\/127\.0\.0\.1:2 \(ECONNREFUSED\): check the network/, unreachable);
  }, 120_000);

  it("the webhook desk's commands: a forward URL that is not http(s), an unknown event to trigger", () => {
    expectOneLine("scripts/webhooks-listen.ts", ["--forward-to", "ftp://127.0.0.1/hooks"], /^--forward-to must be an http\(s\) URL/);
    expectOneLine("scripts/webhooks-trigger.ts", ["customer.exploded"], /^Unknown event "customer\.exploded": name one of customer\.created, customer\.updated, customer\.deleted, webhook\.setup \(--help shows the usage\)\.$/);
    expectOneLine("scripts/webhooks-trigger.ts", ["toString"], /^Unknown event "toString"/); // not an inherited property
    expectOneLine("scripts/webhooks-trigger.ts", [], /^Name one event to trigger/);
  });

  it("deploy refuses the placeholder configuration and names the --env to use", () => {
    expectOneLine("scripts/deploy.ts", [], /Refusing to deploy the top level of wrangler\.toml.*npm run deploy -- --env staging/);
    expectOneLine("scripts/deploy.ts", ["--env", "staging"], /\[env\.staging\] in wrangler\.toml still has placeholder ids: run npm run env:create -- --env staging first\./);
    expectOneLine("scripts/deploy.ts", ["--env", "qa"], /has no \[env\.qa\]/);
  });

  it("webhooks:listen with its port taken, and account:move with no npm run dev to talk to", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = String((taken.address() as { port: number }).port);
    try {
      expectOneLine("scripts/webhooks-listen.ts", ["--port", port], new RegExp(`^Port ${port} is taken: pass another with --port <port>\\.$`));
    } finally {
      taken.close();
    }
    const state = mkdtempSync(join(tmpdir(), "vatly-nodev-"));
    expectOneLine("scripts/account-move.ts", ["--account", "acct_nowhere", "--to", "1", "--persist-to", state], /^The local state has no tables yet: start `npm run dev` once/);
    // Migrated local state with an account in it, but no npm run dev serving on the port.
    expect(spawnSync(TSX, ["scripts/shards.ts", "--persist-to", state], { encoding: "utf8" }).status).toBe(0);
    const seeded = spawnSync("node_modules/.bin/wrangler", ["d1", "execute", "DB", "--local", "--persist-to", state, "--command",
      "INSERT INTO customers (id, account_id, testmode, email, name, metadata, created_at, etag) VALUES ('cus_0VcOperatorTest00000000', 'acct_ops', 1, 'o@example.com', NULL, '{}', '2026-01-01T00:00:00Z', 'e')"], { encoding: "utf8" });
    expect(seeded.status, seeded.stderr).toBe(0);
    expectOneLine("scripts/account-move.ts", ["--account", "acct_ops", "--to", "1", "--persist-to", state, "--port", port], new RegExp(`^Could not reach npm run dev on port ${port}: start it first \\(or pass --port\\)\\.$`));
  }, 120_000);
});
