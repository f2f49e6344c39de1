// `npm run standin`: the stand-in for Cloudflare's API (scripts/standin/), for rehearsing the deploy section of the
// README on this machine. Prints the three variables that point wrangler and the scripts at it, then serves until
// Ctrl-C; its state (databases, namespaces, queues) stays in --dir for the next start.
import { startStandin } from "./standin/server";
import { cli, fail } from "./wrangler";

const USAGE = `Usage: npm run standin [-- --port <port>] [--dir <dir>]

Serves a stand-in for Cloudflare's REST API on 127.0.0.1 (default port 8799) with its state in <dir> (default
.wrangler/standin), and prints the exports that point wrangler and the scripts at it. Paste them into the shell you
run the README's deploy section from.`;

const { values } = cli(USAGE, { port: { type: "string" }, dir: { type: "string" } });
const dir = values.dir ?? ".wrangler/standin";
const port = Number(values.port ?? 8799);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(new Error(`--port must be a port number, not ${values.port}.`));
/** Not a secret: the stand-in's own credential, the same at every start so that shells pointed at it keep working. */
export const STANDIN_TOKEN = "standin-token";
export const STANDIN_ACCOUNT = "0123456789abcdef0123456789abcdef";
try {
  const standin = await startStandin({ dir, port, accountId: STANDIN_ACCOUNT, token: STANDIN_TOKEN });
  console.log(`Stand-in for Cloudflare's API at ${standin.url} (state in ${dir}). In the shell you deploy from:\n`);
  console.log(`export CLOUDFLARE_API_BASE_URL=${standin.url} CLOUDFLARE_API_TOKEN=${STANDIN_TOKEN} CLOUDFLARE_ACCOUNT_ID=${STANDIN_ACCOUNT}`);
  const stop = () => void standin.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (err) {
  fail(err);
}
