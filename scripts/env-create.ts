// `npm run env:create -- --env staging|production`: creates the environment's D1 shards, KV namespace and queues with
// wrangler (finding those that exist first, so a second run is safe), writes their ids into wrangler.toml over the
// placeholders (wrangler's own --update-config only edits JSON configuration files), and turns on read replication
// through the REST API. Review and commit the change afterwards.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { accountId, cloudflare, tomlBlocks } from "./cloudflare";
import { cli, explain, wrangler } from "./wrangler";

/** Sets `key = "<value>"` in the `[[env.<env>.<table>]]` block whose binding is `binding`. */
export function setBindingId(toml: string, env: string, table: string, binding: string, key: string, value: string): string {
  const blocks = tomlBlocks(toml);
  const index = blocks.findIndex((b) => b.startsWith(`[[env.${env}.${table}]]`) && new RegExp(`^binding = "${binding}"$`, "m").test(b));
  if (index === -1) throw new Error(`wrangler.toml has no [[env.${env}.${table}]] with binding "${binding}"`);
  blocks[index] = blocks[index]!.replace(new RegExp(`^${key} = ".*"$`, "m"), `${key} = "${value}"`);
  return blocks.join("");
}

/** The id in what `wrangler d1 create` / `kv namespace create` print (a TOML or JSON snippet). */
export function printedId(output: string, key: "database_id" | "id"): string {
  const match = new RegExp(`"?${key}"?\\s*[=:]\\s*"([0-9a-f-]{32,36})"`).exec(output);
  if (!match) throw new Error(`no ${key} in wrangler's output:\n${output}`);
  return match[1]!;
}

const USAGE = `Usage: npm run env:create -- --env staging|production

Creates the environment's D1 shards, KV namespace and queues (those that exist already are kept: running it again is
safe), writes their ids into wrangler.toml, and turns on D1 read replication for every shard (Cloudflare's API:
wrangler cannot). Needs a Cloudflare login first: \`npx wrangler login\` (or set CLOUDFLARE_API_TOKEN).`;

/** The shards of an environment in wrangler.toml: binding and database name of each. */
export function environmentShards(toml: string, env: string): { binding: string; name: string }[] {
  return tomlBlocks(toml).filter((b) => b.startsWith(`[[env.${env}.d1_databases]]`))
    .map((b) => ({ binding: /^binding = "(.*)"$/m.exec(b)![1]!, name: /^database_name = "(.*)"$/m.exec(b)![1]! }));
}

/** The id of the D1 database named `name`, created with wrangler if there is none yet. */
async function database(name: string): Promise<string> {
  const found = (await cloudflare<{ uuid: string; name: string }[]>("GET", `/accounts/${await accountId()}/d1/database?name=${encodeURIComponent(name)}`)).result.find((d) => d.name === name);
  return found?.uuid ?? printedId(wrangler(["d1", "create", name]), "database_id");
}

async function namespace(title: string): Promise<string> {
  const found = (await cloudflare<{ id: string; title: string }[]>("GET", `/accounts/${await accountId()}/storage/kv/namespaces?per_page=100`)).result.find((n) => n.title === title);
  return found?.id ?? printedId(wrangler(["kv", "namespace", "create", title]), "id");
}

async function queue(name: string): Promise<void> {
  const found = (await cloudflare<{ queue_name: string }[]>("GET", `/accounts/${await accountId()}/queues?name=${encodeURIComponent(name)}`)).result.some((q) => q.queue_name === name);
  if (!found) wrangler(["queues", "create", name]);
}

/** Read replication is off for a new database until it is turned on, per database, through the REST API. */
async function replicate(id: string): Promise<string> {
  const info = (await cloudflare<{ read_replication?: { mode: string } }>("PATCH", `/accounts/${await accountId()}/d1/database/${id}`, { read_replication: { mode: "auto" } })).result;
  return info.read_replication?.mode ?? "unknown";
}

export async function createEnvironment(env: string): Promise<string[]> {
  let toml = readFileSync("wrangler.toml", "utf8");
  const said: string[] = [];
  for (const { binding, name } of environmentShards(toml, env)) {
    const id = await database(name);
    toml = setBindingId(toml, env, "d1_databases", binding, "database_id", id);
    writeFileSync("wrangler.toml", toml); // each id as soon as it is known: a second run finds what the first made
    said.push(`D1 ${binding} ${name} (${id}): read replication ${await replicate(id)}`);
  }
  const title = `vatly-api-keys-${env}`;
  const kv = await namespace(title);
  toml = setBindingId(toml, env, "kv_namespaces", "API_KEYS", "id", kv);
  writeFileSync("wrangler.toml", toml);
  said.push(`KV API_KEYS ${title} (${kv})`);
  for (const name of [`vatly-webhooks-${env}`, `vatly-webhooks-dlq-${env}`]) {
    await queue(name);
    said.push(`queue ${name}`);
  }
  return said;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = cli(USAGE, { env: { type: "string" } });
  const env = values.env;
  if (env !== "staging" && env !== "production") {
    console.error("--env must be staging or production (--help shows the usage).");
    process.exit(1);
  }
  try {
    for (const line of await createEnvironment(env)) console.log(line);
    console.log(`The ${env} environment's resources exist and their ids are in wrangler.toml: review the change and commit it.`);
  } catch (err) {
    console.error(explain(`npm run env:create -- --env ${env}: ${(err as Error).message}`));
    process.exit(1);
  }
}
