// `npm run deploy -- --env staging|production`: `wrangler deploy` of an environment whose resources exist. The top
// level of wrangler.toml is the local configuration (its ids are placeholders), so it is never deployed, and neither
// is an environment that still has a placeholder id (`npm run env:create` replaces them).
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accountId, cloudflare, tomlBlocks } from "./cloudflare";
import { cli, fail } from "./wrangler";

const USAGE = `Usage: npm run deploy -- --env staging|production [--dry-run]

Deploys the Worker to the environment with wrangler, after checking that every D1 database, KV namespace and queue
the environment names exists in your Cloudflare account. Create them first: npm run env:create -- --env <name> (it
writes their ids into wrangler.toml). --dry-run checks the resources and builds the bundle (wrangler deploy
--dry-run: its size is printed) without uploading anything.`;

/** The placeholder ids wrangler.toml ships with: all zeros but a short tail. */
const PLACEHOLDER = /^(?:database_id|id) = "0{8}-?0{4}-?0{4}-?0{4}-?0{8}\d{0,4}"$/m;

/** Every resource the environment's blocks name, looked up in the account: the missing ones, one line each. */
async function missingResources(blocks: string[]): Promise<string[]> {
  const account = `/accounts/${await accountId()}`;
  const missing: string[] = [];
  for (const block of blocks) {
    const d1 = /^database_name = "(.*)"\ndatabase_id = "(.*)"$/m.exec(block);
    if (d1) {
      const found = await cloudflare<{ name: string }>("GET", `${account}/d1/database/${d1[2]}`).catch(() => undefined);
      if (found?.result.name !== d1[1]) missing.push(`D1 database ${d1[1]} (${d1[2]})`);
    }
    const kv = block.startsWith(`[[env.${values.env}.kv_namespaces]]`) ? /^id = "(.*)"$/m.exec(block) : null;
    if (kv && !(await cloudflare<{ id: string }[]>("GET", `${account}/storage/kv/namespaces?per_page=100`)).result.some((n) => n.id === kv[1])) missing.push(`KV namespace ${kv[1]}`);
    const queue = block.includes(".queues.producers]]") ? /^queue = "(.*)"$/m.exec(block) : null;
    if (queue && !(await cloudflare<{ queue_name: string }[]>("GET", `${account}/queues?name=${queue[1]}`)).result.some((q) => q.queue_name === queue[1])) missing.push(`queue ${queue[1]}`);
  }
  return missing;
}

const { values } = cli(USAGE, { env: { type: "string" }, "dry-run": { type: "boolean" } });
try {
  if (!values.env) throw new Error("Refusing to deploy the top level of wrangler.toml: its ids are local placeholders. Deploy an environment: npm run deploy -- --env staging (or production).");
  const blocks = tomlBlocks().filter((b) => b.startsWith(`[[env.${values.env}.`) || b.startsWith(`[env.${values.env}]`));
  if (blocks.length === 0) throw new Error(`wrangler.toml has no [env.${values.env}]: use --env staging or --env production.`);
  if (blocks.some((b) => PLACEHOLDER.test(b))) throw new Error(`[env.${values.env}] in wrangler.toml still has placeholder ids: run npm run env:create -- --env ${values.env} first.`);
  const missing = await missingResources(blocks);
  if (missing.length) throw new Error(`Not deploying: the ${values.env} environment names resources your Cloudflare account does not have (${missing.join(", ")}): run npm run env:create -- --env ${values.env}, then this again.`);
} catch (err) {
  fail(err);
}
const dryRun = values["dry-run"] ? ["--dry-run", "--outdir", mkdtempSync(join(tmpdir(), "vatly-deploy-"))] : [];
const deployed = spawnSync("wrangler", ["deploy", "--env", values.env!, ...dryRun], { stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
process.exit(deployed.status ?? 1);
