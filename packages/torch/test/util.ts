// Test helpers: closeness assertions and a float64 finite-difference gradient check.
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";

/** Asserts two flat or nested number arrays agree within atol + rtol * |expected|. */
export function assertClose(actual: unknown, expected: unknown, atol = 1e-6, rtol = 1e-6, path = ""): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array, got ${JSON.stringify(actual)}`);
    assert.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((e, i) => assertClose((actual as unknown[])[i], e, atol, rtol, `${path}[${i}]`));
    return;
  }
  if (typeof expected === "number" && typeof actual === "number") {
    if (Number.isNaN(expected)) return assert.ok(Number.isNaN(actual), `${path}: expected NaN, got ${actual}`);
    if (!Number.isFinite(expected)) return assert.equal(actual, expected, path);
    const tolerance = atol + rtol * Math.abs(expected);
    assert.ok(Math.abs(actual - expected) <= tolerance, `${path}: ${actual} != ${expected} (tolerance ${tolerance})`);
    return;
  }
  assert.deepEqual(actual, expected, path);
}

/** Reads a tensor into a flat array of numbers. */
export function values(t: Tensor): number[] {
  return Array.from(t.toTypedArray(), Number);
}

/**
 * Checks autograd against central finite differences in float64.
 * `fn` maps float64 inputs to one tensor; its gradient is compared through the scalar
 * sum(fn(x) * v) for a fixed random v, for every element of every input.
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  eps = 1e-6,
  atol = 1e-5,
  rtol = 1e-4,
): void {
  torch.scope(() => {
    const leaves = inputs.map((x) => x.detach().double().requiresGrad_(true));
    const probe = torch.scope(() => fn(...leaves));
    const v = torch.randnLike(probe, { dtype: "float64" });
    const objective = (xs: Tensor[]): number =>
      torch.scope(() =>
        fn(...xs)
          .mul(v)
          .sum()
          .item(),
      );
    const analytic = torch.scope(() => {
      const out = fn(...leaves)
        .mul(v)
        .sum();
      return torch.autograd.grad(out, leaves, { allowUnused: true });
    });
    leaves.forEach((leaf, k) => {
      const base = values(leaf);
      const numeric = base.map((_, i) => {
        const shifted = (delta: number) =>
          torch.noGrad(() =>
            objective(
              leaves.map((x, j) => {
                if (j !== k) return x;
                const data = base.slice();
                data[i] = data[i]! + delta;
                return torch.tensor(data, { dtype: "float64" }).reshape(leaf.shape);
              }),
            ),
          );
        return (shifted(eps) - shifted(-eps)) / (2 * eps);
      });
      const grad = analytic[k];
      const got = grad === null || grad === undefined ? base.map(() => 0) : values(grad);
      assertClose(got, numeric, atol, rtol, `gradient of input ${k}`);
    });
  });
}

/**
 * Live tensor handles plus those the GC finalizer had to free: a leak raises it whether or not the
 * GC has run, and an earlier test's leak being collected does not lower it.
 */
export function handleCount(): number {
  return torch.liveTensorCount() + torch.finalizedTensorCount();
}

/** Runs `fn` in a scope and asserts it leaked no tensor handle. */
export function tidy(fn: () => void): void {
  const before = handleCount();
  torch.scope(fn);
  assert.equal(handleCount(), before, "tensors leaked");
}
