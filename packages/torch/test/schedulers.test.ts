// Learning-rate schedules (Hugging Face transformers' get_scheduler) and the LambdaLR-style scheduler.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";
import {
  AdamW,
  LRScheduler,
  SGD,
  constantLambda,
  constantWithWarmupLambda,
  cosineWithHardRestartsLambda,
  cosineWithWarmupLambda,
  getScheduler,
  linearWithWarmupLambda,
  polynomialDecayWithWarmupLambda,
  type LrLambda,
  type SchedulerName,
} from "../src/optim/index.js";
import { assertClose, values } from "./util.js";

const SQRT2_4 = Math.SQRT2 / 4; // cos(pi/4) / 2

function at(fn: LrLambda, steps: number[]): number[] {
  return steps.map(fn);
}

function makeParams(): Tensor[] {
  return [
    [
      [0.5, -1.2, 2.0],
      [0.1, 0.0, -0.7],
    ],
    [0.3, -0.4],
  ].map((v) => torch.keep(torch.tensor(v, { dtype: "float64", requiresGrad: true })));
}

function release(ps: Tensor[], ...opts: { dispose(): void }[]): void {
  for (const o of opts) o.dispose();
  for (const p of ps) p.dispose();
}

describe("transformers' schedule multipliers", () => {
  it("constant: 1 at every step", () => {
    assert.deepEqual(at(constantLambda(), [0, 1, 5, 1000]), [1, 1, 1, 1]);
  });

  it("constant_with_warmup: step / numWarmupSteps, then 1", () => {
    // w = 4: 0/4, 1/4, 3/4, then 1
    assert.deepEqual(at(constantWithWarmupLambda(4), [0, 1, 3, 4, 100]), [0, 0.25, 0.75, 1, 1]);
    // w = 0: no warmup (max(1, 0) guards the division)
    assert.deepEqual(at(constantWithWarmupLambda(0), [0, 1]), [1, 1]);
  });

  it("linear: warmup, then (T - s) / (T - w) down to 0, never negative", () => {
    // w = 2, T = 10: s=1 -> 1/2; s=2 -> 8/8; s=6 -> 4/8; s=9 -> 1/8; s=10 -> 0; s=12 -> max(0, -2/8) = 0
    assert.deepEqual(at(linearWithWarmupLambda(2, 10), [0, 1, 2, 6, 9, 10, 12]), [0, 0.5, 1, 0.5, 0.125, 0, 0]);
  });

  it("cosine: warmup, then 0.5 (1 + cos(pi * numCycles * 2 * progress))", () => {
    // w = 2, T = 10, numCycles = 0.5: progress = (s - 2) / 8
    // s=4: progress 1/4 -> 0.5 (1 + cos(pi/4)) = 0.5 + sqrt(2)/4; s=6: 1/2 -> 0.5 (1 + cos(pi/2)) = 0.5;
    // s=10: 1 -> 0.5 (1 + cos(pi)) = 0; s=12: 5/4 -> 0.5 (1 + cos(5pi/4)) = 0.5 - sqrt(2)/4 (transformers'
    // cosine rises again after numTrainingSteps)
    assertClose(
      at(cosineWithWarmupLambda(2, 10), [0, 1, 2, 4, 6, 10, 12]),
      [0, 0.5, 1, 0.5 + SQRT2_4, 0.5, 0, 0.5 - SQRT2_4],
      1e-15,
      1e-15,
    );
    // numCycles = 1 (a full wave), w = 0, T = 4: s=1 -> 0.5 (1 + cos(pi/2)); s=2 -> 0.5 (1 + cos(pi)) = 0; s=4 -> 1
    assertClose(at(cosineWithWarmupLambda(0, 4, 1), [0, 1, 2, 3, 4]), [1, 0.5, 0, 0.5, 1], 1e-15, 1e-15);
  });

  it("cosine_with_restarts: numCycles hard restarts, then 0", () => {
    // w = 0, T = 8, numCycles = 2: x = (2 s / 8) % 1, 0.5 (1 + cos(pi x))
    // s=1: x=1/4 -> 0.5 + sqrt(2)/4; s=2: x=1/2 -> 0.5; s=4: x=0 -> 1 (restart); s=6: 0.5;
    // s=7: x=3/4 -> 0.5 - sqrt(2)/4; s>=8: progress >= 1 -> 0
    assertClose(
      at(cosineWithHardRestartsLambda(0, 8, 2), [0, 1, 2, 4, 6, 7, 8, 9]),
      [1, 0.5 + SQRT2_4, 0.5, 1, 0.5, 0.5 - SQRT2_4, 0, 0],
      1e-15,
      1e-15,
    );
    // default numCycles = 1 with warmup 2, T = 10: s=6 -> x = 1/2 -> 0.5
    assertClose(at(cosineWithHardRestartsLambda(2, 10), [1, 2, 6, 10]), [0.5, 1, 0.5, 0], 1e-15, 1e-15);
  });

  it("polynomial: ((lrInit - lrEnd) * pctRemaining ** power + lrEnd) / lrInit, lrEnd / lrInit after T", () => {
    // w = 2, T = 10, lrInit = 0.1, lrEnd = 1e-7, power = 1: s=6 -> pct 1/2 -> (0.0999999 / 2 + 1e-7) / 0.1
    // = 0.5000005; s=10 -> 1e-7 / 0.1 = 1e-6; s=11 -> lrEnd / lrInit = 1e-6
    assertClose(
      at(polynomialDecayWithWarmupLambda(2, 10, 0.1), [0, 1, 2, 6, 10, 11]),
      [0, 0.5, 1, 0.5000005, 1e-6, 1e-6],
      1e-15,
      1e-14,
    );
    // power 2: s=6 -> (0.0999999 / 4 + 1e-7) / 0.1 = 0.25000075
    assertClose(at(polynomialDecayWithWarmupLambda(2, 10, 0.1, 1e-7, 2), [6]), [0.25000075], 1e-15, 1e-14);
    // power 0.5, w = 0, T = 4, lrEnd = 0.01: s -> 0.9 sqrt(1 - s/4) + 0.1
    assertClose(
      at(polynomialDecayWithWarmupLambda(0, 4, 0.1, 0.01, 0.5), [1, 2, 3]),
      [0.9 * Math.sqrt(0.75) + 0.1, 0.9 * Math.sqrt(0.5) + 0.1, 0.55],
      1e-15,
      1e-14,
    );
  });
});

describe("LRScheduler", () => {
  it("applies step 0 at construction and scales each group's initial lr", () => {
    const ps = makeParams();
    const opt = new AdamW([{ params: [ps[0]!] }, { params: [ps[1]!], lr: 0.01 }], { lr: 0.1 });
    const sched = new LRScheduler(opt, (step) => 1 / (step + 1));
    assert.equal(sched.lastEpoch, 0);
    assert.deepEqual(sched.getLastLr(), [0.1, 0.01]);
    assert.deepEqual(
      opt.paramGroups.map((g) => g.initialLr),
      [0.1, 0.01],
    );
    sched.step();
    sched.step();
    assert.equal(sched.lastEpoch, 2);
    assert.deepEqual(sched.getLastLr(), [0.1 * (1 / 3), 0.01 * (1 / 3)]); // initialLr * lrLambda(2)
    assert.deepEqual(
      opt.paramGroups.map((g) => g.lr),
      [0.1 * (1 / 3), 0.01 * (1 / 3)],
    );
    // one function per group
    const perGroup = new LRScheduler(opt, [() => 1, () => 2]);
    assert.deepEqual(perGroup.getLastLr(), [0.1, 0.02], "base lrs are the initialLr set by the first scheduler");
    assert.throws(() => new LRScheduler(opt, [() => 1]), /LRScheduler: expected 2 lrLambdas \(one per group\), got 1/);
    release(ps, opt);
  });

  it("drives AdamW's lr like torch's LambdaLR with transformers' linear lambda (PyTorch oracle)", () => {
    /* Python torch 2.13.0:
    def linear_hf(current_step, num_warmup_steps=2, num_training_steps=5):  # transformers' lambda
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        return max(0.0, float(num_training_steps - current_step) / float(max(1, num_training_steps - num_warmup_steps)))
    def gvals(n, k, salt):
        return [(((i * 7 + k * 3 + salt) % 11) - 5) * (0.25 + i * 0.125) for i in range(n)]
    ps = [torch.tensor(v, dtype=torch.float64, requires_grad=True)
          for v in ([[0.5, -1.2, 2.0], [0.1, 0.0, -0.7]], [0.3, -0.4])]
    opt = torch.optim.AdamW([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.01}], lr=0.1, foreach=False)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_hf)
    lrs = [sched.get_last_lr()]
    for k in range(1, 6):
        for j, p in enumerate(ps):
            p.grad = torch.tensor(gvals(p.numel(), k, j), dtype=torch.float64).reshape(p.shape)
        opt.step(); sched.step(); lrs.append(sched.get_last_lr())
    print([p.detach().flatten().tolist() for p in ps], lrs)
    */
    const expectedParams = [
      [
        0.4787660672434024, -1.2436046867964865, 1.9462832650517852, 0.16714841093410773, -0.0003718803001544549,
        -0.6768614844188976,
      ],
      [0.2889975821822379, -0.3885376239304582],
    ];
    const expectedLrs = [
      [0.0, 0.0],
      [0.05, 0.005],
      [0.1, 0.01],
      [0.06666666666666667, 0.006666666666666666],
      [0.03333333333333333, 0.003333333333333333],
      [0.0, 0.0],
    ];
    const gvals = (n: number, k: number, salt: number): number[] =>
      Array.from({ length: n }, (_, i) => (((i * 7 + k * 3 + salt) % 11) - 5) * (0.25 + i * 0.125));
    const ps = makeParams();
    const opt = new AdamW([{ params: [ps[0]!] }, { params: [ps[1]!], lr: 0.01 }], { lr: 0.1 });
    const sched = getScheduler("linear", opt, { numWarmupSteps: 2, numTrainingSteps: 5 });
    const lrs = [sched.getLastLr()];
    for (let k = 1; k <= 5; k++) {
      ps.forEach((p, j) =>
        torch.scope(() => {
          p.grad = torch.tensor(gvals(p.numel, k, j), { dtype: "float64" }).reshape(p.shape);
        }),
      );
      opt.step();
      sched.step();
      lrs.push(sched.getLastLr());
    }
    assert.deepEqual(lrs, expectedLrs);
    assert.deepEqual(ps.map(values), expectedParams);
    release(ps, opt);
  });

  it("resumes from stateDict: optimizer state first, then the scheduler's", () => {
    const ps = makeParams();
    const names: SchedulerName[] = ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant_with_warmup"];
    for (const name of names) {
      const options = {
        numWarmupSteps: 3,
        numTrainingSteps: 20,
        ...(name === "cosine_with_restarts" ? { numCycles: 3 } : {}),
      };
      const straightOpt = new SGD(ps, { lr: 0.5 });
      const straight = getScheduler(name, straightOpt, options);
      const lrsStraight: number[] = [];
      for (let i = 0; i < 12; i++) {
        straight.step();
        lrsStraight.push(straight.getLastLr()[0]!);
      }

      const firstOpt = new SGD(ps, { lr: 0.5 });
      const first = getScheduler(name, firstOpt, options);
      for (let i = 0; i < 5; i++) first.step();
      const savedOpt = firstOpt.stateDict();
      const savedSched = JSON.parse(JSON.stringify(first.stateDict())) as ReturnType<LRScheduler["stateDict"]>;

      const resumedOpt = new SGD(ps, { lr: 0.5 });
      const resumed = getScheduler(name, resumedOpt, options);
      resumedOpt.loadStateDict(savedOpt);
      resumed.loadStateDict(savedSched);
      assert.deepEqual(resumed.getLastLr(), [lrsStraight[4]!], name);
      const lrsResumed = lrsStraight.slice(0, 5);
      for (let i = 5; i < 12; i++) {
        resumed.step();
        lrsResumed.push(resumed.getLastLr()[0]!);
      }
      assert.deepEqual(lrsResumed, lrsStraight, name);
      assert.equal(resumedOpt.paramGroups[0]!.lr, lrsStraight[11], name);
      assert.equal(resumed.lastEpoch, 12, name);
    }
    release(ps);
  });

  it("validates a scheduler state dict", () => {
    const ps = makeParams();
    const opt = new SGD(ps, { lr: 0.5 });
    const sched = getScheduler("linear", opt, { numWarmupSteps: 1, numTrainingSteps: 4 });
    assert.throws(
      () => sched.loadStateDict({ lastEpoch: 2, baseLrs: [0.5, 0.1], lastLr: [0.2], stepCount: 3 }),
      /LRScheduler.loadStateDict: baseLrs must hold 1 finite numbers \(one per group\), got \[0.5, 0.1\]/,
    );
    assert.throws(
      () => sched.loadStateDict({ lastEpoch: -3, baseLrs: [0.5], lastLr: [0.2], stepCount: 3 }),
      /lastEpoch must be an integer >= 0, got -3/,
    );
    release(ps);
  });

  it("a resumed schedule (lastEpoch >= 0) needs initialLr in every group", () => {
    const ps = makeParams();
    const opt = new SGD(ps, { lr: 0.5 });
    assert.throws(
      () => new LRScheduler(opt, () => 1, { lastEpoch: 4 }),
      /LRScheduler: paramGroups\[0\] has no initialLr, needed to resume with lastEpoch 4/,
    );
    opt.paramGroups[0]!.initialLr = 0.5;
    const sched = new LRScheduler(opt, (s) => s, { lastEpoch: 4 });
    assert.equal(sched.lastEpoch, 5); // like PyTorch, the constructor's step advances it
    assert.deepEqual(sched.getLastLr(), [2.5]);
    release(ps);
  });
});

describe("getScheduler", () => {
  it("builds each named schedule with transformers' defaults", () => {
    const ps = makeParams();
    const opt = new SGD(ps, { lr: 0.1 });
    const lrAt = (name: SchedulerName, step: number, extra = {}): number => {
      const sched = getScheduler(name, opt, { numWarmupSteps: 2, numTrainingSteps: 10, ...extra });
      for (let i = 0; i < step; i++) sched.step();
      return sched.getLastLr()[0]!;
    };
    // reset the lr each time: the scheduler scales initialLr, which the first scheduler fixed at 0.1
    assert.equal(lrAt("constant", 5), 0.1);
    assert.equal(lrAt("constant_with_warmup", 1), 0.05);
    assert.equal(lrAt("linear", 6), 0.05);
    assertClose(lrAt("cosine", 6), 0.05, 1e-17, 1e-15); // numCycles 0.5: progress 1/2 -> 0.5
    assertClose(lrAt("cosine_with_restarts", 6), 0.05, 1e-17, 1e-15); // numCycles 1: x = 1/2 -> 0.5
    assertClose(lrAt("cosine_with_restarts", 6, { numCycles: 2 }), 0.1, 1e-17, 1e-15); // x = 0: restart
    assertClose(lrAt("polynomial", 6), 0.05000005, 1e-17, 1e-14); // lrEnd 1e-7, power 1
    assertClose(lrAt("polynomial", 6, { lrEnd: 0.0, power: 2 }), 0.025, 1e-17, 1e-14);
    release(ps);
  });

  it("reports unknown names, missing steps and misplaced options clearly", () => {
    const ps = makeParams();
    const opt = new SGD(ps, { lr: 0.1 });
    assert.throws(
      () => getScheduler("cosine_annealing" as SchedulerName, opt),
      /getScheduler: unknown scheduler 'cosine_annealing' \(known: constant, constant_with_warmup, linear, cosine, cosine_with_restarts, polynomial\)/,
    );
    assert.throws(
      () => getScheduler("linear", opt, { numTrainingSteps: 10 }),
      /getScheduler: 'linear' requires numWarmupSteps/,
    );
    assert.throws(
      () => getScheduler("cosine", opt, { numWarmupSteps: 1 }),
      /getScheduler: 'cosine' requires numTrainingSteps/,
    );
    assert.throws(
      () => getScheduler("constant_with_warmup", opt, {}),
      /getScheduler: 'constant_with_warmup' requires numWarmupSteps/,
    );
    assert.throws(
      () => getScheduler("linear", opt, { numWarmupSteps: 1, numTrainingSteps: 10, numCycles: 2 }),
      /getScheduler: 'linear' does not take option 'numCycles'/,
    );
    assert.throws(
      () => getScheduler("linear", opt, { num_warmup_steps: 1 } as unknown as { numWarmupSteps: number }),
      /getScheduler: unknown option 'num_warmup_steps'/,
    );
    assert.throws(
      () => getScheduler("linear", opt, { numWarmupSteps: 1.5, numTrainingSteps: 10 }),
      /linear: numWarmupSteps must be an integer >= 0, got 1.5/,
    );
    assert.throws(
      () => getScheduler("polynomial", opt, { numWarmupSteps: 1, numTrainingSteps: 10, lrEnd: 0.5 }),
      /polynomial: lrEnd \(0.5\) must be smaller than the initial lr \(0.1\)/,
    );
    // constant needs nothing
    assert.deepEqual(getScheduler("constant", opt).getLastLr(), [0.1]);
    release(ps);
  });
});
