// `npm run openapi`: writes openapi.json from the operations' own descriptions (src/openapi/document.ts).
import { writeFileSync } from "node:fs";
import { buildOpenApiDocument } from "../src/openapi/document";
import { cli } from "./wrangler";

cli(`Usage: npm run openapi

Writes openapi.json (the document the Worker serves at /v1/openapi.json) from the valibot schemas and the description
each operation gives of itself. A test fails when the committed copy is stale.`, {});
writeFileSync("openapi.json", `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
console.log("wrote openapi.json");
