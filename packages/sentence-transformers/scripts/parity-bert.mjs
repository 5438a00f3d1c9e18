#!/usr/bin/env node
// BERT parity: runs every fixture of a parity directory through the compiled library and prints one line per
// case, then "N passed, M failed" (exit status 1 on any failure). Build first (`npm run build`).
// Usage: node packages/sentence-transformers/scripts/parity-bert.mjs [--dir DIR]
//   DIR defaults to $STTS_BERT_PARITY_DIR, else <repo>/../shared/parity/bert.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../../..");

function parseDir(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--dir") {
      if (argv[i + 1] === undefined) throw new Error("--dir needs a value");
      return argv[i + 1];
    }
    if (argv[i].startsWith("--dir=")) return argv[i].slice("--dir=".length);
    if (argv[i] === "--help" || argv[i] === "-h") {
      console.log("usage: parity-bert.mjs [--dir DIR]");
      process.exit(0);
    }
    throw new Error(`unknown argument '${argv[i]}' (usage: parity-bert.mjs [--dir DIR])`);
  }
  return process.env.STTS_BERT_PARITY_DIR ?? path.resolve(repoRoot, "../shared/parity/bert");
}

const runner = path.join(here, "../dist/src/parity/bert-runner.js");
if (!existsSync(runner)) {
  console.error(`parity-bert: ${runner} is missing; build first (npm run build)`);
  process.exit(1);
}
const { runBertParity } = await import(pathToFileURL(runner).href);
const dir = path.resolve(parseDir(process.argv.slice(2)));
const { passed, failed } = runBertParity(dir, { log: (line) => console.log(line) });
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
