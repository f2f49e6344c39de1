import { Validator } from "@cfworker/json-schema";
import { expect } from "vitest";
import openapi from "../openapi.json";

type Operation = { responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { schema: object }> }> };
const paths = openapi.paths as unknown as Record<string, Record<string, Operation>>;
const validators = new Map<string, Validator>();

function template(pathname: string): string | undefined {
  if (/^\/v1\/customers\/?$/.test(pathname)) return "/v1/customers";
  if (/^\/v1\/customers\/search\/?$/.test(pathname)) return "/v1/customers/search";
  if (/^\/v1\/customers\/[^/]+\/?$/.test(pathname)) return "/v1/customers/{id}";
  if (/^\/v1\/webhook-events\/recover\/?$/.test(pathname)) return "/v1/webhook-events/recover";
  for (const collection of ["/v1/webhook-endpoints", "/v1/webhook-events"]) {
    if (new RegExp(`^${collection}/?$`).test(pathname)) return collection;
    if (new RegExp(`^${collection}/[^/]+/?$`).test(pathname)) return `${collection}/{id}`;
    const sub = new RegExp(`^${collection}/[^/]+/(attempts|resend|test)/?$`).exec(pathname);
    if (sub) return `${collection}/{id}/${sub[1]}`;
  }
  if (pathname === "/v1/openapi.json") return pathname;
  if (/^\/+$/.test(pathname)) return "/";
  return undefined;
}

function validatorFor(schema: object, cacheKey: string): Validator {
  let validator = validators.get(cacheKey);
  if (!validator) {
    // The components travel with each schema so that its $refs resolve.
    validator = new Validator({ ...schema, components: openapi.components } as object, "2020-12", false);
    validators.set(cacheKey, validator);
  }
  return validator;
}

/**
 * Asserts that a response is what openapi.json documents for its operation and status: every test that calls the
 * Worker through `call()` checks this, so the description and the behaviour cannot drift apart.
 */
export async function expectDocumented(request: Request, response: Response): Promise<void> {
  const pathname = new URL(request.url).pathname;
  const path = template(pathname);
  const operation = path ? paths[path]?.[request.method.toLowerCase()] : undefined;
  let schema: object = { $ref: "#/components/schemas/Error" };
  let cacheKey = "error";
  if (operation) {
    const documented = operation.responses[String(response.status)];
    expect(documented, `${request.method} ${path} answered ${response.status}, which openapi.json does not document`).toBeDefined();
    // Every documented header is sent (the bookmark only when D1 was reached).
    for (const name of Object.keys(documented!.headers ?? {}).filter((h) => h !== "X-D1-Bookmark")) {
      expect(response.headers.has(name), `${request.method} ${path} ${response.status} lacks ${name}`).toBe(true);
    }
    const content = documented!.content?.["application/json"];
    if (!content || request.method === "HEAD") {
      expect(await response.clone().text(), `${request.method} ${path} ${response.status} has no body`).toBe("");
      return;
    }
    schema = content.schema;
    cacheKey = `${request.method} ${path} ${response.status}`;
  } else {
    expect(response.status, `${request.method} ${pathname}`).toBeGreaterThanOrEqual(400);
    if (request.method === "HEAD") return;
  }
  const body = await response.clone().json();
  const result = validatorFor(schema, cacheKey).validate(body);
  expect(result.errors, `${request.method} ${pathname} ${response.status}: ${JSON.stringify(body).slice(0, 300)}`).toEqual([]);
}
