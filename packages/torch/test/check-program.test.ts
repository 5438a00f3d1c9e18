// The acceptance program of the engine issue, as a test.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";

describe("engine acceptance", () => {
  it("computes y = sum((w x)^2) and its gradient", () => {
    const w = torch.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: "float64", requiresGrad: true },
    );
    const x = torch.tensor([[1], [1]], { dtype: "float64" });
    const y = torch.scope(() => {
      const out = w.matmul(x).pow(2).sum();
      out.backward();
      return out;
    });
    // w x = [3, 7]; y = 9 + 49 = 58; dy/dw = 2 (w x) x^T = [[6, 6], [14, 14]]
    assert.equal(y.item(), 58);
    assert.deepEqual(w.grad?.toArray(), [
      [6, 6],
      [14, 14],
    ]);
  });

  it("turns a matmul shape error into a catchable Error and goes on", () => {
    assert.throws(() => torch.ones([2, 3]).matmul(torch.ones([2, 3])), /shapes cannot be multiplied \(2x3 and 2x3\)/);
    assert.equal(
      torch
        .ones([2, 2])
        .matmul(torch.ones([2, 2]))
        .sum()
        .item(),
      8,
    );
  });

  it("error messages carry no C++ backtrace", () => {
    try {
      torch.ones([2]).view([3]);
      assert.fail("no throw");
    } catch (error) {
      assert.ok(error instanceof Error);
      assert.doesNotMatch(error.message, /Exception raised from|frame #/);
    }
  });
});
