#!/usr/bin/env node
// Checks every loss against the Python reference's golden vectors (shared/parity/*.json).
// Usage: node packages/sentence-transformers/scripts/parity.mjs [--dir DIR] [--dtype float32|float64]
//   --dir    the vector folder (default $STTS_PARITY_DIR, else <repo>/../shared/parity)
//   --dtype  the dtype to run in (default: both, float64 then float32)
// Prints one line per vector file and, last, "N passed, M failed"; failure details go to stderr.
// Exits 1 on any failure, including a vector file naming a loss the library lacks.
// Needs the compiled library: `npx tsc -b packages/torch packages/sentence-transformers` first.
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");
const runner = resolve(here, "../dist/src/parity/loss-runner.js");

function parseArgs(argv) {
  const args = {
    dir: process.env.STTS_PARITY_DIR ?? resolve(repoRoot, "../shared/parity"),
    dtypes: ["float64", "float32"],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if ((flag === "--dir" || flag === "--dtype") && value === undefined) fail(`${flag} needs a value`);
    if (flag === "--dir") args.dir = resolve(argv[++i]);
    else if (flag === "--dtype") {
      const dtype = argv[++i];
      if (dtype !== "float32" && dtype !== "float64") fail(`--dtype must be float32 or float64, got '${dtype}'`);
      args.dtypes = [dtype];
    } else if (flag === "--help" || flag === "-h") {
      console.log("usage: parity.mjs [--dir DIR] [--dtype float32|float64]");
      process.exit(0);
    } else fail(`unknown argument '${flag}'`);
  }
  return args;
}

function fail(text) {
  console.error(`parity.mjs: ${text}`);
  process.exit(2);
}

const { dir, dtypes } = parseArgs(process.argv.slice(2));
if (!existsSync(dir)) fail(`no vector folder at ${dir} (pass --dir or set STTS_PARITY_DIR)`);
if (!existsSync(runner))
  fail(`${runner} is missing: build first (npx tsc -b packages/torch packages/sentence-transformers)`);
const { runLossParity } = await import(runner);

let [passed, failed] = [0, 0];
for (const dtype of dtypes) {
  const prefix = dtypes.length > 1 ? `[${dtype}] ` : "";
  const result = runLossParity(dir, {
    dtype,
    log: (line) => (line.endsWith(" failed") && /^\d/.test(line) ? null : console.log(prefix + line)),
  });
  for (const { file, caseName, reason } of result.failures)
    console.error(`${prefix}FAIL ${file} ${caseName}: ${reason}`);
  passed += result.passed;
  failed += result.failed;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
