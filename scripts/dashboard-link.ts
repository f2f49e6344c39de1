// `npm run dashboard:link -- --account <id> --mode test|live`: a one-time sign-in link to the merchant dashboard,
// valid 10 minutes. D1 (shard 0) keeps only the SHA-256 of its token; the link itself is printed once, as the last line.
import { fileURLToPath } from "node:url";
import { fillPlaceholders } from "drizzle-orm";
import { LINK_MS, newToken } from "../src/dashboard/session";
import { insertQuery, insertValues } from "../src/dashboard/sessions.repository";
import type { Mode } from "../src/lib/api-keys";
import { sha256Hex } from "../src/lib/crypto";
import { checkAccount, checkMode, placeAccount } from "./keys";
import { closeLocal, devPort, openLocal } from "./local";
import { remoteQuery } from "./shards";
import { cli, fail, targetFrom, targetOptions, type Target } from "./wrangler";

/** Stores a new link for the account and mode; returns the link (base + /dashboard/#link=<token>). */
export async function createDashboardLink({ accountId, mode, base, ...target }: { accountId: string; mode: Mode; base: string } & Target): Promise<string> {
  checkAccount(accountId);
  checkMode(mode);
  const token = newToken();
  const shard = await placeAccount(accountId, target);
  const params = fillPlaceholders(insertQuery.params, insertValues(await sha256Hex(token), "link", { accountId, testmode: mode === "test", shard, expiresAt: Date.now() + LINK_MS }));
  if (target.remote) {
    await remoteQuery(0, insertQuery.sql, params, target);
  } else {
    await (await openLocal(target.persistTo)).db(0).prepare(insertQuery.sql).bind(...params).run();
  }
  // In the fragment: never sent to a server, never in a log; the page exchanges it for the session cookie.
  return `${base.replace(/\/+$/, "")}/dashboard/#link=${token}`;
}

const USAGE = `Usage: npm run dashboard:link -- --account <id> --mode test|live [--base <url>] [--remote [--env staging|production]] [--persist-to <dir>]

Prints a one-time sign-in link to the dashboard for the account and mode, valid 10 minutes: opening it signs the
browser in (an HttpOnly session cookie, 12 hours, ended by "Sign out"). --base is where the Worker is served: by
default the local one (http://127.0.0.1:$PORT, what npm run dev serves); give your deployment's URL with --remote.`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = cli(USAGE, { account: { type: "string" }, mode: { type: "string" }, base: { type: "string" }, ...targetOptions });
  const target = targetFrom(values);
  try {
    if (target.remote && !values.base) throw new Error("--base is required with --remote: the URL your Worker is served at, e.g. https://api.example.com");
    const link = await createDashboardLink({ accountId: values.account ?? "", mode: values.mode as Mode, base: values.base ?? `http://127.0.0.1:${devPort(values["persist-to"])}`, ...target });
    await closeLocal();
    console.log(`A sign-in link for the ${values.mode} mode of account ${values.account}, valid 10 minutes and once. It is shown only once:`);
    console.log(link);
  } catch (err) {
    fail(err);
  }
  process.exit(0);
}
