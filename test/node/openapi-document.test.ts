import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";

describe("openapi.json", () => {
  it("is a valid OpenAPI 3.1 document for a standard validator", async () => {
    const document = JSON.parse(readFileSync("openapi.json", "utf8"));
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });
});
