// `npm run openapi`: writes openapi.json from the valibot schemas (src/openapi.ts).
import { writeFileSync } from "node:fs";
import { buildOpenApiDocument } from "../src/openapi";

writeFileSync("openapi.json", `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
console.log("wrote openapi.json");
