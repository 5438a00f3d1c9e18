// F.dropout in training mode: the mask's statistics, the scaling, the gradient, and reproducibility
// from the default generator (which the cached losses' replay relies on).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { tidy, values } from "./util.js";

const F = torch.functional;
const N = 100_000;

/** Mirrors dropout's choice: on CPU builds whose bernoulli_(p) is serial, the mask is uniform_() < 1-p. */
function usesUniformMask(): boolean {
  const { version, config } = torch.buildInfo();
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return !/USE_MKL=ON|Math Kernel Library/.test(config) || major > 2 || (major === 2 && minor >= 7);
}

describe("dropout", () => {
  for (const p of [0.1, 0.5, 0.9]) {
    it(`keeps each element with probability 1-p (p = ${p}, ${N} elements) and E[out] = x`, () =>
      tidy(() => {
        torch.manualSeed(1);
        const out = values(F.dropout(torch.ones([N]), p, true));
        const kept = out.filter((v) => v !== 0).length;
        // kept ~ Binomial(N, 1-p): sd = sqrt(N p (1-p)) (95 for p = 0.1, 158 for p = 0.5); allow 5 sd
        const sd = Math.sqrt(N * p * (1 - p));
        assert.ok(Math.abs(kept - N * (1 - p)) < 5 * sd, `kept ${kept} of ${N}, expected ${N * (1 - p)} +- ${5 * sd}`);
        // mean(out) = kept / (N (1-p)), 1 on average: sd = sqrt(p / ((1-p) N)), 0.0095 for p = 0.9
        const mean = out.reduce((a, b) => a + b, 0) / N;
        assert.ok(Math.abs(mean - 1) < 5 * Math.sqrt(p / ((1 - p) * N)), `mean ${mean}`);
      }));
  }

  it("scales the kept elements by 1/(1-p) in the input's dtype, and zeroes the others", () =>
    tidy(() => {
      const p = 0.1;
      torch.manualSeed(2);
      const x = torch.randn([1150, 8]);
      const out = values(F.dropout(x, p, true));
      const xs = values(x);
      // as aten's CPU dropout: noise = mask / float32(0.9) in float32, then x * noise, rounded to float32
      const scale = Math.fround(1 / Math.fround(1 - p));
      out.forEach((v, i) => {
        if (v !== 0) assert.equal(v, Math.fround(xs[i]! * scale), `element ${i}`);
      });
      for (const dtype of ["float64", "bfloat16"] as const) {
        const y = F.dropout(torch.ones([1000], { dtype }), 0.5, true);
        assert.equal(y.dtype, dtype);
        assert.ok(
          values(y.double()).every((v) => v === 0 || v === 2),
          `${dtype}: kept values are 1 / 0.5`,
        );
      }
    }));

  it("has gradient mask / (1-p)", () =>
    tidy(() => {
      const p = 0.25;
      torch.manualSeed(3);
      const x = torch.rand([200, 50]).add(0.5).requiresGrad_(true); // no zeros: out = 0 exactly where dropped
      const out = F.dropout(x, p, true);
      const v = torch.randn([200, 50]);
      out.mul(v).sum().backward();
      const grad = values(x.grad!);
      const vs = values(v);
      values(out).forEach((o, i) => {
        const expected = o === 0 ? 0 : Math.fround(vs[i]! * Math.fround(1 / (1 - p)));
        assert.ok(grad[i] === expected, `element ${i}: ${grad[i]} != ${expected}`); // -0 === 0
      });
    }));

  it("draws from the default generator: manualSeed and getRngState/setRngState reproduce the mask", () =>
    tidy(() => {
      const x = torch.ones([64, 384]);
      torch.manualSeed(4);
      const first = values(F.dropout(x, 0.1, true));
      const second = values(F.dropout(x, 0.1, true));
      assert.notDeepEqual(second, first, "the generator advances");
      torch.manualSeed(4);
      assert.deepEqual(values(F.dropout(x, 0.1, true)), first, "same seed, same mask");

      const state = torch.getRngState();
      const third = values(F.dropout(x, 0.1, true));
      torch.randn([7]); // other draws in between
      torch.setRngState(state);
      assert.deepEqual(values(F.dropout(x, 0.1, true)), third, "restored state, same mask");
      // what follows the restored draw is the same sequence too
      const after = values(torch.rand([5]));
      torch.setRngState(state);
      F.dropout(x, 0.1, true);
      assert.deepEqual(values(torch.rand([5])), after);

      torch.manualSeed(4);
      const forked = torch.forkRng(() => values(F.dropout(x, 0.1, true)));
      assert.deepEqual(forked, first);
      assert.deepEqual(values(F.dropout(x, 0.1, true)), first, "forkRng left the sequence alone");
    }));

  it("on this build's CPU, the mask is uniform_() < 1-p (where bernoulli_ is serial), else aten::dropout", () =>
    tidy(() => {
      const x = torch.ones([32, 12, 36, 36]);
      torch.manualSeed(5);
      const mask = values(F.dropout(x, 0.1, true)).map((v) => (v !== 0 ? 1 : 0));
      torch.manualSeed(5);
      const reference = usesUniformMask()
        ? torch.rand(x.shape).lt(0.9)
        : (torch.callOp("dropout", x, 0.1, true) as torch.Tensor);
      assert.deepEqual(mask, values(reference.ne(0)).map(Number));
    }));

  it("leaves p = 0, p = 1 and eval mode to aten::dropout (input itself; zeros)", () =>
    tidy(() => {
      const x = torch.randn([10, 10]).requiresGrad_(true);
      assert.ok(F.dropout(x, 0, true).equal(x));
      assert.ok(F.dropout(x, 0.3, false).equal(x));
      const state = torch.getRngState();
      const zeros = F.dropout(x, 1, true);
      assert.ok(values(zeros).every((v) => v === 0));
      zeros.sum().backward();
      assert.ok(
        values(x.grad!).every((v) => v === 0),
        "no gradient through p = 1",
      );
      assert.ok(torch.getRngState().equal(state), "p = 0, p = 1 and eval draw nothing");
    }));
});
