#!/usr/bin/env node
// Rewrites the generated parts of docs/losses.md (the tables and the per-loss reference) from the loss
// classes' own metadata and the examples in packages/sentence-transformers/test/loss-guide-examples.ts.
// Usage: npm run docs:losses [-- --check]   (build first: npm run build; --check only reports drift)
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const guidePath = join(root, "packages/sentence-transformers/dist/src/losses/guide.js");
if (!existsSync(guidePath)) {
  console.error("packages/sentence-transformers is not built: run `npm run build` first");
  process.exit(1);
}
const { extractExampleRegions, renderLossDocs } = await import(guidePath);
const docPath = join(root, "docs/losses.md");
const examples = extractExampleRegions(
  readFileSync(join(root, "packages/sentence-transformers/test/loss-guide-examples.ts"), "utf8"),
);
const current = readFileSync(docPath, "utf8");
const next = renderLossDocs(current, examples);
if (process.argv.includes("--check")) {
  if (next !== current) {
    console.error("docs/losses.md is out of date: run `npm run docs:losses`");
    process.exit(1);
  }
  console.log("docs/losses.md is up to date");
} else if (next === current) {
  console.log("docs/losses.md is up to date");
} else {
  writeFileSync(docPath, next);
  console.log("docs/losses.md: generated parts rewritten");
}
