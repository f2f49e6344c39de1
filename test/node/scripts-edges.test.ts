// Operator commands at their edges, without a server to talk to: a second `npm run dev` on a port in use changes
// nothing, and a script whose output pipe closes ends quietly.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const state = mkdtempSync(join(tmpdir(), "vatly-edges-"));
afterAll(() => rmSync(state, { recursive: true, force: true }));

describe("npm run dev on a port in use", () => {
  it("says so in one line and changes nothing: no migration, no key, no link, no record of where it serves", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const child = spawn("node_modules/.bin/tsx", ["scripts/dev.ts", "--persist-to", join(state, "dev")], { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d));
      child.stderr.on("data", (d: Buffer) => (err += d));
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect(code).toBe(1);
      expect(err).toBe(`Port ${port} is in use (another npm run dev?): stop it, or serve another port with PORT=9000 npm run dev. Nothing was changed.\n`);
      expect(out).not.toMatch(/Ready|VATLY_API_KEY|migrations/i);
      expect(existsSync(join(state, "dev"))).toBe(false); // no local state made, no key, no vatly-dev.json
    } finally {
      taken.close();
    }
  }, 60_000);
});

describe("a script whose output is closed (npm run -s key:list ... | head)", () => {
  it("ends without a stack trace, exit status 0", () => {
    // `true` reads nothing and exits at once: the line key:list writes meets a closed pipe while the script still
    // has its local bindings to close.
    const run = spawnSync("bash", ["-c", `node_modules/.bin/tsx scripts/keys.ts list --account acct_pipe --persist-to ${join(state, "pipe")} | true; echo "status \${PIPESTATUS[0]}" >&2`], { encoding: "utf8" });
    expect(run.stderr).toBe("status 0\n");
  }, 60_000);
});

describe("key:revoke says how long the key may still work where it was revoked", () => {
  it("3 s under npm run dev (no edge cache), KV's 60 s plus the environment's isolate cache when deployed", async () => {
    const { stillAccepted } = await import("../../scripts/keys");
    expect(stillAccepted({ remote: false })).toBe("npm run dev may still accept it for up to 3 s (its isolate's key cache; local KV has no edge cache).");
    expect(stillAccepted({ remote: true, env: "staging" })).toMatch(/up to 120 s \(KV's cache 60 s \+ the isolate's 60 s\)\.$/);
    const toml = '[vars]\nAPI_KEY_CACHE_SECONDS = "60"\n\n[env.staging]\nvars = { PUBLIC_BASE_URL = "https://x.example", API_KEY_CACHE_SECONDS = "10" }\n';
    expect(stillAccepted({ remote: true, env: "staging" }, toml)).toMatch(/up to 70 s \(KV's cache 60 s \+ the isolate's 10 s\)\.$/);
    expect(stillAccepted({ remote: true }, toml)).toMatch(/up to 120 s/);
  });
});
