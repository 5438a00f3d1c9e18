// Reductions over all elements and along dims, with keepdim, checked against hand sums.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { assertClose, tidy, values } from "./util.js";

/** [[1, 2, 3], [4, 5, 6]] */
const m = (): Tensor =>
  torch.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);

describe("sum and mean", () => {
  it("sum over everything, one dim, several dims, with keepdim", () =>
    tidy(() => {
      const x = m();
      const all = x.sum();
      assert.deepEqual(all.shape, []);
      assert.equal(all.item(), 21);
      assert.deepEqual(x.sum(0).toArray(), [5, 7, 9]);
      assert.deepEqual(x.sum(1).toArray(), [6, 15]);
      assert.deepEqual(x.sum(-1, true).toArray(), [[6], [15]]);
      assert.deepEqual(x.sum([0, 1]).toArray(), 21);
      assert.deepEqual(x.sum([0, 1], true).shape, [1, 1]);
    }));

  it("sum with a dtype option, and integer/bool sums give int64", () =>
    tidy(() => {
      const d = m().sum(undefined, false, { dtype: "float64" });
      assert.equal(d.dtype, "float64");
      assert.equal(d.item(), 21);
      const d1 = m().sum(1, false, { dtype: "float64" });
      assert.equal(d1.dtype, "float64");
      assert.deepEqual(d1.toArray(), [6, 15]);
      const i = torch.tensor([1, 2, 3], { dtype: "int32" }).sum();
      assert.equal(i.dtype, "int64");
      assert.equal(i.item(), 6);
      const b = torch.tensor([true, true, false]).sum();
      assert.equal(b.dtype, "int64");
      assert.equal(b.item(), 2);
    }));

  it("mean over everything and along dims", () =>
    tidy(() => {
      const x = m();
      assert.equal(x.mean().item(), 3.5); // 21 / 6
      assert.deepEqual(x.mean(0).toArray(), [2.5, 3.5, 4.5]);
      assert.deepEqual(x.mean(1, true).toArray(), [[2], [5]]);
      assert.deepEqual(x.mean([0, 1]).toArray(), 3.5);
      assert.throws(() => torch.arange(3).mean(), /mean\(\): could not infer output dtype/);
    }));

  it("prod over everything and along a dim", () =>
    tidy(() => {
      const x = m();
      assert.equal(x.prod().item(), 720); // 6!
      assert.deepEqual(x.prod(1).toArray(), [6, 120]);
      assert.deepEqual(x.prod(0, true).toArray(), [[4, 10, 18]]);
      const l = torch.tensor([2, 3], { dtype: "int32" }).prod();
      assert.equal(l.dtype, "int64");
      assert.equal(torch.tensor([2, 3]).prod(undefined, false, { dtype: "float64" }).dtype, "float64");
    }));

  it("cumsum along a dim", () =>
    tidy(() => {
      const x = m();
      assert.deepEqual(x.cumsum(1).toArray(), [
        [1, 3, 6],
        [4, 9, 15],
      ]);
      assert.deepEqual(x.cumsum(0).toArray(), [
        [1, 2, 3],
        [5, 7, 9],
      ]);
      assert.deepEqual(x.cumsum(-1).toArray(), x.cumsum(1).toArray());
    }));
});

describe("max, min and arg-reductions", () => {
  const x = (): Tensor =>
    torch.tensor([
      [3, 9, 1],
      [7, 2, 8],
    ]);

  it("max()/min() of all elements", () =>
    tidy(() => {
      assert.equal(x().max().item(), 9);
      assert.equal(x().min().item(), 1);
    }));

  it("max(dim)/min(dim) give values and int64 indices, with keepdim", () =>
    tidy(() => {
      const mx = x().max(1);
      assert.deepEqual(mx.values.toArray(), [9, 8]);
      assert.deepEqual(mx.indices.toArray(), [1, 2]);
      assert.equal(mx.indices.dtype, "int64");
      const mn = x().min(0, true);
      assert.deepEqual(mn.values.toArray(), [[3, 2, 1]]);
      assert.deepEqual(mn.indices.toArray(), [[0, 1, 0]]);
    }));

  it("amax/amin over dims (all by default)", () =>
    tidy(() => {
      assert.equal(x().amax().item(), 9);
      assert.equal(x().amin().item(), 1);
      assert.deepEqual(x().amax(0).toArray(), [7, 9, 8]);
      assert.deepEqual(x().amin(1, true).toArray(), [[1], [2]]);
      assert.deepEqual(x().amax([0, 1]).toArray(), 9);
    }));

  it("argmax/argmin over the flattened tensor or along a dim", () =>
    tidy(() => {
      assert.equal(x().argmax().item(), 1); // 9 is flat index 1
      assert.equal(x().argmin().item(), 2); // 1 is flat index 2
      assert.deepEqual(x().argmax(1).toArray(), [1, 2]);
      assert.deepEqual(x().argmin(0).toArray(), [0, 1, 0]);
      assert.deepEqual(x().argmax(0, true).toArray(), [[1, 0, 1]]);
    }));
});

describe("logsumexp, norms and moments", () => {
  it("logsumexp is log(sum(exp))", () =>
    tidy(() => {
      // log(e^0 + e^ln3) = log 4
      assertClose(
        torch
          .tensor([0, Math.log(3)])
          .logsumexp(0)
          .item(),
        Math.log(4),
        1e-6,
      );
      const x = torch.tensor(
        [
          [0, 0],
          [1, 2],
        ],
        { dtype: "float64" },
      );
      // rows: log(2); log(e + e^2)
      assertClose(values(x.logsumexp(1)), [Math.log(2), Math.log(Math.E + Math.E ** 2)], 1e-12);
      assert.deepEqual(x.logsumexp(1, true).shape, [2, 1]);
      assertClose(x.logsumexp([0, 1]).item(), Math.log(2 + Math.E + Math.E ** 2), 1e-12);
      // stable for large inputs: 1000 + log 2, not inf
      assertClose(torch.tensor([1000, 1000], { dtype: "float64" }).logsumexp(0).item(), 1000 + Math.log(2), 1e-9);
    }));

  it("norm with p = 1, 2, inf, along dims", () =>
    tidy(() => {
      const v = torch.tensor([3, -4]);
      assert.equal(v.norm(1).item(), 7); // |3| + |-4|
      assert.equal(v.norm().item(), 5); // sqrt(9 + 16)
      assert.equal(v.norm(Infinity).item(), 4); // max |x|
      assert.equal(v.norm(-Infinity).item(), 3); // min |x|
      const x = torch.tensor([
        [3, 4],
        [6, 8],
      ]);
      assert.deepEqual(x.norm(2, 1).toArray(), [5, 10]);
      assert.deepEqual(x.norm(1, 0, true).toArray(), [[9, 12]]);
      assertClose(x.norm(2, [0, 1]).item(), Math.sqrt(9 + 16 + 36 + 64), 1e-6);
    }));

  it("std and var, unbiased (N - 1) by default or biased (N)", () =>
    tidy(() => {
      // [1, 2, 3, 4]: mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5
      const x = torch.tensor([1, 2, 3, 4], { dtype: "float64" });
      assertClose(x.var().item(), 5 / 3, 1e-15);
      assertClose(x.var(undefined, { unbiased: false }).item(), 5 / 4, 1e-15);
      assertClose(x.std().item(), Math.sqrt(5 / 3), 1e-15);
      assertClose(x.std(0, { unbiased: false }).item(), Math.sqrt(5 / 4), 1e-15);
      // rows [1, 3] (mean 2, dev^2 sum 2) and [2, 6] (mean 4, dev^2 sum 8)
      const y = torch.tensor(
        [
          [1, 3],
          [2, 6],
        ],
        { dtype: "float64" },
      );
      assert.deepEqual(y.var(1).toArray(), [2, 8]);
      assert.deepEqual(y.var(1, { unbiased: false, keepdim: true }).toArray(), [[1], [4]]);
      assertClose(values(y.std(1)), [Math.SQRT2, Math.sqrt(8)], 1e-15);
      // columns [1, 2] (dev^2 sum 0.5) and [3, 6] (dev^2 sum 4.5)
      assert.deepEqual(y.var(0).toArray(), [0.5, 4.5]);
    }));
});

describe("all and any", () => {
  it("reduce everything or along a dim", () =>
    tidy(() => {
      const b = torch.tensor([
        [true, false],
        [true, true],
      ]);
      assert.equal(b.all().item(), 0);
      assert.equal(b.any().item(), 1);
      assert.equal(b.all().dtype, "bool");
      assert.deepEqual(b.all(1).toArray(), [false, true]);
      assert.deepEqual(b.all(0).toArray(), [true, false]);
      assert.deepEqual(b.any(1, true).toArray(), [[true], [true]]);
      assert.deepEqual(torch.tensor([0, 0, 2]).any().toArray(), true); // non-zero counts as true
      assert.deepEqual(torch.tensor([0, 1]).all().toArray(), false);
    }));
});
