// Runs on `npm ci` / `npm install` (postinstall): copies the browser bundles the static pages load from this origin,
// so that nothing comes from a CDN at run time: Scalar next to public/docs/index.html (GET /docs), and Preact with htm
// (one ES module, about 5 KB gzipped) next to the dashboard's scripts. The copies are git-ignored.
import { copyFileSync, mkdirSync } from "node:fs";

mkdirSync("public/docs", { recursive: true });
copyFileSync("node_modules/@scalar/api-reference/dist/browser/standalone.js", "public/docs/scalar.js");
copyFileSync("node_modules/htm/preact/standalone.module.js", "public/dashboard/preact-htm.js");
