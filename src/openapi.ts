// Builds the OpenAPI 3.1 description from the same valibot schemas the Worker validates with.
// `npm run openapi` writes it to openapi.json, which the Worker serves; a test fails when that copy is stale.
import { toJsonSchema, toJsonSchemaDefs, type ConversionConfig } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { CreateCustomerBody } from "./customers/create";
import { CustomerListSchema, CustomerSchema, LinkSchema } from "./customers/customer";
import { ListCustomersQuery } from "./customers/list";
import { ErrorSchema, ValidationErrorSchema } from "./errors";
import { CUSTOMER_ID } from "./ids";

type Schema = v.GenericSchema;

const definitions: Record<string, Schema> = {
  Customer: CustomerSchema,
  CustomerList: CustomerListSchema,
  Link: LinkSchema,
  Error: ErrorSchema,
  ValidationError: ValidationErrorSchema,
  CreateCustomerRequest: CreateCustomerBody,
};

const config: Omit<ConversionConfig, "definitions"> = {
  target: "draft-2020-12",
  // Pipelines describe what they produce (e.g. the limit's integer), not the raw query string.
  typeMode: "output",
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
  // Custom checks (reserved metadata keys, well-formed Unicode, the exclusive cursors) and trimming have no JSON Schema form.
  ignoreActions: ["check", "raw_check", "trim", "transform"],
};

function jsonSchema(schema: Schema): Record<string, unknown> {
  const { $schema: _, $defs: __, ...rest } = toJsonSchema(schema, { ...config, definitions }) as Record<string, unknown>;
  return rest;
}

const ref = (name: keyof typeof definitions) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object, description: string, headers?: object) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { "application/json": { schema } },
});
const error = (description: string, headers?: object) => json(ref("Error"), description, headers);
const requestId = { "X-Request-Id": { $ref: "#/components/headers/RequestId" } };
const bookmark = { "X-D1-Bookmark": { $ref: "#/components/headers/Bookmark" } };

const common = {
  "400": error("The X-D1-Bookmark header is not a bookmark this API returned."),
  "401": error("Missing, malformed or unknown API key.", { "WWW-Authenticate": { schema: { type: "string", const: "Bearer" } } }),
  "403": error("The token does not start with live_ or test_, or the key was revoked."),
  "429": error("Too many requests for this account and mode.", { "Retry-After": { description: "Seconds to wait.", schema: { type: "string" } } }),
  "500": error("An unexpected error."),
};

export function buildOpenApiDocument() {
  const query = jsonSchema(ListCustomersQuery) as { properties: Record<string, object> };
  const customerId = { type: "string", pattern: CUSTOMER_ID.source };
  const bookmarkParameter = {
    name: "X-D1-Bookmark",
    in: "header",
    required: false,
    description: "The X-D1-Bookmark of an earlier response: this request then reads data at least as new as that response saw.",
    schema: { type: "string" },
  };

  return {
    openapi: "3.1.0",
    info: {
      title: "Customers API",
      version: "1.0.0",
      description: "A Vatly-compatible Customers API on Cloudflare Workers. Every response carries X-Request-Id.",
    },
    security: [{ bearerAuth: [] }],
    paths: {
      "/v1/customers": {
        get: {
          operationId: "listCustomers",
          summary: "List customers, newest first, with ID cursors.",
          parameters: [
            ...Object.entries(query.properties).map(([name, schema]) => ({ name, in: "query", required: false, schema })),
            bookmarkParameter,
          ],
          responses: {
            "200": json(ref("CustomerList"), "A page of customers.", { ...requestId, ...bookmark }),
            ...common,
            "422": json(ref("ValidationError"), "A query parameter is malformed, out of range, or names no customer of the caller."),
          },
        },
        post: {
          operationId: "createCustomer",
          summary: "Create a customer.",
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              description: "1 to 64 printable ASCII characters. Replays the stored response of the same request for 24 hours.",
              schema: { type: "string", minLength: 1, maxLength: 64, pattern: "^[\\x20-\\x7e]+$" },
            },
          ],
          requestBody: { required: true, content: { "application/json": { schema: ref("CreateCustomerRequest") } } },
          responses: {
            "201": json(ref("Customer"), "The created customer (or, with Idempotent-Replayed: true, the stored one).", {
              ...requestId,
              ...bookmark,
              Location: { description: "The customer's URL.", schema: { type: "string" } },
            }),
            ...common,
            "400": error("The body is not a JSON object, or the Idempotency-Key or X-D1-Bookmark header is malformed."),
            "409": error("The Idempotency-Key was used for a different request."),
            "413": error("The body is larger than 64 KiB."),
            "415": error("The Content-Type is not application/json."),
            "422": json(ref("ValidationError"), "A field is invalid, or the email is taken in this account and mode."),
          },
        },
      },
      "/v1/customers/{id}": {
        get: {
          operationId: "getCustomer",
          summary: "Retrieve a customer.",
          parameters: [{ name: "id", in: "path", required: true, schema: customerId }, bookmarkParameter],
          responses: {
            "200": json(ref("Customer"), "The customer.", { ...requestId, ...bookmark }),
            ...common,
            "404": error("No customer with this id in the caller's account and mode."),
          },
        },
      },
      "/v1/openapi.json": {
        get: {
          operationId: "getOpenApiDocument",
          summary: "This document.",
          security: [],
          responses: { "200": json({ type: "object" }, "The OpenAPI description.") },
        },
      },
    },
    components: {
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", description: "An API key: live_... or test_..." },
      },
      headers: {
        RequestId: { description: "The request's id, also in the server's log line.", schema: { type: "string" } },
        Bookmark: { description: "A D1 session bookmark to send back as X-D1-Bookmark for read-your-writes.", schema: { type: "string" } },
      },
      schemas: toJsonSchemaDefs(definitions, config),
    },
  };
}
