// The functional layer (torch.functional): layers, activations, losses, similarities and attention,
// checked against formulas evaluated with Math next to each assertion.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { assertClose, tidy, values } from "./util.js";

const F = torch.functional;

const f64 = (data: number[] | number[][] | number[][][]): Tensor => torch.tensor(data, { dtype: "float64" });
const long = (data: number[] | number[][]): Tensor => torch.tensor(data, { dtype: "int64" });
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const softplus = (x: number): number => Math.log1p(Math.exp(x));

/** log-softmax of [1, 2, 3]: c - log(e + e^2 + e^3). */
const LSE123 = Math.log(Math.E + Math.E ** 2 + Math.E ** 3);
const LOGP123 = [1 - LSE123, 2 - LSE123, 3 - LSE123];

describe("linear, layerNorm, embedding, dropout", () => {
  it("linear computes x W^T + b", () =>
    tidy(() => {
      const x = torch.tensor([
        [1, 2],
        [3, 4],
      ]);
      const w = torch.tensor([
        [1, 0],
        [0, 1],
        [1, 1],
      ]);
      const b = torch.tensor([0.5, 0, -1]);
      // row [1, 2]: [1, 2, 3] + b; row [3, 4]: [3, 4, 7] + b
      assert.deepEqual(F.linear(x, w, b).toArray(), [
        [1.5, 2, 2],
        [3.5, 4, 6],
      ]);
      assert.deepEqual(F.linear(x, w).toArray(), [
        [1, 2, 3],
        [3, 4, 7],
      ]);
      assert.deepEqual(F.linear(torch.ones([2, 5, 2]), w).shape, [2, 5, 3]); // leading dims kept
    }));

  it("layerNorm normalises the last dims with biased variance, then scales and shifts", () =>
    tidy(() => {
      // [1, 2, 3]: mean 2, biased var 2/3
      const x = f64([[1, 2, 3]]);
      const s = Math.sqrt(2 / 3 + 1e-5);
      assertClose(values(F.layerNorm(x, [3])), [-1 / s, 0, 1 / s], 1e-12);
      const w = f64([1, 2, 3]);
      const b = f64([0, 1, -1]);
      assertClose(values(F.layerNorm(x, [3], w, b)), [-1 / s, 1, 3 / s - 1], 1e-12);
      const s0 = Math.sqrt(2 / 3 + 0.1);
      assertClose(values(F.layerNorm(x, [3], null, null, 0.1)), [-1 / s0, 0, 1 / s0], 1e-12);
      // over the last two dims of [1, 2, 2]: [0, 2, 4, 6] has mean 3, biased var 5
      const y = f64([
        [
          [0, 2],
          [4, 6],
        ],
      ]);
      const sy = Math.sqrt(5 + 1e-5);
      assertClose(values(F.layerNorm(y, [2, 2])), [-3 / sy, -1 / sy, 1 / sy, 3 / sy], 1e-12);
    }));

  it("embedding looks up rows; paddingIdx (also negative) gets no gradient", () =>
    tidy(() => {
      const w = torch.tensor(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        { requiresGrad: true },
      );
      const idx = long([
        [2, 0],
        [2, 2],
      ]);
      const out = F.embedding(idx, w);
      assert.deepEqual(out.toArray(), [
        [
          [5, 6],
          [1, 2],
        ],
        [
          [5, 6],
          [5, 6],
        ],
      ]);
      out.sum().backward();
      // row 2 used three times, row 0 once, row 1 never
      assert.deepEqual(w.grad!.toArray(), [
        [1, 1],
        [0, 0],
        [3, 3],
      ]);
      w.grad = null;
      F.embedding(idx, w, 2).sum().backward();
      assert.deepEqual(w.grad!.toArray(), [
        [1, 1],
        [0, 0],
        [0, 0],
      ]);
      w.grad = null;
      // -1 is the last row (2), as in torch.nn.functional.embedding
      F.embedding(idx, w, -1).sum().backward();
      assert.deepEqual(w.grad!.toArray(), [
        [1, 1],
        [0, 0],
        [0, 0],
      ]);
      assert.throws(() => F.embedding(idx, w, 3), /embedding: paddingIdx must be an integer in \[-3, 3\), got 3/);
      assert.throws(() => F.embedding(idx, w, -4), /paddingIdx must be an integer in \[-3, 3\)/);
      assert.throws(() => F.embedding(long([3]), w), /index out of range in self/);
    }));

  it("dropout is the identity when p = 0 or not training; else zeroes and rescales by 1/(1-p)", () =>
    tidy(() => {
      const x = torch.ones([1000]);
      assert.ok(F.dropout(x, 0, true).equal(x));
      assert.ok(F.dropout(x, 0.5, false).equal(x));
      assert.deepEqual(values(F.dropout(torch.ones([4]), 1, true)), [0, 0, 0, 0]);
      torch.manualSeed(0);
      const d = values(F.dropout(x, 0.25, true));
      assert.ok(d.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6)); // kept values scaled by 4/3
      const dropped = d.filter((v) => v === 0).length;
      // Binomial(1000, 0.25): mean 250, sd 13.7; within 5 sd
      assert.ok(dropped > 180 && dropped < 320, `dropped ${dropped}`);
      torch.manualSeed(0);
      assert.deepEqual(values(F.dropout(x, 0.25, true)), d); // reproducible under the seed
      assert.throws(() => F.dropout(x, 1.5), /dropout: p must be in \[0, 1\], got 1.5/);
      assert.throws(() => F.dropout(x, NaN), /dropout: p must be in \[0, 1\], got NaN/);
    }));
});

describe("activations", () => {
  const xs = [-1, 0.5, 1, 2];

  it("gelu: exact (erf) form and tanh approximation", () =>
    tidy(() => {
      // x * Phi(x); oracle: torch.nn.functional.gelu(torch.tensor([-1., .5, 1., 2.], dtype=torch.float64))
      const exact = [-0.15865525393145702, 0.34573123063700656, 0.841344746068543, 1.9544997361036416];
      assertClose(values(F.gelu(f64(xs))), exact, 1e-15);
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const approx = xs.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))));
      assertClose(values(F.gelu(f64(xs), "tanh")), approx, 1e-15);
      // the exact form via erf: x * (1 + erf(x / sqrt 2)) / 2
      const viaErf = f64(xs).mul(f64(xs).div(Math.SQRT2).erf().add(1)).div(2);
      assertClose(values(F.gelu(f64(xs))), values(viaErf), 1e-15);
      assert.throws(() => F.gelu(f64(xs), "fast" as never), /approximate argument must be either none or tanh/);
    }));

  it("relu, tanh, sigmoid, logSigmoid", () =>
    tidy(() => {
      const x = f64(xs);
      assert.deepEqual(values(F.relu(x)), [0, 0.5, 1, 2]);
      assertClose(values(F.tanh(x)), xs.map(Math.tanh), 1e-15);
      assertClose(values(F.sigmoid(x)), xs.map(sigmoid), 1e-15);
      // log sigmoid(x) = -softplus(-x)
      assertClose(
        values(F.logSigmoid(x)),
        xs.map((v) => -softplus(-v)),
        1e-15,
      );
      // stable far out: logSigmoid(-100) = -100 - log(1 + e^-100) ~ -100
      assertClose(F.logSigmoid(f64([-100])).item(), -100, 1e-12);
    }));

  it("softplus with beta and threshold", () =>
    tidy(() => {
      const x = f64(xs);
      assertClose(values(F.softplus(x)), xs.map(softplus), 1e-15);
      // log(1 + exp(beta x)) / beta
      assertClose(
        values(F.softplus(x, 2)),
        xs.map((v) => softplus(2 * v) / 2),
        1e-15,
      );
      // linear once beta * x > threshold: beta 2, threshold 3 -> x = 2 gives 2 exactly (2 * 2 = 4 > 3)
      const t = values(F.softplus(x, 2, 3));
      assert.equal(t[3], 2);
      assertClose(t[2]!, softplus(2) / 2, 1e-15); // 2 * 1 = 2 <= 3: still the log form
    }));

  it("softmax and logSoftmax along a dim", () =>
    tidy(() => {
      const x = f64([
        [1, 2, 3],
        [0, 0, 0],
      ]);
      const p123 = LOGP123.map(Math.exp);
      assertClose(values(F.softmax(x, 1)), [...p123, 1 / 3, 1 / 3, 1 / 3], 1e-15);
      assertClose(values(F.logSoftmax(x, -1)), [...LOGP123, -Math.log(3), -Math.log(3), -Math.log(3)], 1e-15);
      assertClose(values(x.softmax(1)), values(F.softmax(x, 1)), 0);
      assertClose(values(x.logSoftmax(1)), values(F.logSoftmax(x, 1)), 0);
      // along dim 0: columns [1, 0], [2, 0], [3, 0]
      assertClose(values(F.softmax(x, 0)).slice(0, 3), [1, 2, 3].map(sigmoid), 1e-15);
    }));
});

describe("losses", () => {
  it("crossEntropy of class indices is -log softmax at the target, averaged", () =>
    tidy(() => {
      const logits = f64([
        [1, 2, 3],
        [1, 2, 3],
      ]);
      const target = long([2, 0]);
      // rows: -logp[2], -logp[0]
      const nll = [-LOGP123[2]!, -LOGP123[0]!];
      assertClose(F.crossEntropy(logits, target).item(), (nll[0]! + nll[1]!) / 2, 1e-12);
      assertClose(F.crossEntropy(logits, target, { reduction: "sum" }).item(), nll[0]! + nll[1]!, 1e-12);
      assertClose(values(F.crossEntropy(logits, target, { reduction: "none" })), nll, 1e-12);
    }));

  it("crossEntropy skips ignoreIndex rows in the sum and the mean's count", () =>
    tidy(() => {
      const logits = f64([
        [1, 2, 3],
        [1, 2, 3],
      ]);
      assertClose(F.crossEntropy(logits, long([2, -100])).item(), -LOGP123[2]!, 1e-12);
      assertClose(F.crossEntropy(logits, long([2, 1]), { ignoreIndex: 1 }).item(), -LOGP123[2]!, 1e-12);
      assertClose(values(F.crossEntropy(logits, long([-100, 0]), { reduction: "none" })), [0, -LOGP123[0]!], 1e-12);
      // all rows ignored: 0 / 0
      assert.ok(Number.isNaN(F.crossEntropy(logits, long([-100, -100])).item()));
    }));

  it("crossEntropy with class weights averages by the targets' weights", () =>
    tidy(() => {
      const logits = f64([
        [1, 2, 3],
        [1, 2, 3],
      ]);
      const weight = f64([1, 1, 3]);
      // (3 * -logp[2] + 1 * -logp[0]) / (3 + 1)
      const expected = (3 * -LOGP123[2]! + 1 * -LOGP123[0]!) / 4;
      assertClose(F.crossEntropy(logits, long([2, 0]), { weight }).item(), expected, 1e-12);
    }));

  it("crossEntropy with label smoothing mixes in the mean over classes", () =>
    tidy(() => {
      const logits = f64([[1, 2, 3]]);
      // (1 - eps) * -logp[target] + eps * mean_c(-logp[c]), eps 0.1, C 3
      const smooth = -(LOGP123[0]! + LOGP123[1]! + LOGP123[2]!) / 3;
      const expected = 0.9 * -LOGP123[2]! + 0.1 * smooth;
      assertClose(F.crossEntropy(logits, long([2]), { labelSmoothing: 0.1 }).item(), expected, 1e-12);
      // with weights w: per row (1 - eps) w[y] nll + eps / C * sum_c w[c] (-logp[c]), mean divides by sum w[y]
      const w = [1, 1, 3];
      const two = f64([
        [1, 2, 3],
        [1, 2, 3],
      ]);
      const wsmooth = -(w[0]! * LOGP123[0]! + w[1]! * LOGP123[1]! + w[2]! * LOGP123[2]!) * (0.1 / 3);
      const rows = 0.9 * (3 * -LOGP123[2]! + 1 * -LOGP123[0]!) + 2 * wsmooth;
      // oracle: F.cross_entropy(..., label_smoothing=0.1, weight=[1, 1, 3]) = 0.9008125066757202 (float32)
      const got = F.crossEntropy(two, long([2, 0]), { labelSmoothing: 0.1, weight: f64(w) }).item();
      assertClose(got, rows / 4, 1e-12);
      assertClose(got, 0.9008125066757202, 1e-7);
    }));

  it("crossEntropy accepts class probabilities as the target", () =>
    tidy(() => {
      const logits = f64([[1, 2, 3]]);
      // -sum_c p_c logp_c with p = [0.5, 0, 0.5]
      const expected = -(0.5 * LOGP123[0]! + 0.5 * LOGP123[2]!);
      assertClose(F.crossEntropy(logits, f64([[0.5, 0, 0.5]])).item(), expected, 1e-12);
    }));

  it("binaryCrossEntropyWithLogits, with weight and posWeight", () =>
    tidy(() => {
      const x = f64([0, 1, -2]);
      const y = f64([1, 0, 1]);
      // -(y log sigma(x) + (1 - y) log(1 - sigma(x))): softplus(-x) for y = 1, softplus(x) for y = 0
      const per = [softplus(0), softplus(1), softplus(2)];
      assertClose(values(F.binaryCrossEntropyWithLogits(x, y, { reduction: "none" })), per, 1e-12);
      assertClose(F.binaryCrossEntropyWithLogits(x, y).item(), (per[0]! + per[1]! + per[2]!) / 3, 1e-12);
      const weighted = F.binaryCrossEntropyWithLogits(x, y, { weight: f64([1, 2, 0]), reduction: "sum" });
      assertClose(weighted.item(), per[0]! + 2 * per[1]!, 1e-12);
      // posWeight p multiplies the positive term: -(p y log sigma(x) + (1 - y) log(1 - sigma(x)))
      const pos = F.binaryCrossEntropyWithLogits(x, y, { posWeight: f64([3]), reduction: "none" });
      assertClose(values(pos), [3 * per[0]!, per[1]!, 3 * per[2]!], 1e-12);
    }));

  it("klDiv with mean, sum, batchmean and logTarget", () =>
    tidy(() => {
      const logq = [
        [Math.log(0.5), Math.log(0.5)],
        [Math.log(0.25), Math.log(0.75)],
      ];
      const p = [
        [0.9, 0.1],
        [0.5, 0.5],
      ];
      // sum p (log p - log q) per element
      const terms = p.flatMap((row, i) => row.map((pi, j) => pi * (Math.log(pi) - logq[i]![j]!)));
      const total = terms.reduce((a, b) => a + b, 0);
      const input = f64(logq);
      const target = f64(p);
      assertClose(values(F.klDiv(input, target, { reduction: "none" })), terms, 1e-12);
      assertClose(F.klDiv(input, target, { reduction: "sum" }).item(), total, 1e-12);
      assertClose(F.klDiv(input, target).item(), total / 4, 1e-12); // mean over elements
      assertClose(F.klDiv(input, target, { reduction: "batchmean" }).item(), total / 2, 1e-12); // over rows
      // logTarget: the target is given as log p
      const logTarget = f64(p.map((row) => row.map(Math.log)));
      assertClose(F.klDiv(input, logTarget, { reduction: "sum", logTarget: true }).item(), total, 1e-12);
      // target 0 contributes 0 (0 log 0 = 0)
      assert.equal(F.klDiv(f64([-1]), f64([0]), { reduction: "sum" }).item(), 0);
    }));

  it("mseLoss and l1Loss with each reduction", () =>
    tidy(() => {
      const a = f64([1, 2, 3]);
      const b = f64([2, 2, 5]);
      // differences -1, 0, -2
      assert.equal(F.mseLoss(a, b).item(), 5 / 3);
      assert.equal(F.mseLoss(a, b, "sum").item(), 5);
      assert.deepEqual(values(F.mseLoss(a, b, "none")), [1, 0, 4]);
      assert.equal(F.l1Loss(a, b).item(), 1);
      assert.equal(F.l1Loss(a, b, "sum").item(), 3);
      assert.deepEqual(values(F.l1Loss(a, b, "none")), [1, 0, 2]);
      assert.throws(() => F.mseLoss(a, b, "batchmean" as never), /reduction: expected 'none', 'mean' or 'sum'/);
      assert.throws(() => F.mseLoss(a, b, "toString" as never), /got 'toString'/);
    }));
});

describe("similarities and distances", () => {
  it("cosineSimilarity along a dim", () =>
    tidy(() => {
      const a = f64([
        [1, 0],
        [3, 4],
      ]);
      const b = f64([
        [1, 1],
        [-3, -4],
      ]);
      assertClose(values(F.cosineSimilarity(a, b)), [1 / Math.SQRT2, -1], 1e-15);
      // dim 0: columns [1, 3].[1, -3] / (sqrt 10 sqrt 10) = -0.8 and [0, 4].[1, -4] / (4 sqrt 17)
      assertClose(values(F.cosineSimilarity(a, b, 0)), [-0.8, -16 / (4 * Math.sqrt(17))], 1e-15);
      // a zero vector gives 0, not NaN (eps in the denominator)
      assert.equal(F.cosineSimilarity(f64([[0, 0]]), f64([[1, 1]])).item(), 0);
    }));

  it("pairwiseDistance is ||x1 - x2 + eps||_p per row", () =>
    tidy(() => {
      const a = f64([
        [0, 0],
        [1, 1],
      ]);
      const b = f64([
        [3, 4],
        [1, 1],
      ]);
      const eps = 1e-6;
      const row0 = Math.hypot(-3 + eps, -4 + eps);
      const row1 = Math.hypot(eps, eps);
      assertClose(values(F.pairwiseDistance(a, b)), [row0, row1], 1e-12);
      assertClose(values(F.pairwiseDistance(a, b, 1)), [7 - 2 * eps, 2 * eps], 1e-12);
      assert.deepEqual(F.pairwiseDistance(a, b, 2, eps, true).shape, [2, 1]);
    }));

  it("normalize divides by the p-norm, clamped by eps", () =>
    tidy(() => {
      const x = f64([
        [3, 4],
        [0, 0],
      ]);
      assertClose(values(F.normalize(x)), [0.6, 0.8, 0, 0], 1e-15);
      assertClose(values(F.normalize(x, 1)), [3 / 7, 4 / 7, 0, 0], 1e-15);
      // dim 0: columns [3, 0] and [4, 0]
      assertClose(values(F.normalize(x, 2, 0)), [1, 1, 0, 0], 1e-15);
      // a norm below eps divides by eps instead: [1e-13, 0] / 1e-12
      assertClose(values(F.normalize(f64([[1e-13, 0]]))), [0.1, 0], 1e-15);
    }));

  it("cdist gives all pairwise p-norm distances", () =>
    tidy(() => {
      const a = f64([
        [0, 0],
        [1, 1],
      ]);
      const b = f64([
        [3, 4],
        [1, 0],
        [0, 0],
      ]);
      assertClose(values(torch.cdist(a, b)), [5, 1, 0, Math.hypot(2, 3), 1, Math.SQRT2], 1e-12);
      assert.deepEqual(values(torch.cdist(a, b, 1)), [7, 1, 0, 5, 1, 2]);
      assert.deepEqual(torch.cdist(a.unsqueeze(0), b.unsqueeze(0)).shape, [1, 2, 3]); // batched
    }));
});

describe("scaledDotProductAttention", () => {
  // q = k = I (2 x 2), v = [[1, 2], [3, 4]], d = 2: scores = I / sqrt 2
  const q = (): Tensor =>
    f64([
      [
        [1, 0],
        [0, 1],
      ],
    ]);
  const v = (): Tensor =>
    f64([
      [
        [1, 2],
        [3, 4],
      ],
    ]);
  const attend = (s: number[][], vs: number[][]): number[] =>
    s.flatMap((row) => {
      const mx = Math.max(...row);
      const e = row.map((x) => Math.exp(x - mx));
      const z = e.reduce((a, b) => a + b, 0);
      return [0, 1].map((j) => e.reduce((acc, ei, k) => acc + (ei / z) * vs[k]![j]!, 0));
    });
  const r = 1 / Math.SQRT2;
  const V = [
    [1, 2],
    [3, 4],
  ];

  it("matches softmax(q k^T / sqrt d) v without a mask", () =>
    tidy(() => {
      const expected = attend(
        [
          [r, 0],
          [0, r],
        ],
        V,
      );
      assertClose(values(F.scaledDotProductAttention(q(), q(), v())), expected, 1e-12);
    }));

  it("adds a float mask to the scores", () =>
    tidy(() => {
      const mask = f64([
        [0, 1],
        [-2, 0],
      ]);
      const expected = attend(
        [
          [r, 1],
          [-2, r],
        ],
        V,
      );
      assertClose(values(F.scaledDotProductAttention(q(), q(), v(), mask)), expected, 1e-12);
    }));

  it("keeps only positions where a boolean mask is true", () =>
    tidy(() => {
      const mask = torch.tensor([
        [true, false],
        [true, true],
      ]);
      // row 0 sees only key 0: exactly v[0]
      const expected = [1, 2, ...attend([[0, r]], V)];
      assertClose(values(F.scaledDotProductAttention(q(), q(), v(), mask)), expected, 1e-12);
    }));

  it("agrees with the same formula written with tensor ops, on random multi-head inputs", () =>
    tidy(() => {
      torch.manualSeed(1);
      const [qs, ks, vs] = [torch.randn([2, 3, 4, 8]), torch.randn([2, 3, 5, 8]), torch.randn([2, 3, 5, 6])];
      const mask = torch.randn([4, 5]);
      const manual = qs.matmul(ks.transpose(-2, -1)).div(Math.sqrt(8)).add(mask).softmax(-1).matmul(vs);
      const got = F.scaledDotProductAttention(qs, ks, vs, mask);
      assert.deepEqual(got.shape, [2, 3, 4, 6]);
      assertClose(values(got), values(manual), 1e-5, 1e-5);
    }));
});
