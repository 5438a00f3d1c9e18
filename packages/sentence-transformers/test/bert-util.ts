// Test helpers for the models area: leak checks, closeness, fixture and temp folders.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file compiles to packages/sentence-transformers/dist/test/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");

/** The BERT parity fixtures: $STTS_BERT_PARITY_DIR, else <repo>/../shared/parity/bert. */
export const bertParityDir = process.env.STTS_BERT_PARITY_DIR ?? path.resolve(repoRoot, "../shared/parity/bert");

export { handleCount, tidy, values } from "./models-util.js";

/** Asserts |actual - expected| <= atol + rtol |expected| elementwise. */
export function assertClose(actual: number[], expected: number[], atol = 1e-6, rtol = 1e-6, what = "values"): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  expected.forEach((e, i) => {
    const a = actual[i]!;
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${what}[${i}]: ${a} != ${e}`);
  });
}

/** A fresh empty folder under the OS temp dir, removed when the process exits. */
export function tempFolder(prefix: string): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), `stts-${prefix}-`));
  process.on("exit", () => fs.rmSync(folder, { recursive: true, force: true }));
  return folder;
}
