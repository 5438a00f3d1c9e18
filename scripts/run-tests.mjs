#!/usr/bin/env node
// Runs every compiled test file of the workspace with node's test runner.
// Usage: npm test [-- name-filter]   (tests are compiled by `npm run build`)
import { readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const roots = ["packages/torch/dist/test", "packages/sentence-transformers/dist/test"];
const filter = process.argv[2];

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return name.endsWith(".test.js") ? [path] : [];
  });
}

const files = roots.flatMap(walk).filter((f) => filter === undefined || f.includes(filter)).sort();
if (files.length === 0) {
  console.error("no compiled test files found: run `npm run build` first");
  process.exit(1);
}
const result = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
