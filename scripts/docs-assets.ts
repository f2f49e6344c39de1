// Runs on `npm ci` / `npm install` (postinstall): copies Scalar's browser bundle next to public/docs/index.html, so
// that GET /docs is served by the Worker's static assets with no CDN at run time. The copy is git-ignored.
import { copyFileSync, mkdirSync } from "node:fs";

mkdirSync("public/docs", { recursive: true });
copyFileSync("node_modules/@scalar/api-reference/dist/browser/standalone.js", "public/docs/scalar.js");
