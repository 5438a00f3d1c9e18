// Test helpers for the models area: leak checks, closeness, fixture and temp folders.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "@stts/torch";
import type { Tensor } from "@stts/torch";

/** The repository root (this file compiles to packages/sentence-transformers/dist/test/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");

/** The BERT parity fixtures: $STTS_BERT_PARITY_DIR, else <repo>/../shared/parity/bert. */
export const bertParityDir = process.env.STTS_BERT_PARITY_DIR ?? path.resolve(repoRoot, "../shared/parity/bert");

/** Live tensor handles plus those the GC finalizer freed: a leak raises it whether or not the GC ran. */
export function handleCount(): number {
  return torch.liveTensorCount() + torch.finalizedTensorCount();
}

/** Runs `fn` in a scope and asserts it leaked no tensor handle. */
export function tidy(fn: () => void): void {
  const before = handleCount();
  torch.scope(fn);
  assert.equal(handleCount(), before, "tensors leaked");
}

/** A tensor's elements as numbers. */
export function values(t: Tensor): number[] {
  return Array.from(t.toTypedArray(), Number);
}

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
