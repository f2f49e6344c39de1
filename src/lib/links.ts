import * as v from "valibot";
import type { Env } from "../env";

export interface Link {
  href: string;
  type: "application/json";
}

export const link = (href: string): Link => ({ href, type: "application/json" });

/** `<base>` of every link: the configured public URL, else the origin the request came in on. */
export function baseUrl(origin: string, env: Pick<Env, "PUBLIC_BASE_URL">): string {
  return env.PUBLIC_BASE_URL ? env.PUBLIC_BASE_URL.replace(/\/+$/, "") : origin;
}

export const LinkSchema = v.object({ href: v.pipe(v.string(), v.url()), type: v.literal("application/json") });
