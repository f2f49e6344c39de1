// Running wrangler from the scripts: local state (optionally in another directory) or the deployed resources.
import { spawnSync } from "node:child_process";
import { delimiter, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";

// Output into a pipe that closed (`npm run -s key:list -- ... | head`) ends the script quietly, as a shell tool ends:
// nothing more can be read, and a stack trace would only be noise. Every script imports this module.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    process.exit(0);
  });
}

export interface Target {
  remote: boolean;
  /** Local state directory (wrangler's --persist-to); default $VATLY_PERSIST_TO, else .wrangler/state (what `npm run dev` serves). */
  persistTo?: string;
  /** A wrangler.toml environment (staging, production) for remote resources. */
  env?: string;
}

export const targetArgs = ({ remote, persistTo = process.env.VATLY_PERSIST_TO, env }: Target) => [
  ...(remote ? ["--remote"] : ["--local", ...(persistTo ? ["--persist-to", persistTo] : [])]),
  ...(env ? ["--env", env] : []),
];

/** The flags every script takes to choose where it works. */
export const targetOptions = { remote: { type: "boolean" }, "persist-to": { type: "string" }, env: { type: "string" } } as const;
export const targetFrom = (values: { remote?: boolean; "persist-to"?: string; env?: string }): Target =>
  ({ remote: values.remote ?? false, persistTo: values["persist-to"], env: values.env });

/**
 * Runs wrangler and returns its output. Local state is SQLite that a running `npm run dev` also holds, so a local
 * command can meet "database is locked" (SQLITE_BUSY); it is tried again after a short pause. Every command the
 * scripts run is safe to repeat, even after a refusal partway through a file: a KV put of the same record, SELECTs,
 * migrations, and batches that delete the account's rows before they insert them.
 */
export function wrangler(args: string[]): string {
  for (let attempt = 1; ; attempt++) {
    const result = spawnSync("wrangler", args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      // The project's own wrangler, also when a script runs outside npm (node_modules/.bin then not on the PATH).
      env: { ...process.env, PATH: `${resolve("node_modules/.bin")}${delimiter}${process.env.PATH ?? ""}`, CI: "true", WRANGLER_SEND_METRICS: "false" },
    });
    if (result.status === 0) return result.stdout;
    const output = result.stderr || result.stdout || String(result.error?.message ?? `exit status ${result.status}`);
    if (args.includes("--remote") || !/SQLITE_BUSY|database is locked/.test(output) || attempt === 8) {
      throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed:\n${output}`);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100 * attempt); // a synchronous pause
  }
}

/**
 * Strict flags for every script: `--help` prints the usage and exits; an unknown flag or a missing value is an
 * error that changes nothing.
 */
export function cli<T extends NonNullable<ParseArgsConfig["options"]>>(usage: string, options: T, argv = process.argv.slice(2), allowPositionals = false) {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals });
  } catch (err) {
    // One line: what was wrong, and where the usage is.
    console.error(`${(err as Error).message.split("\n")[0]} (--help shows the usage)`);
    process.exit(1);
  }
  if (parsed.values.help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed as { values: { [K in keyof T]?: T[K] extends { type: "boolean" } ? boolean : T[K] extends { multiple: true } ? string[] : string }; positionals: string[] };
}

/** What the operator is told, without a stack trace, on a failure with a known remedy. */
export function explain(message: string): string {
  if (/not logged in|wrangler login|CLOUDFLARE_API_TOKEN|Authentication error|\[code: 10000\]|non-interactive/i.test(message)) {
    return "Not logged in to Cloudflare: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then run this again.";
  }
  if (/no such table/i.test(message) && /remote|Cloudflare API|Cloudflare's API/.test(message)) {
    return `${message.split("\n")[0]!.replace(/:$/, "")}: the remote shard has no tables yet: run npm run db:migrate -- --remote (with the same --env), then this again.`;
  }
  if (/no such table/i.test(message)) return "The local state has no tables yet: start `npm run dev` once (it applies the migrations), or pass the --persist-to it uses.";
  return message;
}

/** Ends a script on a known failure: one line saying what to do, exit 1, no stack trace. */
export function fail(err: unknown): never {
  console.error(explain((err as Error).message ?? String(err)));
  process.exit(1);
}
