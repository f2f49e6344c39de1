// The client installs like a package: packed with `npm pack` in client/, installed from the tarball into a project
// outside this repository (`npm init -y`, nothing else), and used there with `import` and with `require`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const out = mkdtempSync(join(tmpdir(), "vatly-pack-"));
const project = mkdtempSync(join(tmpdir(), "vatly-project-"));
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(project, { recursive: true, force: true });
});
const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

describe("the client as a package", () => {
  it("installs from its tarball into a fresh project and works with import and with require", () => {
    run("npm", ["pack", "--pack-destination", out], resolve("client"));
    const tarball = join(out, readdirSync(out).find((f) => f.endsWith(".tgz"))!);
    run("npm", ["init", "-y"], project);
    run("npm", ["install", tarball, "--offline", "--no-audit", "--no-fund"], project);
    const probe = `const client = X;
      const { Vatly, q, verifyWebhook, NotFoundError } = client;
      const vatly = new Vatly({ apiKey: "test_x" });
      console.log([typeof vatly.customers.search, typeof vatly.webhookEvents.resend, typeof verifyWebhook, typeof NotFoundError, String(q.name.is('a"b'))].join(" "));`;
    const expected = 'function function function function name:"a\\"b"';
    expect(run("node", ["-e", probe.replace("X", 'require("vatly-customers-client")')], project).trim()).toBe(expected);
    expect(run("node", ["--input-type=module", "-e", probe.replace("X", 'await import("vatly-customers-client")')], project).trim()).toBe(expected);
  }, 120_000);
});
