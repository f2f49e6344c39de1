import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createCustomer, expectError, newKey } from "../helpers";
import { dashboardFetch, newLink, signIn } from "./helpers";

describe("dashboard sign-in", () => {
  it("a link becomes an HttpOnly, SameSite=Strict cookie for its account and mode, and D1 keeps only hashes", async () => {
    const { accountId } = await newKey();
    const link = await newLink(accountId, "test");
    const response = await dashboardFetch("/dashboard/api/session", { method: "POST", json: { link } });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Record<string, string>;
    expect(body).toMatchObject({ resource: "dashboard_session", accountId, mode: "test" });
    expect(Date.parse(body.expiresAt!) - Date.now()).toBeGreaterThan(11 * 3600_000);
    const cookie = response.headers.get("Set-Cookie")!;
    expect(cookie).toMatch(/^vatly_session=[0-9a-f]{64}; Path=\/dashboard\/api; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const token = /=([0-9a-f]{64})/.exec(cookie)![1]!;
    const rows = JSON.stringify((await env.DB.prepare("SELECT * FROM dashboard_sessions").all()).results);
    expect(rows).not.toContain(token);
    expect(rows).not.toContain(link);
    expect(response.headers.get("Content-Security-Policy")).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
  });

  it("a link works once; an expired, unknown or malformed one is refused", async () => {
    const { accountId } = await newKey();
    const link = await newLink(accountId, "test");
    expect((await dashboardFetch("/dashboard/api/session", { method: "POST", json: { link } })).status).toBe(201);
    await expectError(await dashboardFetch("/dashboard/api/session", { method: "POST", json: { link } }), 401);
    const expired = await newLink(accountId, "test", { expiresAt: Date.now() - 1 });
    await expectError(await dashboardFetch("/dashboard/api/session", { method: "POST", json: { link: expired } }), 401);
    await expectError(await dashboardFetch("/dashboard/api/session", { method: "POST", json: { link: "0".repeat(64) } }), 401);
    const malformed = await expectError(await dashboardFetch("/dashboard/api/session", { method: "POST", json: { link: "<script>" } }), 422);
    expect(malformed.errors).toEqual({ link: ["The link must be the token of a sign-in link."] });
  });

  it("two uses of one link at once make one session", async () => {
    const { accountId } = await newKey();
    const link = await newLink(accountId, "test");
    const answers = await Promise.all([1, 2, 3].map(() => dashboardFetch("/dashboard/api/session", { method: "POST", json: { link } })));
    expect(answers.map((r) => r.status).sort()).toEqual([201, 401, 401]);
  });

  it("over https the cookie is Secure", async () => {
    const { accountId } = await newKey();
    const response = await exports.default.fetch(new Request("https://api.test/dashboard/api/session", {
      method: "POST", headers: { Origin: "https://api.test", "Content-Type": "application/json" }, body: JSON.stringify({ link: await newLink(accountId, "test") }),
    }));
    expect(response.headers.get("Set-Cookie")).toMatch(/; Secure$/);
  });

  it("the session calls the API as its account and mode, whatever Authorization header comes with it", async () => {
    const owner = await newKey();
    const other = await newKey();
    const mine = await createCustomer(owner.key, { email: "mine@example.com" });
    await createCustomer(other.key, { email: "theirs@example.com" });
    const cookie = await signIn(owner.accountId, "test");
    const list = await dashboardFetch("/dashboard/api/v1/customers", { cookie, headers: { Authorization: `Bearer ${other.key}` } });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { data: { id: string }[] }).data.map((c) => c.id)).toEqual([mine.id]);
    expect(list.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    expect(list.headers.get("Cache-Control")).toBe("no-store");
    // Live mode is another world: the test customer is not there.
    const live = await signIn(owner.accountId, "live");
    const none = await dashboardFetch("/dashboard/api/v1/customers", { cookie: live });
    expect(((await none.json()) as { data: unknown[] }).data).toEqual([]);
    expect(await (await dashboardFetch("/dashboard/api/session", { cookie: live })).json()).toMatchObject({ accountId: owner.accountId, mode: "live" });
  });

  it("without a session nothing is answered but a 401", async () => {
    await expectError(await dashboardFetch("/dashboard/api/v1/customers"), 401);
    await expectError(await dashboardFetch("/dashboard/api/v1/customers", { cookie: `vatly_session=${"a".repeat(64)}` }), 401);
    await expectError(await dashboardFetch("/dashboard/api/session"), 401);
  });

  it("writes from another origin, or with no Origin, are refused before anything is written", async () => {
    const { accountId, key } = await newKey();
    const cookie = await signIn(accountId, "test");
    for (const origin of [null, "https://evil.example", "http://api.test.evil.example", "null"]) {
      await expectError(await dashboardFetch("/dashboard/api/v1/customers", { cookie, method: "POST", json: { email: "x@example.com" }, origin }), 403);
    }
    const listed = await exports.default.fetch(new Request("http://api.test/v1/customers", { headers: { Authorization: `Bearer ${key}` } }));
    expect(((await listed.json()) as { data: unknown[] }).data).toEqual([]);
    const made = await dashboardFetch("/dashboard/api/v1/customers", { cookie, method: "POST", json: { email: "x@example.com" } });
    expect(made.status).toBe(201);
  });

  it("signing out deletes the session: the same cookie is refused at once", async () => {
    const { accountId } = await newKey();
    const cookie = await signIn(accountId, "test");
    expect((await dashboardFetch("/dashboard/api/v1/customers", { cookie })).status).toBe(200);
    const out = await dashboardFetch("/dashboard/api/session", { cookie, method: "DELETE" });
    expect(out.status).toBe(204);
    expect(out.headers.get("Set-Cookie")).toMatch(/^vatly_session=; Path=\/dashboard\/api; HttpOnly; SameSite=Strict; Max-Age=0/);
    await expectError(await dashboardFetch("/dashboard/api/v1/customers", { cookie }), 401);
    await expectError(await dashboardFetch("/dashboard/api/session", { cookie, method: "DELETE" }), 401);
  });

  it("an expired session is refused, and the hourly cron forgets it", async () => {
    const { accountId } = await newKey();
    const cookie = await signIn(accountId, "test");
    await env.DB.prepare("UPDATE dashboard_sessions SET expires_at = ? WHERE kind = 'session' AND account_id = ?").bind(Date.now() - 1, accountId).run();
    await expectError(await dashboardFetch("/dashboard/api/v1/customers", { cookie }), 401);
    const { runCron } = await import("../../src/jobs/cron");
    await runCron({ cron: "17 * * * *", scheduledTime: Date.now(), noRetry() {} } as ScheduledController, env);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM dashboard_sessions WHERE account_id = ?").bind(accountId).first<{ n: number }>())!.n).toBe(0);
  });
});

describe("the dashboard's log lines", () => {
  it("a dashboard request is logged once, as the API route it ran, with its account and via dashboard", async () => {
    const { accountId } = await newKey();
    const cookie = await signIn(accountId);
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      expect((await dashboardFetch("/dashboard/api/v1/customers?limit=1", { cookie })).status).toBe(200);
      expect((await dashboardFetch("/dashboard/api/v1/customers?limit=1")).status).toBe(401); // no session: not forwarded
    } finally {
      spy.mockRestore();
    }
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.map(({ path, status, accountId: a, via }) => ({ path, status, accountId: a, via }))).toEqual([
      { path: "/v1/customers", status: 200, accountId, via: "dashboard" },
      { path: "/dashboard/api/v1/customers", status: 401, accountId: null, via: undefined },
    ]);
  });
});
