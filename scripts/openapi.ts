// `npm run openapi`: writes openapi.json from the valibot schemas (src/openapi/document.ts).
import { writeFileSync } from "node:fs";
import { buildOpenApiDocument } from "../src/openapi/document";

writeFileSync("openapi.json", `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
console.log("wrote openapi.json");
