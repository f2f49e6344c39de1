// `npm run deploy -- --env staging|production`: `wrangler deploy` of an environment whose resources exist. The top
// level of wrangler.toml is the local configuration (its ids are placeholders), so it is never deployed, and neither
// is an environment that still has a placeholder id (`npm run env:create` replaces them).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cli, fail } from "./wrangler";

const USAGE = `Usage: npm run deploy -- --env staging|production

Deploys the Worker to the environment with wrangler. Create its D1 databases, KV namespace and queues first:
npm run env:create -- --env <name> (it writes their ids into wrangler.toml).`;

/** The placeholder ids wrangler.toml ships with: all zeros but a short tail. */
const PLACEHOLDER = /^(?:database_id|id) = "0{8}-?0{4}-?0{4}-?0{4}-?0{8}\d{0,4}"$/m;

const { values } = cli(USAGE, { env: { type: "string" } });
try {
  if (!values.env) throw new Error("Refusing to deploy the top level of wrangler.toml: its ids are local placeholders. Deploy an environment: npm run deploy -- --env staging (or production).");
  const blocks = readFileSync("wrangler.toml", "utf8").split(/(?=^\[)/m).filter((b) => b.startsWith(`[[env.${values.env}.`) || b.startsWith(`[env.${values.env}]`));
  if (blocks.length === 0) throw new Error(`wrangler.toml has no [env.${values.env}]: use --env staging or --env production.`);
  if (blocks.some((b) => PLACEHOLDER.test(b))) throw new Error(`[env.${values.env}] in wrangler.toml still has placeholder ids: run npm run env:create -- --env ${values.env} first.`);
} catch (err) {
  fail(err);
}
const deployed = spawnSync("wrangler", ["deploy", "--env", values.env!], { stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
process.exit(deployed.status ?? 1);
