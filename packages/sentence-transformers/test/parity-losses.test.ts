// Every loss against the golden vectors of the Python reference (see shared/parity/README.md).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { before, describe, it } from "node:test";
import { runLossParity, type LossParityResult, type ParityDType } from "../src/parity/loss-runner.js";
import { handleCount } from "./losses-util.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const parityDir = process.env.STTS_PARITY_DIR ?? resolve(repoRoot, "../shared/parity");

/** The number of cases manifest.json announces (119 in the public set). */
function manifestTotal(): number {
  const manifest = JSON.parse(readFileSync(resolve(parityDir, "manifest.json"), "utf8")) as {
    files: Record<string, number>;
  };
  return Object.values(manifest.files).reduce((total, count) => total + count, 0);
}

for (const dtype of ["float64", "float32"] as ParityDType[]) {
  describe(`loss parity in ${dtype}`, () => {
    let result: LossParityResult;
    let leaked = 0;
    before(() => {
      assert.ok(existsSync(parityDir), `no parity vectors at ${parityDir} (set STTS_PARITY_DIR)`);
      const baseline = handleCount();
      result = runLossParity(parityDir, { dtype });
      leaked = handleCount() - baseline;
    });

    it("passes every case of every vector file", () => {
      const failures = result.failures.map((f) => `${f.file} ${f.caseName}: ${f.reason}`);
      assert.deepEqual(failures, [], `${result.failed} failed:\n${failures.join("\n")}`);
      assert.equal(result.failed, 0);
    });

    it("runs as many cases as manifest.json lists", () => {
      assert.equal(result.passed + result.failed, manifestTotal());
    });

    it("prints one line per vector file and the total last, and frees every tensor", () => {
      assert.equal(result.lines.length, result.files.length + 1);
      assert.equal(result.lines.at(-1), `${result.passed} passed, ${result.failed} failed`);
      assert.equal(leaked, 0, "tensor handles leaked by the parity run");
    });
  });
}
