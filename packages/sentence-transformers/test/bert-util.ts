// Test helpers for the models area: leak checks, closeness, fixture and temp folders.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { assertClose as assertCloseBase } from "./models-util.js";

export { bertParityDir, handleCount, repoRoot, tidy, values } from "./models-util.js";

/** Asserts |actual - expected| <= atol + rtol |expected| elementwise (default 1e-6 both). */
export function assertClose(actual: number[], expected: number[], atol = 1e-6, rtol = 1e-6, what = "values"): void {
  assertCloseBase(actual, expected, atol, rtol, what);
}

/** A fresh empty folder under the OS temp dir, removed when the process exits. */
export function tempFolder(prefix: string): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), `stts-${prefix}-`));
  process.on("exit", () => fs.rmSync(folder, { recursive: true, force: true }));
  return folder;
}
