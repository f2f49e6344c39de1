// `npm run env:create -- --env staging|production`: creates the environment's D1 shards, KV namespace and queues with
// wrangler and writes the new ids into wrangler.toml over the placeholders (wrangler's own --update-config only
// edits JSON configuration files). Review and commit the change afterwards.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cli, explain, wrangler } from "./wrangler";

/** Sets `key = "<value>"` in the `[[env.<env>.<table>]]` block whose binding is `binding`. */
export function setBindingId(toml: string, env: string, table: string, binding: string, key: string, value: string): string {
  const blocks = toml.split(/(?=^\[)/m);
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

const USAGE = "Usage: npm run env:create -- --env staging|production\n\nNeeds a Cloudflare login first: `npx wrangler login` (or set CLOUDFLARE_API_TOKEN).";

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = cli(USAGE, { env: { type: "string" } });
  const env = values.env;
  if (env !== "staging" && env !== "production") {
    console.error("--env must be staging or production (--help shows the usage).");
    process.exit(1);
  }
  try {
    let toml = readFileSync("wrangler.toml", "utf8");
    for (const [binding, name] of [["DB", `vatly-customers-${env}`], ["DB_1", `vatly-customers-${env}-1`]] as const) {
      toml = setBindingId(toml, env, "d1_databases", binding, "database_id", printedId(wrangler(["d1", "create", name]), "database_id"));
    }
    toml = setBindingId(toml, env, "kv_namespaces", "API_KEYS", "id", printedId(wrangler(["kv", "namespace", "create", `vatly-api-keys-${env}`]), "id"));
    for (const queue of [`vatly-webhooks-${env}`, `vatly-webhooks-dlq-${env}`]) wrangler(["queues", "create", queue]);
    writeFileSync("wrangler.toml", toml);
    console.log(`Created the ${env} D1 databases, KV namespace and queues; their ids are now in wrangler.toml.`);
  } catch (err) {
    console.error(explain((err as Error).message));
    process.exit(1);
  }
}
