// Gradients of every differentiable op against float64 central finite differences (gradcheck),
// and the autograd API: higher-order grads, retained graphs, grad modes, detach, retainGrad.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { gradcheck, tidy, values } from "./util.js";

const F = torch.functional;

const f64 = (data: number[] | number[][] | number[][][]): Tensor => torch.tensor(data, { dtype: "float64" });
const long = (data: number[] | number[][]): Tensor => torch.tensor(data, { dtype: "int64" });

/** Distinct, non-zero values away from kinks: [[0.3, -1.2, 0.7], [1.5, -0.4, 2.1]]. */
const A = (): Tensor =>
  f64([
    [0.3, -1.2, 0.7],
    [1.5, -0.4, 2.1],
  ]);
/** Another [2, 3] input: [[-0.8, 0.5, 1.1], [0.2, -1.7, 0.9]]. */
const B = (): Tensor =>
  f64([
    [-0.8, 0.5, 1.1],
    [0.2, -1.7, 0.9],
  ]);
/** Positive values for log/sqrt/pow: [[0.5, 1.3, 2.2], [0.9, 1.7, 0.4]]. */
const P = (): Tensor =>
  f64([
    [0.5, 1.3, 2.2],
    [0.9, 1.7, 0.4],
  ]);

describe("gradcheck: elementwise math", () => {
  it("add, sub (with alpha), mul, div, rsub with tensors and numbers, broadcasting", () =>
    tidy(() => {
      gradcheck((a, b) => a.add(b, 2), [A(), B()]);
      gradcheck((a, b) => a.sub(b, 0.5), [A(), B()]);
      gradcheck((a, b) => a.mul(b), [A(), B()]);
      gradcheck((a, b) => a.div(b), [A(), B()]);
      gradcheck((a) => a.add(3).mul(-2).div(4).sub(1).rsub(2), [A()]);
      gradcheck((a, row) => a.mul(row).add(row), [A(), f64([0.5, -1, 2])]); // row broadcast over [2, 3]
    }));

  it("pow with number and tensor exponents", () =>
    tidy(() => {
      gradcheck((a) => a.pow(3), [A()]);
      gradcheck((p) => p.pow(0.5), [P()]);
      gradcheck((p, e) => p.pow(e), [P(), B()]);
    }));

  it("unary functions", () =>
    tidy(() => {
      const unary: [string, (x: Tensor) => Tensor, () => Tensor][] = [
        ["neg", (x) => x.neg(), A],
        ["abs", (x) => x.abs(), A],
        ["exp", (x) => x.exp(), A],
        ["expm1", (x) => x.expm1(), A],
        ["log", (x) => x.log(), P],
        ["log1p", (x) => x.log1p(), P],
        ["log2", (x) => x.log2(), P],
        ["sqrt", (x) => x.sqrt(), P],
        ["rsqrt", (x) => x.rsqrt(), P],
        ["square", (x) => x.square(), A],
        ["reciprocal", (x) => x.reciprocal(), A],
        ["sin", (x) => x.sin(), A],
        ["cos", (x) => x.cos(), A],
        ["tanh", (x) => x.tanh(), A],
        ["sigmoid", (x) => x.sigmoid(), A],
        ["relu", (x) => x.relu(), A],
        ["erf", (x) => x.erf(), A],
      ];
      for (const [, fn, input] of unary) gradcheck(fn, [input()]);
    }));

  it("clamp, clampMin, clampMax (gradient 0 where clamped)", () =>
    tidy(() => {
      gradcheck((a) => a.clamp(-1, 1), [A()]);
      gradcheck((a) => a.clamp(0), [A()]);
      gradcheck((a) => a.clampMin(0.5), [A()]);
      gradcheck((a) => a.clampMax(0.5), [A()]);
    }));

  it("maximum, minimum, maskedFill, where", () =>
    tidy(() => {
      gradcheck((a, b) => a.maximum(b), [A(), B()]);
      gradcheck((a, b) => torch.minimum(a, b), [A(), B()]);
      const mask = torch.tensor([true, false, true]);
      gradcheck((a) => a.maskedFill(mask, 5), [A()]);
      gradcheck((a, b) => torch.where(mask, a, b), [A(), B()]);
      gradcheck((a, b) => a.where(mask, b), [A(), B()]);
      gradcheck((a) => torch.where(mask, a, 0), [A()]);
    }));

  it("lerp (number and tensor weights), addcmul, addcdiv, remainder", () =>
    tidy(() => {
      gradcheck((a, b) => a.lerp(b, 0.3), [A(), B()]);
      gradcheck((a, b, w) => a.lerp(b, w), [A(), B(), P()]);
      gradcheck((a, b, c) => a.addcmul(b, c, 0.5), [A(), B(), P()]);
      gradcheck((a, b, c) => a.addcdiv(b, c, 2), [A(), B(), P()]);
      gradcheck((a) => a.remainder(0.9), [A()]);
    }));

  it("softmax and logSoftmax methods", () =>
    tidy(() => {
      gradcheck((a) => a.softmax(1), [A()]);
      gradcheck((a) => a.logSoftmax(0), [A()]);
    }));
});

describe("gradcheck: reductions", () => {
  it("sum and mean, all and along dims", () =>
    tidy(() => {
      gradcheck((a) => a.sum(), [A()]);
      gradcheck((a) => a.sum(1), [A()]);
      gradcheck((a) => a.sum([0, 1], true), [A()]);
      gradcheck((a) => a.mean(), [A()]);
      gradcheck((a) => a.mean(0, true), [A()]);
    }));

  it("prod and cumsum", () =>
    tidy(() => {
      gradcheck((a) => a.prod(), [A()]);
      gradcheck((a) => a.prod(1), [A()]);
      gradcheck((a) => a.cumsum(1), [A()]);
    }));

  it("max/min (all and with dim), amax/amin", () =>
    tidy(() => {
      gradcheck((a) => a.max(), [A()]);
      gradcheck((a) => a.min(), [A()]);
      gradcheck((a) => a.max(1).values, [A()]);
      gradcheck((a) => a.min(0, true).values, [A()]);
      gradcheck((a) => a.amax(0), [A()]);
      gradcheck((a) => a.amin([0, 1]), [A()]);
    }));

  it("logsumexp, norm (p = 1, 2, inf), std and var", () =>
    tidy(() => {
      gradcheck((a) => a.logsumexp(1), [A()]);
      gradcheck((a) => a.logsumexp([0, 1]), [A()]);
      gradcheck((a) => a.norm(), [A()]);
      gradcheck((a) => a.norm(2, 1), [A()]);
      gradcheck((a) => a.norm(1, 0), [A()]);
      gradcheck((a) => a.norm(Infinity, 1, true), [A()]);
      gradcheck((a) => a.norm(3), [A()]);
      gradcheck((a) => a.std(), [A()]);
      gradcheck((a) => a.std(1, { unbiased: false }), [A()]);
      gradcheck((a) => a.var(0), [A()]);
      gradcheck((a) => a.var(undefined, { unbiased: false }), [A()]);
    }));
});

describe("gradcheck: shape ops", () => {
  it("reshape, view, transpose, t, permute, squeeze, unsqueeze, flatten, contiguous", () =>
    tidy(() => {
      // weights by position make any misrouted gradient visible
      gradcheck((a) => a.reshape([3, 2]), [A()]);
      gradcheck((a) => a.view([6]), [A()]);
      gradcheck((a) => a.transpose(0, 1).contiguous(), [A()]);
      gradcheck((a) => a.t(), [A()]);
      gradcheck((a) => a.unsqueeze(0).permute([2, 0, 1]), [A()]);
      gradcheck((a) => a.unsqueeze(1).squeeze(1), [A()]);
      gradcheck((a) => a.unsqueeze(2).flatten(1), [A()]);
    }));

  it("narrow, slice (with step), select, indexSelect, gather", () =>
    tidy(() => {
      gradcheck((a) => a.narrow(1, 1, 2), [A()]);
      gradcheck((a) => a.slice(1, null, null, 2), [A()]);
      gradcheck((a) => a.slice(1, -2), [A()]);
      gradcheck((a) => a.select(0, 1), [A()]);
      gradcheck((a) => a.indexSelect(1, long([2, 0, 2])), [A()]);
      gradcheck((a, b) => a.indexCopy(1, long([2, 0]), b), [A(), A().narrow(1, 0, 2)]);
      gradcheck(
        (a) =>
          a.gather(
            1,
            long([
              [2, 2],
              [0, 1],
            ]),
          ),
        [A()],
      );
    }));

  it("scatter, scatterAdd, index (integer and boolean), maskedSelect", () =>
    tidy(() => {
      const idx = long([[2, 0]]);
      gradcheck((a, src) => a.scatter(1, idx, src), [A(), f64([[0.5, -0.5]])]);
      gradcheck((a) => a.scatter(1, idx, 3), [A()]);
      gradcheck((a, src) => a.scatterAdd(1, long([[1, 1, 0]]), src), [A(), f64([[0.5, -0.5, 2]])]);
      gradcheck((a) => a.index([long([1, 0, 1])]), [A()]);
      gradcheck((a) => a.index([null, long([2, 2])]), [A()]);
      gradcheck((a) => a.index([a.detach().gt(0)]), [A()]);
      gradcheck((a) => a.maskedSelect(torch.tensor([true, false, true])), [A()]);
    }));

  it("cat, stack, split (size and sizes), chunk, unbind", () =>
    tidy(() => {
      gradcheck((a, b) => torch.cat([a, b], 1), [A(), B()]);
      gradcheck((a, b) => torch.stack([a, b], 2), [A(), B()]);
      // pieces weighted by their position, so a swapped gradient would show
      const weigh = (parts: Tensor[]) => torch.cat(parts.map((p, i) => p.mul(i + 1).flatten()));
      gradcheck((a) => weigh(a.split(2, 1)), [A()]);
      gradcheck((a) => weigh(a.split([1, 2], 1)), [A()]);
      gradcheck((a) => weigh(a.chunk(2, 1)), [A()]);
      gradcheck((a) => weigh(a.unbind(1)), [A()]);
    }));

  it("expand, expandAs, repeat, repeatInterleave", () =>
    tidy(() => {
      gradcheck((r) => r.expand([3, 2]), [f64([[0.5, -1]])]);
      gradcheck((r) => r.expandAs(A()), [f64([[0.5], [-1]])]);
      gradcheck((a) => a.repeat([2, 1]), [A()]);
      gradcheck((a) => a.repeatInterleave(2, 1), [A()]);
    }));

  it("tril, triu, diag, diagonal, flip, roll", () =>
    tidy(() => {
      const sq = () =>
        f64([
          [0.3, -1.2, 0.7],
          [1.5, -0.4, 2.1],
          [-0.6, 0.8, 1.9],
        ]);
      gradcheck((a) => a.tril(), [sq()]);
      gradcheck((a) => a.triu(1), [sq()]);
      gradcheck((a) => a.diag(), [sq()]);
      gradcheck((v) => v.diag(), [f64([0.5, -1, 2])]);
      gradcheck((a) => a.diagonal(-1), [sq()]);
      gradcheck((a) => a.flip([0, 1]), [A()]);
      gradcheck((a) => a.roll(1, 1), [A()]);
    }));

  it("topk and sort values", () =>
    tidy(() => {
      gradcheck((a) => a.topk(2).values, [A()]);
      gradcheck((a) => a.sort(0, true).values, [A()]);
    }));
});

describe("gradcheck: matrix products", () => {
  it("matmul (matrix, vector, batched), mm, bmm, einsum", () =>
    tidy(() => {
      gradcheck((a, b) => a.matmul(b.t()), [A(), B()]);
      gradcheck((a, v) => a.matmul(v), [A(), f64([0.5, -1, 2])]);
      gradcheck((a, b) => a.mm(b.t()), [A(), B()]);
      gradcheck((a, b) => torch.matmul(a.unsqueeze(0).expand([2, 2, 3]), b.t()), [A(), B()]);
      gradcheck((x, y) => x.bmm(y), [A().reshape([2, 1, 3]), B().reshape([2, 3, 1])]);
      gradcheck((a, b) => torch.einsum("ij,kj->ik", [a, b]), [A(), B()]);
      gradcheck((a, b) => torch.einsum("ij,ij->i", [a, b]), [A(), B()]);
    }));
});

describe("gradcheck: functional", () => {
  it("linear wrt input, weight and bias", () =>
    tidy(() => {
      gradcheck((x, w, b) => F.linear(x, w, b), [A(), B().narrow(0, 0, 2), f64([0.1, -0.2])]);
      gradcheck((x, w) => F.linear(x, w), [A(), B()]);
    }));

  it("layerNorm wrt input, weight and bias", () =>
    tidy(() => {
      gradcheck((x, w, b) => F.layerNorm(x, [3], w, b), [A(), f64([1.5, -0.5, 2]), f64([0.1, 0.2, -0.3])]);
      gradcheck((x) => F.layerNorm(x, [2, 3]), [A()]);
    }));

  it("embedding wrt weight; the padding row gets nothing", () =>
    tidy(() => {
      const idx = long([2, 0, 2]);
      gradcheck((w) => F.embedding(idx, w), [A().t()]);
      gradcheck((w) => F.embedding(idx, w, 1), [A().t()]); // a padding row that is not looked up changes nothing
      // the padding row is still read in the forward pass, so finite differences would see it: check by hand
      const w = A().t().contiguous().requiresGrad_();
      const v = f64([
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      const [g] = torch.autograd.grad(F.embedding(idx, w, 0).mul(v).sum(), w);
      // row 2 receives v[0] + v[2]; row 0 (padding) and row 1 (unused) receive nothing
      assert.deepEqual(g!.toArray(), [
        [0, 0],
        [0, 0],
        [6, 8],
      ]);
    }));

  it("dropout with a fixed mask", () =>
    tidy(() => {
      gradcheck(
        (x) => {
          torch.manualSeed(11); // the same mask for every evaluation
          return F.dropout(x, 0.4, true);
        },
        [A()],
      );
      gradcheck((x) => F.dropout(x, 0.4, false), [A()]);
    }));

  it("activations: gelu (both forms), relu, tanh, sigmoid, logSigmoid, softplus, softmax, logSoftmax", () =>
    tidy(() => {
      gradcheck((x) => F.gelu(x), [A()]);
      gradcheck((x) => F.gelu(x, "tanh"), [A()]);
      gradcheck((x) => F.relu(x), [A()]);
      gradcheck((x) => F.tanh(x), [A()]);
      gradcheck((x) => F.sigmoid(x), [A()]);
      gradcheck((x) => F.logSigmoid(x), [A()]);
      gradcheck((x) => F.softplus(x), [A()]);
      // beta 2, threshold 3.5: 2 * 2.1 = 4.2 is in the linear region, the rest in the log form (no input sits on the
      // threshold, where softplus jumps by log(1 + e^3.5) / 2 - 1.75)
      gradcheck((x) => F.softplus(x, 2, 3.5), [A()]);
      gradcheck((x) => F.softmax(x, 0), [A()]);
      gradcheck((x) => F.logSoftmax(x, 1), [A()]);
    }));

  it("crossEntropy wrt logits: plain, weighted, smoothed, ignored rows, probability targets", () =>
    tidy(() => {
      const t = long([2, 0]);
      gradcheck((x) => F.crossEntropy(x, t), [A()]);
      gradcheck((x) => F.crossEntropy(x, t, { reduction: "none" }), [A()]);
      gradcheck((x) => F.crossEntropy(x, t, { weight: f64([1, 2, 3]) }), [A()]);
      gradcheck((x) => F.crossEntropy(x, t, { labelSmoothing: 0.2 }), [A()]);
      gradcheck((x) => F.crossEntropy(x, long([-100, 1])), [A()]);
      gradcheck((x, p) => F.crossEntropy(x, p.softmax(1)), [A(), B()]);
    }));

  it("binaryCrossEntropyWithLogits wrt input and target, with posWeight", () =>
    tidy(() => {
      const y = f64([
        [1, 0, 1],
        [0, 0, 1],
      ]);
      gradcheck((x) => F.binaryCrossEntropyWithLogits(x, y), [A()]);
      gradcheck((x, t) => F.binaryCrossEntropyWithLogits(x, t.sigmoid(), { reduction: "sum" }), [A(), B()]);
      gradcheck((x) => F.binaryCrossEntropyWithLogits(x, y, { posWeight: f64([2, 1, 0.5]) }), [A()]);
    }));

  it("klDiv wrt input and target, batchmean and logTarget", () =>
    tidy(() => {
      const target = () => P().softmax(1);
      gradcheck((x) => F.klDiv(x.logSoftmax(1), target()), [A()]);
      gradcheck((x) => F.klDiv(x.logSoftmax(1), target(), { reduction: "batchmean" }), [A()]);
      gradcheck((x, t) => F.klDiv(x.logSoftmax(1), t.softmax(1), { reduction: "sum" }), [A(), B()]);
      gradcheck((x, t) => F.klDiv(x, t.logSoftmax(1), { reduction: "none", logTarget: true }), [A(), B()]);
    }));

  it("mseLoss and l1Loss", () =>
    tidy(() => {
      gradcheck((a, b) => F.mseLoss(a, b), [A(), B()]);
      gradcheck((a, b) => F.mseLoss(a, b, "none"), [A(), B()]);
      gradcheck((a, b) => F.l1Loss(a, b, "sum"), [A(), B()]);
    }));

  it("cosineSimilarity, pairwiseDistance, normalize, cdist", () =>
    tidy(() => {
      gradcheck((a, b) => F.cosineSimilarity(a, b), [A(), B()]);
      gradcheck((a, b) => F.cosineSimilarity(a, b, 0), [A(), B()]);
      gradcheck((a, b) => F.pairwiseDistance(a, b), [A(), B()]);
      gradcheck((a, b) => F.pairwiseDistance(a, b, 1), [A(), B()]);
      gradcheck((a) => F.normalize(a), [A()]);
      gradcheck((a) => F.normalize(a, 1, 0), [A()]);
      gradcheck((a, b) => torch.cdist(a, b), [A(), B()]);
      gradcheck((a, b) => torch.cdist(a, b, 1), [A(), B()]);
    }));

  it("scaledDotProductAttention wrt query, key and value, with a float mask", () =>
    tidy(() => {
      const q = A().unsqueeze(0); // [1, 2, 3]
      const k = B().unsqueeze(0);
      const v = P().unsqueeze(0);
      gradcheck((a, b, c) => F.scaledDotProductAttention(a, b, c), [q, k, v]);
      const mask = f64([
        [0, -1],
        [0.5, 0],
      ]);
      gradcheck((a, b, c) => F.scaledDotProductAttention(a, b, c, mask), [q, k, v]);
    }));
});

describe("autograd API", () => {
  it("grad with createGraph gives second derivatives: d2/dx2 x^3 = 6x", () =>
    tidy(() => {
      const x = torch.tensor([1, 3], { dtype: "float64", requiresGrad: true });
      const y = x.pow(3).sum();
      const [g] = torch.autograd.grad(y, x, { createGraph: true });
      assert.deepEqual(g!.toArray(), [3, 27]); // 3x^2
      assert.equal(g!.requiresGrad, true);
      const [g2] = torch.autograd.grad(g!.sum(), x);
      assert.deepEqual(g2!.toArray(), [6, 18]); // 6x
      assert.equal(x.grad, null); // grad() does not accumulate into .grad
    }));

  it("backward with createGraph also builds a differentiable .grad", () =>
    tidy(() => {
      const x = torch.tensor([2], { dtype: "float64", requiresGrad: true });
      x.pow(3).sum().backward(undefined, { createGraph: true });
      const g = x.grad!;
      assert.deepEqual(g.toArray(), [12]); // 3 * 2^2
      const [g2] = torch.autograd.grad(g.sum(), x);
      assert.deepEqual(g2!.toArray(), [12]); // 6 * 2
      x.grad = null; // break the x -> grad -> x reference cycle
    }));

  it("retainGraph allows a second backward, and gradients accumulate", () =>
    tidy(() => {
      const x = torch.tensor([2, -1], { requiresGrad: true });
      const y = x.mul(x).sum();
      y.backward(undefined, { retainGraph: true });
      assert.deepEqual(x.grad!.toArray(), [4, -2]); // 2x
      y.backward();
      assert.deepEqual(x.grad!.toArray(), [8, -4]); // accumulated
      // without retainGraph the buffers are freed: a third pass fails
      assert.throws(() => y.backward(), /Trying to backward through the graph a second time/);
    }));

  it("noGrad records no graph; enableGrad inside noGrad does", () =>
    tidy(() => {
      const x = torch.tensor([1, 2], { requiresGrad: true });
      assert.equal(torch.isGradEnabled(), true);
      const [inside, nested, mode] = torch.noGrad(() => {
        const y = x.mul(2);
        const z = torch.enableGrad(() => x.mul(3));
        return [y.requiresGrad, z.requiresGrad, torch.isGradEnabled()];
      });
      assert.equal(inside, false);
      assert.equal(nested, true);
      assert.equal(mode, false);
      assert.equal(torch.isGradEnabled(), true); // restored
      assert.throws(() =>
        torch.noGrad(() => {
          throw new Error("inside");
        }),
      );
      assert.equal(torch.isGradEnabled(), true); // restored after a throw too
      const y = torch.noGrad(() => x.mul(2));
      assert.equal(y.gradFn, null);
      assert.equal(x.mul(x).gradFn, "MulBackward0");
    }));

  it("detach cuts the graph but shares memory", () =>
    tidy(() => {
      const x = torch.tensor([1, 2], { requiresGrad: true });
      const d = x.mul(2).detach();
      assert.equal(d.requiresGrad, false);
      assert.equal(d.isLeaf, true);
      const x2 = x.detach();
      assert.ok(x2.sharesMemoryWith(x));
      // gradient flows only through the attached branch: d/dx (x * 3 + detach(x) * 5) = 3
      x.mul(3).add(x.detach().mul(5)).sum().backward();
      assert.deepEqual(x.grad!.toArray(), [3, 3]);
    }));

  it("retainGrad keeps the gradient of a non-leaf", () =>
    tidy(() => {
      const x = torch.tensor([1, 2], { requiresGrad: true });
      const h = x.mul(3);
      assert.equal(h.isLeaf, false);
      h.retainGrad();
      h.pow(2).sum().backward();
      assert.deepEqual(h.grad!.toArray(), [6, 12]); // 2h
      assert.deepEqual(x.grad!.toArray(), [18, 36]); // 2h * 3
      const h2 = x.mul(1);
      h2.sum().backward();
      assert.equal(h2.grad, null); // not retained
    }));

  it("backward of a non-scalar takes an explicit gradient, and fails without one", () =>
    tidy(() => {
      const x = torch.tensor([1, 2], { requiresGrad: true });
      x.mul(x).backward(torch.tensor([1, 10])); // vector-Jacobian product: v * 2x
      assert.deepEqual(x.grad!.toArray(), [2, 40]);
      assert.throws(
        () => x.mul(2).backward(),
        (e: unknown) => e instanceof Error && /grad can be implicitly created only for scalar outputs/.test(e.message),
      );
      // the engine is still usable after the error
      x.grad = null;
      x.sum().backward();
      assert.deepEqual(x.grad!.toArray(), [1, 1]);
    }));

  it("autograd.grad with gradOutputs, allowUnused, and several inputs", () =>
    tidy(() => {
      const a = torch.tensor([1, 2], { requiresGrad: true });
      const b = torch.tensor([3, 4], { requiresGrad: true });
      const c = torch.tensor([5], { requiresGrad: true });
      const y = a.mul(b);
      const [ga, gb] = torch.autograd.grad(y, [a, b], { gradOutputs: [torch.tensor([1, -1])], retainGraph: true });
      assert.deepEqual(ga!.toArray(), [3, -4]); // v * b
      assert.deepEqual(gb!.toArray(), [1, -2]); // v * a
      assert.throws(
        () => torch.autograd.grad(y.sum(), [a, c]),
        /differentiated Tensors appears to not have been used in the graph/,
      );
      // that failed call ran the graph and freed it: build it again
      const [ga2, gc] = torch.autograd.grad(a.mul(b).sum(), [a, c], { allowUnused: true });
      assert.deepEqual(ga2!.toArray(), [3, 4]);
      assert.equal(gc, null);
    }));

  it("autograd.backward from several outputs sums their contributions", () =>
    tidy(() => {
      const x = torch.tensor([1, 2], { requiresGrad: true });
      torch.autograd.backward([x.sum(), x.mul(x)], [null, torch.tensor([1, 1])]);
      assert.deepEqual(x.grad!.toArray(), [3, 5]); // 1 + 2x
    }));

  it("requiresGrad_, the grad setter and isLeaf", () =>
    tidy(() => {
      const x = torch.tensor([1, 2]);
      assert.equal(x.requiresGrad_(), x);
      assert.equal(x.requiresGrad, true);
      x.grad = torch.tensor([5, 5]);
      assert.deepEqual(values(x.grad!), [5, 5]);
      x.mul(2).sum().backward();
      assert.deepEqual(values(x.grad!), [7, 7]); // accumulated onto the value set
      x.grad = null;
      assert.equal(x.grad, null);
      // a gradient must match the tensor's shape and dtype
      assert.throws(() => (x.grad = torch.ones([3])), /grad: expected a gradient of shape \[2\], got \[3\]/);
      assert.throws(
        () => (x.grad = torch.ones([2], { dtype: "float64" })),
        /grad: expected a gradient of dtype float32, got float64/,
      );
      assert.equal(x.grad, null);
      x.requiresGrad = false;
      assert.equal(x.requiresGrad, false);
      assert.throws(() => x.mul(2).sum().backward(), /element 0 of tensors does not require grad/);
    }));
});
