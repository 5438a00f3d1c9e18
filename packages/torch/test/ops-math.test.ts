// Elementwise math, comparisons and logic, type promotion, in-place forms, matrix products and sorting.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { assertClose, tidy, values } from "./util.js";

const long = (data: number[] | number[][]): Tensor => torch.tensor(data, { dtype: "int64" });
const f64 = (data: number[] | number[][]): Tensor => torch.tensor(data, { dtype: "float64" });

describe("elementwise arithmetic", () => {
  it("add/sub with tensors, numbers and alpha; rsub", () =>
    tidy(() => {
      const a = torch.tensor([1, 2, 3]);
      const b = torch.tensor([10, 20, 30]);
      assert.deepEqual(a.add(b).toArray(), [11, 22, 33]);
      assert.deepEqual(a.add(b, 2).toArray(), [21, 42, 63]); // a + 2 b
      assert.deepEqual(a.add(0.5).toArray(), [1.5, 2.5, 3.5]);
      assert.deepEqual(a.sub(b).toArray(), [-9, -18, -27]);
      assert.deepEqual(a.sub(1, 3).toArray(), [-2, -1, 0]); // a - 3 * 1
      assert.deepEqual(a.rsub(10).toArray(), [9, 8, 7]); // 10 - a
      // broadcasting a column against a row
      assert.deepEqual(
        torch
          .tensor([[1], [2]])
          .add(torch.tensor([10, 20]))
          .toArray(),
        [
          [11, 21],
          [12, 22],
        ],
      );
    }));

  it("mul/div/pow/remainder with tensors and numbers", () =>
    tidy(() => {
      const a = torch.tensor([1, 2, -3]);
      assert.deepEqual(a.mul(torch.tensor([2, 3, 4])).toArray(), [2, 6, -12]);
      assert.deepEqual(a.mul(-2).toArray(), [-2, -4, 6]);
      assert.deepEqual(a.div(torch.tensor([2, 4, 3])).toArray(), [0.5, 0.5, -1]);
      assert.deepEqual(a.div(2).toArray(), [0.5, 1, -1.5]);
      assert.deepEqual(a.pow(2).toArray(), [1, 4, 9]);
      assert.deepEqual(torch.tensor([4, 9]).pow(0.5).toArray(), [2, 3]);
      assert.deepEqual(
        torch
          .tensor([2, 3])
          .pow(torch.tensor([3, 2]))
          .toArray(),
        [8, 9],
      );
      // remainder takes the sign of the divisor, like Python's %: -3 % 2 = 1
      assert.deepEqual(a.remainder(2).toArray(), [1, 0, 1]);
      assert.deepEqual(
        torch
          .tensor([5, -5])
          .remainder(torch.tensor([3, 3]))
          .toArray(),
        [2, 1],
      );
      // division by zero follows IEEE: 1/0 = inf, 0/0 = NaN
      const z = torch.tensor([1, 0]).div(0);
      assert.equal(values(z)[0], Infinity);
      assert.ok(Number.isNaN(values(z)[1]));
    }));

  it("unary functions match Math", () =>
    tidy(() => {
      const x = f64([0.5, 1, 2]);
      const xs = [0.5, 1, 2];
      const check = (t: Tensor, f: (v: number) => number) =>
        assertClose(
          values(t),
          xs.map((v) => f(v)),
          1e-15,
          1e-14,
        );
      check(x.neg(), (v) => -v);
      check(x.exp(), Math.exp);
      check(x.expm1(), Math.expm1);
      check(x.log(), Math.log);
      check(x.log1p(), Math.log1p);
      check(x.log2(), Math.log2);
      check(x.sqrt(), Math.sqrt);
      check(x.rsqrt(), (v) => 1 / Math.sqrt(v));
      check(x.square(), (v) => v * v);
      check(x.reciprocal(), (v) => 1 / v);
      check(x.sin(), Math.sin);
      check(x.cos(), Math.cos);
      check(x.tanh(), Math.tanh);
      check(x.sigmoid(), (v) => 1 / (1 + Math.exp(-v)));
      // erf(0.5) = 0.5204998778130465, erf(1) = 0.8427007929497149, erf(2) = 0.9953222650189527 (tables)
      assertClose(values(x.erf()), [0.5204998778130465, 0.8427007929497149, 0.9953222650189527], 1e-15);
      const y = torch.tensor([-1.5, -0.5, 0.5, 2.5]);
      assert.deepEqual(y.abs().toArray(), [1.5, 0.5, 0.5, 2.5]);
      assert.deepEqual(y.sign().toArray(), [-1, -1, 1, 1]);
      assert.deepEqual(y.relu().toArray(), [0, 0, 0.5, 2.5]);
      assert.deepEqual(y.floor().toArray(), [-2, -1, 0, 2]);
      assert.deepEqual(y.ceil().toArray(), [-1, -0, 1, 3]);
      // round half to even: -1.5 -> -2, -0.5 -> -0, 0.5 -> 0, 2.5 -> 2
      assert.deepEqual(y.round().toArray(), [-2, -0, 0, 2]);
    }));

  it("lerp, addcmul and addcdiv", () =>
    tidy(() => {
      const a = torch.tensor([0, 10]);
      const b = torch.tensor([10, 20]);
      // a + w (b - a)
      assert.deepEqual(a.lerp(b, 0.25).toArray(), [2.5, 12.5]);
      assert.deepEqual(a.lerp(b, torch.tensor([0, 1])).toArray(), [0, 20]);
      const t1 = torch.tensor([1, 2]);
      const t2 = torch.tensor([4, 8]);
      // a + value * t1 * t2 = [0 + 0.5 * 4, 10 + 0.5 * 16]
      assert.deepEqual(a.addcmul(t1, t2, 0.5).toArray(), [2, 18]);
      // a + value * t1 / t2 = [0 + 2 * 0.25, 10 + 2 * 0.25]
      assert.deepEqual(a.addcdiv(t1, t2, 2).toArray(), [0.5, 10.5]);
      assert.deepEqual(a.addcdiv(t1, t2).toArray(), [0.25, 10.25]);
    }));

  it("clamp/clampMin/clampMax and maximum/minimum", () =>
    tidy(() => {
      const x = torch.tensor([-2, 0.5, 3]);
      assert.deepEqual(x.clamp(-1, 1).toArray(), [-1, 0.5, 1]);
      assert.deepEqual(x.clamp(0).toArray(), [0, 0.5, 3]);
      assert.deepEqual(x.clamp(null, 0).toArray(), [-2, 0, 0]);
      assert.deepEqual(x.clampMin(1).toArray(), [1, 1, 3]);
      assert.deepEqual(x.clampMax(1).toArray(), [-2, 0.5, 1]);
      assert.throws(() => x.clamp(null, null), /clamp: at least one of min and max must be given/);
      const y = torch.tensor([0, 1, 2]);
      assert.deepEqual(x.maximum(y).toArray(), [0, 1, 3]);
      assert.deepEqual(x.minimum(y).toArray(), [-2, 0.5, 2]);
      assert.deepEqual(torch.maximum(x, y).toArray(), [0, 1, 3]);
      assert.deepEqual(torch.minimum(x, y).toArray(), [-2, 0.5, 2]);
      // maximum propagates NaN
      assert.ok(Number.isNaN(values(torch.tensor([NaN]).maximum(torch.tensor([1])))[0]));
    }));

  it("maskedFill with a number or a 0-dim tensor, broadcasting the mask", () =>
    tidy(() => {
      const x = torch.tensor([
        [1, 2],
        [3, 4],
      ]);
      const mask = torch.tensor([true, false]); // broadcast over rows: column 0
      assert.deepEqual(x.maskedFill(mask, -1).toArray(), [
        [-1, 2],
        [-1, 4],
      ]);
      assert.deepEqual(x.maskedFill(mask, torch.tensor(9)).toArray(), [
        [9, 2],
        [9, 4],
      ]);
      const inf = x.maskedFill(mask, -Infinity);
      assert.deepEqual(values(inf), [-Infinity, 2, -Infinity, 4]);
      // libtorch 1.13 would silently ignore a float mask: the TypeScript layer rejects non-bool masks
      assert.throws(() => x.maskedFill(torch.tensor([1, 0]), 0), /maskedFill: mask must be a bool tensor, got float32/);
      assert.throws(
        () => x.maskedFill(torch.tensor([1, 0], { dtype: "int64" }), torch.tensor(0)),
        /maskedFill: mask must be a bool tensor, got int64/,
      );
      assert.throws(() => x.clone().maskedFill_(torch.tensor([1, 0]), 0), /maskedFill_: mask must be a bool tensor/);
    }));
});

describe("type promotion", () => {
  it("an int64 tensor stays int64 with an integer number and becomes float32 with a fractional one", () =>
    tidy(() => {
      const i = long([1, 2]);
      const plusInt = i.add(2);
      assert.equal(plusInt.dtype, "int64");
      assert.deepEqual(plusInt.toArray(), [3, 4]);
      const plusFloat = i.add(2.5);
      assert.equal(plusFloat.dtype, "float32");
      assert.deepEqual(plusFloat.toArray(), [3.5, 4.5]);
      assert.equal(i.mul(3).dtype, "int64");
      assert.equal(i.mul(0.5).dtype, "float32");
      assert.equal(i.pow(2).dtype, "int64");
      // true division of integers gives float32
      const half = i.div(2);
      assert.equal(half.dtype, "float32");
      assert.deepEqual(half.toArray(), [0.5, 1]);
      assert.equal(i.div(long([2, 2])).dtype, "float32");
    }));

  it("tensor-tensor promotion follows the category and width rules", () =>
    tidy(() => {
      const i64 = long([1]);
      const i32 = torch.tensor([1], { dtype: "int32" });
      const f32 = torch.tensor([1]);
      const d = f64([1]);
      assert.equal(i64.add(f32).dtype, "float32");
      assert.equal(i32.add(i64).dtype, "int64");
      assert.equal(f32.add(d).dtype, "float64");
      assert.equal(torch.tensor([true]).add(i32).dtype, "int32");
      // a 0-dim tensor of the same category does not widen a dimensioned one
      assert.equal(f32.add(torch.tensor(1, { dtype: "float64" })).dtype, "float32");
      // but a 0-dim float does promote an integer tensor (to the default float32)
      assert.equal(i64.add(torch.tensor(1, { dtype: "float64" })).dtype, "float64");
      // a float number does not widen float16
      assert.equal(torch.tensor([1], { dtype: "float16" }).mul(0.5).dtype, "float16");
    }));

  it("bool tensors cannot be subtracted", () =>
    tidy(() => {
      assert.throws(
        () => torch.tensor([true]).sub(torch.tensor([false])),
        /Subtraction, the `-` operator, with two bool/,
      );
    }));
});

describe("comparisons and logic", () => {
  it("eq/ne/lt/le/gt/ge with tensors and numbers give bool", () =>
    tidy(() => {
      const a = torch.tensor([1, 2, 3]);
      const b = torch.tensor([3, 2, 1]);
      const eq = a.eq(b);
      assert.equal(eq.dtype, "bool");
      assert.deepEqual(eq.toArray(), [false, true, false]);
      assert.deepEqual(a.ne(b).toArray(), [true, false, true]);
      assert.deepEqual(a.lt(b).toArray(), [true, false, false]);
      assert.deepEqual(a.le(b).toArray(), [true, true, false]);
      assert.deepEqual(a.gt(b).toArray(), [false, false, true]);
      assert.deepEqual(a.ge(b).toArray(), [false, true, true]);
      assert.deepEqual(a.eq(2).toArray(), [false, true, false]);
      assert.deepEqual(a.gt(1.5).toArray(), [false, true, true]);
      assert.deepEqual(long([1, 2]).lt(1.5).toArray(), [true, false]);
    }));

  it("logical ops treat non-zero as true", () =>
    tidy(() => {
      const p = torch.tensor([true, true, false, false]);
      const q = torch.tensor([true, false, true, false]);
      assert.deepEqual(p.logicalAnd(q).toArray(), [true, false, false, false]);
      assert.deepEqual(p.logicalOr(q).toArray(), [true, true, true, false]);
      assert.deepEqual(p.logicalNot().toArray(), [false, false, true, true]);
      assert.deepEqual(torch.tensor([0, 2, -1]).logicalNot().toArray(), [true, false, false]);
    }));

  it("isnan/isinf/isfinite", () =>
    tidy(() => {
      const x = torch.tensor([1, NaN, Infinity, -Infinity]);
      assert.deepEqual(x.isnan().toArray(), [false, true, false, false]);
      assert.deepEqual(x.isinf().toArray(), [false, false, true, true]);
      assert.deepEqual(x.isfinite().toArray(), [true, false, false, false]);
    }));

  it("equal and allclose compare whole tensors", () =>
    tidy(() => {
      const a = torch.tensor([1, 2]);
      assert.equal(a.equal(torch.tensor([1, 2])), true);
      assert.equal(a.equal(torch.tensor([1, 2.0001])), false);
      assert.equal(a.equal(torch.tensor([[1, 2]])), false); // shape differs
      assert.equal(a.allclose(torch.tensor([1, 2.00001])), true); // |diff| 1e-5 <= 1e-8 + 1e-5 * 2
      assert.equal(a.allclose(torch.tensor([1, 2.001])), false);
      assert.equal(a.allclose(torch.tensor([1, 2.001]), 1e-3), true);
    }));
});

describe("in-place ops", () => {
  it("modify the tensor and return it", () =>
    tidy(() => {
      const x = torch.tensor([1, 2, 3]);
      assert.equal(x.add_(1), x);
      assert.deepEqual(x.toArray(), [2, 3, 4]);
      x.sub_(torch.tensor([1, 1, 1]), 2)
        .mul_(2)
        .div_(torch.tensor([1, 2, 4]));
      // ([2,3,4] - 2) * 2 / [1,2,4] = [0, 1, 1]
      assert.deepEqual(x.toArray(), [0, 1, 1]);
      x.addcmul_(torch.tensor([1, 2, 3]), torch.tensor([1, 1, 1]), 2); // + 2 * [1,2,3]
      assert.deepEqual(x.toArray(), [2, 5, 7]);
      x.addcdiv_(torch.tensor([2, 2, 2]), torch.tensor([1, 2, 4])); // + [2, 1, 0.5]
      assert.deepEqual(x.toArray(), [4, 6, 7.5]);
      x.lerp_(torch.tensor([8, 8, 8]), 0.5); // halfway to 8
      assert.deepEqual(x.toArray(), [6, 7, 7.75]);
      x.clamp_(6.5, 7.5).maskedFill_(torch.tensor([false, true, false]), 0);
      assert.deepEqual(x.toArray(), [6.5, 0, 7.5]);
      x.fill_(4).sqrt_();
      assert.deepEqual(x.toArray(), [2, 2, 2]);
      x.copy_(torch.tensor([5]));
      assert.deepEqual(x.toArray(), [5, 5, 5]);
      x.zero_();
      assert.deepEqual(x.toArray(), [0, 0, 0]);
    }));

  it("uniform_ and normal_ draw from the seeded generator", () =>
    tidy(() => {
      torch.manualSeed(0);
      const u = torch.empty([1000]).uniform_(2, 3);
      assert.ok(values(u).every((v) => v >= 2 && v < 3));
      torch.manualSeed(0);
      const again = torch.empty([1000]).uniform_(2, 3);
      assert.ok(again.equal(u));
      const n = torch.empty([4000]).normal_(5, 2);
      // sample mean of 4000 draws is within 4 standard errors (2 / sqrt(4000) = 0.032) of 5
      assert.ok(Math.abs(n.mean().item() - 5) < 0.13);
      assert.ok(Math.abs(n.std().item() - 2) < 0.1);
    }));

  it("an in-place op on a leaf that requires grad is an error", () =>
    tidy(() => {
      const w = torch.ones([2], { requiresGrad: true });
      assert.throws(() => w.add_(1), /a leaf Variable that requires grad is being used in an in-place operation/);
      torch.noGrad(() => w.add_(1));
      assert.deepEqual(w.toArray(), [2, 2]);
    }));
});

describe("matrix products", () => {
  it("matmul/mm on matrices, matrix-vector and batches", () =>
    tidy(() => {
      const a = torch.tensor([
        [1, 2],
        [3, 4],
      ]);
      const b = torch.tensor([
        [5, 6],
        [7, 8],
      ]);
      // [[1*5+2*7, 1*6+2*8], [3*5+4*7, 3*6+4*8]]
      const expected = [
        [19, 22],
        [43, 50],
      ];
      assert.deepEqual(a.matmul(b).toArray(), expected);
      assert.deepEqual(a.mm(b).toArray(), expected);
      assert.deepEqual(torch.matmul(a, b).toArray(), expected);
      assert.deepEqual(a.matmul(torch.tensor([1, 1])).toArray(), [3, 7]);
      assert.deepEqual(torch.tensor([1, 1]).matmul(a).toArray(), [4, 6]);
      assert.equal(
        torch
          .tensor([1, 2])
          .matmul(torch.tensor([3, 4]))
          .item(),
        11,
      );
      // a batch of two against one broadcast matrix
      const batch = torch.stack([a, b]);
      assert.deepEqual(batch.matmul(torch.eye(2)).toArray(), [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ]);
      assert.throws(() => a.mm(torch.ones([3, 1])), /mat1 and mat2 shapes cannot be multiplied \(2x2 and 3x1\)/);
    }));

  it("bmm multiplies matching batches", () =>
    tidy(() => {
      const x = torch.tensor([[[1, 2]], [[3, 4]]]); // [2, 1, 2]
      const y = torch.tensor([
        [[1], [1]],
        [[2], [0]],
      ]); // [2, 2, 1]
      assert.deepEqual(x.bmm(y).toArray(), [[[3]], [[6]]]); // [1+2], [3*2+0]
      assert.throws(() => x.bmm(torch.ones([2, 3, 1])), /Expected size for first two dimensions of batch2 tensor/);
    }));

  it("einsum computes contractions, transposes, traces and batched products", () =>
    tidy(() => {
      const a = torch.tensor([
        [1, 2],
        [3, 4],
      ]);
      const b = torch.tensor([
        [5, 6],
        [7, 8],
      ]);
      assert.deepEqual(torch.einsum("ij,jk->ik", [a, b]).toArray(), [
        [19, 22],
        [43, 50],
      ]);
      assert.deepEqual(torch.einsum("ij->ji", [a]).toArray(), [
        [1, 3],
        [2, 4],
      ]);
      assert.equal(torch.einsum("ii->", [a]).item(), 5); // trace 1 + 4
      assert.deepEqual(torch.einsum("ij,ij->i", [a, b]).toArray(), [17, 53]); // row dots: 5+12, 21+32
      assert.deepEqual(torch.einsum("i,j->ij", [torch.tensor([1, 2]), torch.tensor([3, 4])]).toArray(), [
        [3, 4],
        [6, 8],
      ]);
      assert.deepEqual(torch.einsum("bij,bjk->bik", [a.unsqueeze(0), b.unsqueeze(0)]).shape, [1, 2, 2]);
    }));
});

describe("sorting", () => {
  it("topk returns the k largest (or smallest) with their indices", () =>
    tidy(() => {
      const x = torch.tensor([3, 1, 4, 1, 5]);
      const top = x.topk(2);
      assert.deepEqual(top.values.toArray(), [5, 4]);
      assert.deepEqual(top.indices.toArray(), [4, 2]);
      assert.equal(top.indices.dtype, "int64");
      const low = x.topk(2, -1, false);
      assert.deepEqual(low.values.toArray(), [1, 1]);
      assert.deepEqual(values(low.indices).sort(), [1, 3]);
      const m = torch.tensor([
        [1, 9],
        [8, 2],
      ]);
      assert.deepEqual(m.topk(1, 0).values.toArray(), [[8, 9]]);
      assert.deepEqual(m.topk(1, 0).indices.toArray(), [[1, 0]]);
    }));

  it("sort and argsort, ascending and descending", () =>
    tidy(() => {
      const x = torch.tensor([3, 1, 2]);
      const asc = x.sort();
      assert.deepEqual(asc.values.toArray(), [1, 2, 3]);
      assert.deepEqual(asc.indices.toArray(), [1, 2, 0]);
      const desc = x.sort(0, true);
      assert.deepEqual(desc.values.toArray(), [3, 2, 1]);
      assert.deepEqual(desc.indices.toArray(), [0, 2, 1]);
      assert.deepEqual(x.argsort().toArray(), [1, 2, 0]);
      assert.deepEqual(x.argsort(-1, true).toArray(), [0, 2, 1]);
      const m = torch.tensor([
        [2, 1],
        [0, 5],
      ]);
      assert.deepEqual(m.sort(0).values.toArray(), [
        [0, 1],
        [2, 5],
      ]);
      assert.deepEqual(m.argsort(1).toArray(), [
        [1, 0],
        [0, 1],
      ]);
    }));
});
