// What an operation file uses to describe itself in OpenAPI 3.1, from the same valibot schemas it validates with.
// Each operation exports `describe: Described`; openapi/document.ts walks them. Nothing here runs in a request: the
// Worker serves the committed openapi.json, so the converter is only loaded by `npm run openapi` and the tests.
import { toJsonSchema, toJsonSchemaDefs, type ConversionConfig } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { ErrorSchema, ValidationErrorSchema } from "./errors";
import { LinkSchema } from "./links";

type Schema = v.GenericSchema;
type Method = "get" | "post" | "patch" | "delete";

/** An operation, as its own file declares it: where it is routed, and its OpenAPI operation object. */
export interface Described {
  path: string;
  method: Method;
  operation: (d: Describer) => Operation;
}
export interface Operation {
  operationId: string;
  /** A few words, for a sidebar; the rest goes in `description`. */
  summary: string;
  description?: string;
  tags?: string[];
  parameters?: object[];
  security?: object[];
  requestBody?: object;
  responses: Record<string, { description: string; headers?: object; content?: object }>;
}

// Actions without a JSON Schema form (trimming, transforms, custom checks) are left out, unless a check states its
// own (see `characters()` in lib/text.ts).
const WITHOUT_FORM = ["check", "raw_check", "trim", "transform"];
const config: Omit<ConversionConfig, "definitions"> = {
  target: "draft-2020-12",
  // Pipelines describe what they produce (e.g. the limit's integer), not the raw query string.
  typeMode: "output",
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
  overrideSchema: ({ valibotSchema, jsonSchema }) => {
    const alsoAccepts = (valibotSchema as { alsoAccepts?: object }).alsoAccepts;
    return alsoAccepts && { anyOf: [...((jsonSchema.anyOf as object[] | undefined) ?? [jsonSchema]), alsoAccepts] };
  },
  overrideAction: ({ valibotAction, jsonSchema }) => {
    if (!WITHOUT_FORM.includes(valibotAction.type)) return undefined;
    return { ...jsonSchema, ...((valibotAction as { jsonSchema?: object }).jsonSchema ?? {}) };
  },
};

/** The headers and parameters every operation may name; defined once in `components`. */
export const COMMON_HEADERS = ["X-Request-Id", "X-D1-Bookmark", "ETag", "Retry-After"] as const;
export const COMMON_PARAMETERS = ["Bookmark", "IdempotencyKey", "IfMatch", "IfNoneMatch"] as const;

/**
 * A describer for one document: `schema()` names a valibot schema as a component (and returns its $ref); the rest
 * builds the response and parameter objects every operation shares.
 */
export function describer() {
  const schemas = new Map<string, Schema>([["Link", LinkSchema], ["Error", ErrorSchema], ["ValidationError", ValidationErrorSchema]]);
  const schema = (name: string, s: Schema) => {
    schemas.set(name, s);
    return { $ref: `#/components/schemas/${name}` };
  };
  const header = (name: (typeof COMMON_HEADERS)[number]) => ({ [name]: { $ref: `#/components/headers/${name}` } });
  const param = (name: (typeof COMMON_PARAMETERS)[number]) => ({ $ref: `#/components/parameters/${name}` });
  const json = (body: object, description: string, headers: object = {}) => ({
    description,
    headers: { ...header("X-Request-Id"), ...headers },
    content: { "application/json": { schema: body } },
  });
  const error = (description: string, headers: object = {}) => json(schema("Error", ErrorSchema), description, headers);
  const d = {
    schema,
    header,
    param,
    json,
    error,
    validation: (description: string) => json(schema("ValidationError", ValidationErrorSchema), description),
    empty: (description: string, headers: object = {}) => ({ description, headers: { ...header("X-Request-Id"), ...headers } }),
    /** The answers of every authenticated route. */
    common: () => ({
      "400": error("The X-D1-Bookmark header is not a bookmark this API returned."),
      "401": error("Missing, malformed or unknown API key.", { "WWW-Authenticate": { schema: { type: "string", const: "Bearer" } } }),
      "403": error("The token does not start with live_ or test_, or the key was revoked."),
      "429": error("Too many requests for this account and mode (or, without a valid key, from this address).", header("Retry-After")),
      "500": error("An unexpected error."),
    }),
    /** The answers every write adds (the body ones only where there is a body). */
    writeErrors: (maxBodyBytes: number | null) => ({
      "400": error(maxBodyBytes === null
        ? "The Idempotency-Key or X-D1-Bookmark header is malformed."
        : "The body is not a JSON object, or the Idempotency-Key or X-D1-Bookmark header is malformed."),
      "409": error("The Idempotency-Key was used for a different request."),
      ...(maxBodyBytes === null ? {} : {
        "413": error(`The body is larger than ${maxBodyBytes} bytes.`),
        "415": error("The Content-Type is not JSON."),
      }),
      "503": error("The account is in the cutover of a move between databases (well under 2 s; reads still work), or the server lacks a secret it needs: retry after Retry-After seconds.", header("Retry-After")),
    }),
    body: (s: object, types = ["application/json"]) => ({ required: false, content: Object.fromEntries(types.map((type) => [type, { schema: s }])) }),
    /** The path's `{id}`, matching `pattern`. */
    id: (pattern: RegExp) => ({ name: "id", in: "path", required: true, schema: { type: "string", pattern: pattern.source } }),
    /** The query parameters of a list, from its valibot schema. */
    query: (s: Schema) =>
      Object.entries((plain(s) as { properties: Record<string, object> }).properties).map(([name, q]) => ({ name, in: "query", required: false, schema: q })),
  };
  return { d, components: () => toJsonSchemaDefs(Object.fromEntries(schemas), config) };
}
export type Describer = ReturnType<typeof describer>["d"];

function plain(schema: Schema): Record<string, unknown> {
  const { $schema: _, $defs: __, ...rest } = toJsonSchema(schema, config) as Record<string, unknown>;
  return rest;
}
