// Optimizers (AdamW, SGD), their state dicts, and gradient clipping, against PyTorch 2.13.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import type { DType, Tensor } from "../src/index.js";
import {
  AdamW,
  SGD,
  clipGradNorm,
  clipGradValue,
  optimizerStateFromTensors,
  optimizerStateToTensors,
  type Optimizer,
  type OptimizerStateDict,
} from "../src/optim/index.js";
import { assertClose, handleCount, values } from "./util.js";

/*
Oracle values: Python torch 2.13.0 (CPU), single-tensor path (foreach=False), produced by:

import torch, json
f64 = torch.float64
def gvals(n, k, salt):
    return [(((i * 7 + k * 3 + salt) % 11) - 5) * (0.25 + i * 0.125) for i in range(n)]
P1 = [[0.5, -1.2, 2.0], [0.1, 0.0, -0.7]]
P2 = [0.3, -0.4]
def run(make_opt, dtype=f64, steps=5, skip=None):
    ps = [torch.tensor(v, dtype=dtype, requires_grad=True) for v in (P1, P2)]
    opt = make_opt(ps)
    for k in range(1, steps + 1):
        for j, p in enumerate(ps):
            if skip and (j, k) in skip:
                p.grad = None
            else:
                p.grad = torch.tensor(gvals(p.numel(), k, j), dtype=dtype).reshape(p.shape)
        opt.step()
    return [p.detach().flatten().tolist() for p in ps]
R = {}
R["adamwDefaultsLr01"] = run(lambda ps: torch.optim.AdamW(ps, lr=0.1, foreach=False))
R["adamwGroups"] = run(lambda ps: torch.optim.AdamW([{"params": [ps[0]], "weight_decay": 0.1},
    {"params": [ps[1]], "lr": 0.05, "weight_decay": 0.0}], lr=0.1, betas=(0.8, 0.99), eps=1e-6, foreach=False))
R["adamwAmsgrad"] = run(lambda ps: torch.optim.AdamW(ps, lr=0.1, betas=(0.9, 0.5), weight_decay=0.0,
    amsgrad=True, foreach=False))
R["adamwSkip"] = run(lambda ps: torch.optim.AdamW(ps, lr=0.1, foreach=False), skip={(1, 3), (1, 5), (0, 1)})
R["adamwFloat32"] = run(lambda ps: torch.optim.AdamW(ps, lr=0.1, foreach=False), dtype=torch.float32)
R["sgdPlain"] = run(lambda ps: torch.optim.SGD(ps, lr=0.1, foreach=False))
R["sgdMomentum"] = run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01,
    foreach=False))
R["sgdNesterov"] = run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01,
    foreach=False))
def adamw_state():  # the state of P2 after the 5 steps of adamwDefaultsLr01
    ps = [torch.tensor(v, dtype=f64, requires_grad=True) for v in (P1, P2)]
    opt = torch.optim.AdamW(ps, lr=0.1, foreach=False)
    for k in range(1, 6):
        for j, p in enumerate(ps):
            p.grad = torch.tensor(gvals(p.numel(), k, j), dtype=f64).reshape(p.shape)
        opt.step()
    st = opt.state_dict()["state"][1]
    return [st["step"].item(), st["exp_avg"].tolist(), st["exp_avg_sq"].tolist()]
R["adamwState"] = adamw_state()
def clip(max_norm, norm_type, dtype=f64):  # a third parameter has no gradient
    ps = [torch.tensor(v, dtype=dtype, requires_grad=True) for v in (P1, P2, [1.0])]
    for j, p in enumerate(ps[:2]):
        p.grad = torch.tensor(gvals(p.numel(), 1, j), dtype=dtype).reshape(p.shape)
    total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
    return [total.item(), [p.grad.flatten().tolist() for p in ps[:2]]]
R["clipL2"] = clip(1.0, 2.0)
R["clipInf"] = clip(0.5, float("inf"))
R["clipL1NoClip"] = clip(100.0, 1.0)
R["clipL2Float32"] = clip(1.0, 2.0, torch.float32)
for k, v in R.items(): print(f"  {k}: {json.dumps(v)},")
*/
const ORACLE = {
  adamwDefaultsLr01: [
    [
      0.6052345828685219, -1.3568461295565484, 1.7912956225177943, 0.34516402726074163, -0.12617769085893868,
      -0.6839100846153643,
    ],
    [0.25082173936898366, -0.11916619982911039],
  ],
  adamwGroups: [
    [
      0.5727510395668056, -1.280431587809157, 1.7204183323882016, 0.32818111083508245, -0.11984811645209884,
      -0.6423905189724968,
    ],
    [0.2733902234687551, -0.27257236371537713],
  ],
  adamwAmsgrad: [
    [
      0.6091743048549432, -1.3588553785831177, 1.8133946714389682, 0.31909051889098994, -0.12270903450312332,
      -0.6972868117864419,
    ],
    [0.27831156109755095, -0.1372626495145249],
  ],
  adamwSkip: [
    [
      0.31177926356584595, -0.9974322052881076, 1.9052620473206765, 0.08890180968443277, 0.18606501323953997,
      -0.7006419702017797,
    ],
    [0.39665136167603926, -0.19160555179567576],
  ],
  adamwFloat32: [
    [
      0.6052345633506775, -1.3568462133407593, 1.7912956476211548, 0.34516406059265137, -0.12617769837379456,
      -0.6839101910591125,
    ],
    [0.2508218288421631, -0.11916623264551163],
  ],
  sgdPlain: [
    [0.55, -1.2, 1.9, 0.5375000000000001, -0.45000000000000007, -0.43750000000000006],
    [0.22500000000000003, -0.175],
  ],
  sgdMomentum: [
    [
      0.5353415395684747, -1.413751847561214, 1.8179313636733132, 0.5774423115574048, -0.3549544431603006,
      -0.45806375813193423,
    ],
    [0.18374069316818892, -0.004856329018558088],
  ],
  sgdNesterov: [
    [
      0.548919719547968, -1.3720307571266663, 1.7740918349392476, 0.7568147588724271, -0.5181363784138674,
      -0.3252675263703797,
    ],
    [0.14065603678186955, 0.06921627776417373],
  ],
  adamwState: [5.0, [0.0537975, -0.16231874999999996], [0.0024328151870000644, 0.008700491657253524]],
  clipL2: [
    4.484347778663024,
    [
      [-0.11149890980359278, 0.41812091176347294, 0.11149890980359278, -0.41812091176347294, 0.6689934588215567, 0.0],
      [-0.05574945490179639, -0.41812091176347294],
    ],
  ],
  clipInf: [
    3.0,
    [
      [-0.08333330555556481, 0.31249989583336807, 0.08333330555556481, -0.31249989583336807, 0.4999998333333889, 0.0],
      [-0.041666652777782406, -0.31249989583336807],
    ],
  ],
  clipL1NoClip: [
    9.875,
    [
      [-0.5, 1.875, 0.5, -1.875, 3.0, 0.0],
      [-0.25, -1.875],
    ],
  ],
  clipL2Float32: [
    4.484347820281982,
    [
      [-0.11149890720844269, 0.4181208908557892, 0.11149890720844269, -0.4181208908557892, 0.6689934730529785, 0.0],
      [-0.055749453604221344, -0.4181208908557892],
    ],
  ],
} as const;

const P1 = [
  [0.5, -1.2, 2.0],
  [0.1, 0.0, -0.7],
];
const P2 = [0.3, -0.4];

/** The fixed gradient of parameter `salt` at step k (multiples of 1/8: exact in float32 and float64). */
function gvals(n: number, k: number, salt: number): number[] {
  return Array.from({ length: n }, (_, i) => (((i * 7 + k * 3 + salt) % 11) - 5) * (0.25 + i * 0.125));
}

function makeParams(dtype: DType = "float64", data: (number[] | number[][])[] = [P1, P2]): Tensor[] {
  return data.map((v) => torch.keep(torch.tensor(v, { dtype, requiresGrad: true })));
}

/** Sets the oracle gradients of steps first..last and steps; `skip` holds "param,step" pairs left without a gradient. */
function runSteps(opt: Optimizer, ps: Tensor[], first: number, last: number, skip = new Set<string>()): void {
  for (let k = first; k <= last; k++) {
    ps.forEach((p, j) => {
      torch.scope(() => {
        p.grad = skip.has(`${j},${k}`) ? null : torch.tensor(gvals(p.numel, k, j), { dtype: p.dtype }).reshape(p.shape);
      });
    });
    opt.step();
  }
}

function run(make: (ps: Tensor[]) => Optimizer, dtype: DType = "float64", skip = new Set<string>()): number[][] {
  const ps = makeParams(dtype);
  const opt = make(ps);
  runSteps(opt, ps, 1, 5, skip);
  const out = ps.map(values);
  release(opt, ps);
  return out;
}

/** Detached copies of parameters, as fresh leaves (as when a model is rebuilt from a checkpoint). */
function copyParams(ps: Tensor[]): Tensor[] {
  return torch.scope(() => ps.map((p) => torch.keep(p.detach().clone().requiresGrad_(true))));
}

function release(opt: Optimizer | null, ps: Tensor[]): void {
  opt?.dispose();
  for (const p of ps) p.dispose();
}

/**
 * Bit-for-bit equality with PyTorch (float64). It holds because the update performs PyTorch's
 * operations in PyTorch's order, and this libtorch's kernels (sqrt included) are IEEE-exact.
 */
function assertBitEqual(actual: number[][], expected: readonly (readonly number[])[], what: string): void {
  assert.deepEqual(actual, expected, `${what}: not bit-identical to PyTorch`);
}

describe("AdamW", () => {
  it("matches PyTorch over 5 steps (lr 0.1, default betas/eps/weightDecay)", () => {
    assertBitEqual(
      run((ps) => new AdamW(ps, { lr: 0.1 })),
      ORACLE.adamwDefaultsLr01,
      "AdamW",
    );
  });

  it("applies per-group lr and weight decay (bias excluded from decay)", () => {
    const got = run(
      (ps) =>
        new AdamW(
          [
            { params: [ps[0]!], weightDecay: 0.1 },
            { params: [ps[1]!], lr: 0.05, weightDecay: 0 },
          ],
          { lr: 0.1, betas: [0.8, 0.99], eps: 1e-6 },
        ),
    );
    assertBitEqual(got, ORACLE.adamwGroups, "AdamW groups");
  });

  it("matches PyTorch with amsgrad", () => {
    const got = run((ps) => new AdamW(ps, { lr: 0.1, betas: [0.9, 0.5], weightDecay: 0, amsgrad: true }));
    assertBitEqual(got, ORACLE.adamwAmsgrad, "AdamW amsgrad");
  });

  it("skips parameters whose grad is null (their step count does not advance)", () => {
    // param 0 has no gradient at step 1, param 1 none at steps 3 and 5
    const got = run((ps) => new AdamW(ps, { lr: 0.1 }), "float64", new Set(["0,1", "1,3", "1,5"]));
    assertBitEqual(got, ORACLE.adamwSkip, "AdamW with null grads");
    const ps = makeParams();
    const opt = new AdamW(ps, { lr: 0.1 });
    runSteps(opt, ps, 1, 2, new Set(["1,1", "1,2"]));
    assert.equal(opt.state.get(ps[0]!)?.step, 2);
    assert.equal(opt.state.has(ps[1]!), false, "no state for a parameter that never had a gradient");
    assert.deepEqual(values(ps[1]!), P2, "a parameter without gradient is not decayed either");
    release(opt, ps);
  });

  it("matches PyTorch in float32 to one float32 ulp", () => {
    // Python torch's CPU wheel computes sqrt with MKL's vector math, which is not correctly rounded
    // (e.g. sqrt(float32 0.002435250673443079) = 0.04934826120734215 there, 0.04934825748205185 correctly
    // rounded, as this libtorch gives): one element of the oracle differs by one float32 ulp for that reason.
    const got = run((ps) => new AdamW(ps, { lr: 0.1 }), "float32");
    assertClose(got, ORACLE.adamwFloat32, 0, 2 ** -23);
    assert.deepEqual(got[0], ORACLE.adamwFloat32[0], "the 2x3 parameter is bit-identical");
  });

  it("keeps PyTorch's state: step, expAvg, expAvgSq", () => {
    const ps = makeParams();
    const opt = new AdamW(ps, { lr: 0.1 });
    runSteps(opt, ps, 1, 5);
    const dict = opt.stateDict();
    assert.deepEqual([...dict.state.keys()], [0, 1]);
    const entry = dict.state.get(1)!;
    assert.deepEqual(Object.keys(entry).sort(), ["expAvg", "expAvgSq", "step"]);
    assert.equal(entry.step, ORACLE.adamwState[0]);
    assert.deepEqual(values(entry.expAvg as Tensor), ORACLE.adamwState[1]);
    assert.deepEqual(values(entry.expAvgSq as Tensor), ORACLE.adamwState[2]);
    assert.deepEqual(dict.paramGroups, [
      { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, amsgrad: false, fused: false, params: [0, 1] },
    ]);
    release(opt, ps);
  });

  it("validates its options, naming the option", () => {
    const ps = makeParams();
    assert.throws(() => new AdamW(ps, { lr: -1 }), /AdamW: lr must be a finite number >= 0, got -1/);
    assert.throws(
      () => new AdamW(ps, { betas: [0.9, 1] }),
      /AdamW: betas\[1\] must be a finite number in \[0, 1\), got 1/,
    );
    assert.throws(() => new AdamW(ps, { eps: Number.NaN }), /AdamW: eps must be a finite number >= 0, got NaN/);
    assert.throws(() => new AdamW(ps, { weightDecay: -0.1 }), /AdamW: weightDecay must be/);
    assert.throws(() => new AdamW(ps, { fused: 1 as unknown as boolean }), /AdamW: fused must be a boolean, got 1/);
    assert.throws(
      () => new AdamW(ps, { betas: [0.9] as unknown as [number, number] }),
      /AdamW: betas must be a pair \[beta1, beta2\], got \[0\.9\]/,
    );
    assert.throws(
      () => new AdamW(ps, { weight_decay: 0.1 } as unknown as { lr: number }),
      /AdamW: unknown option 'weight_decay' \(options: lr, betas, eps, weightDecay, amsgrad, fused\)/,
    );
    assert.throws(
      () => new AdamW([{ params: [ps[0]!], lr: -0.5 }]),
      /AdamW: parameter group 0: lr must be a finite number >= 0, got -0.5/,
    );
    assert.throws(() => new AdamW([]), /AdamW: params is an empty list/);
    assert.throws(
      () => new AdamW([{ params: [ps[0]!] }, { params: [ps[0]!] }]),
      /parameter group 1: some parameters already belong to another parameter group/,
    );
    const nonLeaf = torch.scope(() => ps[0]!.mul(2));
    assert.throws(() => new AdamW([nonLeaf]), /params\[0\] is not a leaf tensor/);
    nonLeaf.dispose();
    const ints = torch.tensor([1, 2], { dtype: "int64" });
    assert.throws(() => new AdamW([ints]), /params\[0\] has dtype int64, expected a float dtype/);
    ints.dispose();
    release(null, ps);
  });
});

/*
Oracle values for fused: true: Python torch 2.13.0 (CPU), torch.optim.AdamW(..., fused=True), with gvals, P1, P2
and run() as in the oracle above (these 6- and 2-element tensors take the kernel's scalar loop):
R["adamwFused"] = run(lambda ps: torch.optim.AdamW(ps, lr=0.1, fused=True))
R["adamwFusedFloat32"] = run(lambda ps: torch.optim.AdamW(ps, lr=0.1, fused=True), dtype=torch.float32)
R["adamwFusedGroupsAmsgrad"] = run(lambda ps: torch.optim.AdamW([{"params": [ps[0]], "weight_decay": 0.1},
    {"params": [ps[1]], "lr": 0.05, "weight_decay": 0.0}], lr=0.1, betas=(0.8, 0.99), eps=1e-6, amsgrad=True,
    fused=True), skip={(1, 3)})
*/
const FUSED_ORACLE = {
  adamwFused: [
    [
      0.6052345828685219, -1.3568461295565484, 1.7912956225177943, 0.34516402726074163, -0.12617769085893868,
      -0.6839100846153643,
    ],
    [0.25082173936898366, -0.11916619982911039],
  ],
  adamwFusedFloat32: [
    [
      0.6052345633506775, -1.3568462133407593, 1.7912956476211548, 0.34516406059265137, -0.12617769837379456,
      -0.6839101910591125,
    ],
    [0.2508217990398407, -0.11916621029376984],
  ],
  adamwFusedGroupsAmsgrad: [
    [
      0.5727510395668056, -1.280383563542054, 1.7204183323882016, 0.32787463856426735, -0.11984811645209884,
      -0.6423905189724968,
    ],
    [0.362941851688314, -0.2817770988898407],
  ],
} as const;

describe("AdamW fused", () => {
  const hasFused = torch.hasOp("_fused_adamw_");
  const needsFused = hasFused ? false : `this libtorch (${torch.buildInfo().version}) has no aten::_fused_adamw_`;

  it(
    "matches PyTorch's fused=True bit for bit (float64, float32, groups with amsgrad and a missing grad)",
    {
      skip: needsFused,
    },
    () => {
      assertBitEqual(
        run((ps) => new AdamW(ps, { lr: 0.1, fused: true })),
        FUSED_ORACLE.adamwFused,
        "fused AdamW",
      );
      assertBitEqual(
        run((ps) => new AdamW(ps, { lr: 0.1, fused: true }), "float32"),
        FUSED_ORACLE.adamwFusedFloat32,
        "fused AdamW float32",
      );
      const groups = run(
        (ps) =>
          new AdamW(
            [
              { params: [ps[0]!], weightDecay: 0.1 },
              { params: [ps[1]!], lr: 0.05, weightDecay: 0 },
            ],
            { lr: 0.1, betas: [0.8, 0.99], eps: 1e-6, amsgrad: true, fused: true },
          ),
        "float64",
        new Set(["1,3"]),
      );
      assertBitEqual(groups, FUSED_ORACLE.adamwFusedGroupsAmsgrad, "fused AdamW groups, amsgrad");
    },
  );

  it(
    "agrees with the single-tensor path to 1e-6 in float32 over 5 steps with weight decay",
    { skip: needsFused },
    () => {
      // 3000 elements take the kernel's vector loop; 7 its scalar tail
      const shapes = [[3, 1000], [7]];
      const make = () => {
        torch.manualSeed(0);
        return shapes.map((s) => torch.keep(torch.randn(s).requiresGrad_(true)));
      };
      const [plain, fused] = [make(), make()];
      const options = { lr: 0.01, weightDecay: 0.1, betas: [0.9, 0.99] as [number, number] };
      const plainOpt = new AdamW(plain, options);
      const fusedOpt = new AdamW(fused, { ...options, fused: true });
      for (let k = 0; k < 5; k++) {
        torch.scope(() => {
          torch.manualSeed(100 + k);
          shapes.forEach((s, i) => {
            const g = torch.randn(s);
            plain[i]!.grad = g;
            fused[i]!.grad = g;
          });
        });
        plainOpt.step();
        fusedOpt.step();
      }
      // |fused - plain| <= 1e-6 + 1e-6 |plain|: a few float32 ulps of the update
      plain.forEach((p, i) => assertClose(values(fused[i]!), values(p), 1e-6, 1e-6, `parameter ${i}`));
      assert.equal(fusedOpt.state.get(fused[0]!)?.step, 5);
      release(plainOpt, plain);
      release(fusedOpt, fused);
    },
  );

  it(
    "keeps the single-tensor state layout: state dicts move between fused and unfused optimizers",
    {
      skip: needsFused,
    },
    () => {
      const ps = makeParams("float32");
      const fused = new AdamW(ps, { lr: 0.1, fused: true });
      runSteps(fused, ps, 1, 3);
      const dict = fused.stateDict();
      assert.deepEqual(Object.keys(dict.state.get(0)!).sort(), ["expAvg", "expAvgSq", "step"]);
      assert.equal(dict.state.get(0)!.step, 3);
      const copies = copyParams(ps);
      const plain = new AdamW(copies, { lr: 0.1 });
      plain.loadStateDict(dict);
      assert.equal(plain.paramGroups[0]!.fused, true, "the group option travels with the state dict");
      plain.paramGroups[0]!.fused = false;
      runSteps(fused, ps, 4, 5);
      runSteps(plain, copies, 4, 5);
      copies.forEach((p, i) => assertClose(values(p), values(ps[i]!), 1e-6, 1e-6, `parameter ${i}`));
      assertClose(
        run((qs) => new AdamW(qs, { lr: 0.1 }), "float32"),
        ps.map(values),
        1e-6,
        1e-6,
      );
      release(fused, ps);
      release(plain, copies);
    },
  );

  it("updates a non-contiguous parameter through the single-tensor path", { skip: needsFused }, () => {
    const make = () => torch.scope(() => torch.keep(torch.tensor(P1).t().detach().requiresGrad_(true))); // [3, 2], strides [1, 3]
    const [a, b] = [make(), make()];
    const plainOpt = new AdamW([a], { lr: 0.1 });
    const fusedOpt = new AdamW([b], { lr: 0.1, fused: true });
    for (let k = 1; k <= 3; k++) {
      torch.scope(() => {
        const g = torch.tensor(gvals(6, k, 0)).reshape([3, 2]);
        a.grad = g;
        b.grad = g;
      });
      plainOpt.step();
      fusedOpt.step();
    }
    assert.deepEqual(values(b), values(a));
    release(plainOpt, [a]);
    release(fusedOpt, [b]);
  });

  it(
    "refuses fused: true on a libtorch without aten::_fused_adamw_, naming the op and the version",
    {
      skip: hasFused ? "this libtorch has aten::_fused_adamw_" : false,
    },
    () => {
      const ps = makeParams();
      const version = torch.buildInfo().version.replace(/\./g, "\\.");
      assert.throws(
        () => new AdamW(ps, { fused: true }),
        new RegExp(
          `AdamW: fused: true needs aten::_fused_adamw_ with its CPU kernel \\(libtorch 2\\.4 or newer\\), which this libtorch ${version} lacks`,
        ),
      );
      assert.throws(() => new AdamW([{ params: ps, fused: true }]), /AdamW: parameter group 0: fused: true needs/);
      release(null, ps);
    },
  );
});

describe("SGD", () => {
  it("matches PyTorch: plain SGD", () => {
    assertBitEqual(
      run((ps) => new SGD(ps, { lr: 0.1 })),
      ORACLE.sgdPlain,
      "SGD",
    );
  });

  it("matches PyTorch: momentum, dampening and weight decay", () => {
    const got = run((ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }));
    assertBitEqual(got, ORACLE.sgdMomentum, "SGD momentum");
  });

  it("matches PyTorch: Nesterov momentum with weight decay", () => {
    const got = run((ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }));
    assertBitEqual(got, ORACLE.sgdNesterov, "SGD nesterov");
  });

  it("keeps a momentum buffer only when momentum is non-zero", () => {
    const ps = makeParams();
    const plain = new SGD(ps, { lr: 0.1 });
    runSteps(plain, ps, 1, 1);
    assert.equal(plain.stateDict().state.size, 0);
    const heavy = new SGD(ps, { lr: 0.1, momentum: 0.5 });
    runSteps(heavy, ps, 1, 1);
    // first step: the buffer is the gradient itself (a copy)
    assert.deepEqual(values(heavy.stateDict().state.get(1)!.momentumBuffer as Tensor), gvals(2, 1, 1));
    heavy.dispose();
    release(plain, ps);
  });

  it("validates its options, naming the option", () => {
    const ps = makeParams();
    assert.throws(() => new SGD(ps, {} as { lr: number }), /SGD: lr is required/);
    assert.throws(() => new SGD(ps, { lr: 0.1, momentum: -1 }), /SGD: momentum must be a finite number >= 0, got -1/);
    assert.throws(
      () => new SGD(ps, { lr: 0.1, nesterov: true }),
      /SGD: nesterov requires momentum > 0 and dampening 0, got momentum 0 and dampening 0/,
    );
    assert.throws(
      () => new SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }),
      /nesterov requires momentum > 0 and dampening 0/,
    );
    assert.throws(
      () => new SGD(ps, { lr: 0.1, nesterov: 1 as unknown as boolean }),
      /SGD: nesterov must be a boolean, got 1/,
    );
    release(null, ps);
  });
});

describe("zeroGrad", () => {
  it("sets gradients to null by default, or zeroes them in place", () => {
    const ps = makeParams();
    const opt = new SGD(ps, { lr: 0.1 });
    runSteps(opt, ps, 1, 1);
    const before = torch.scope(() => ps[0]!.grad !== null);
    assert.ok(before);
    opt.zeroGrad(false);
    torch.scope(() => {
      assert.deepEqual(values(ps[0]!.grad!), [0, 0, 0, 0, 0, 0]);
      assert.deepEqual(values(ps[1]!.grad!), [0, 0]);
    });
    opt.zeroGrad();
    assert.equal(ps[0]!.grad, null);
    assert.equal(ps[1]!.grad, null);
    release(opt, ps);
  });
});

describe("state dicts", () => {
  const makers: [string, (ps: Tensor[]) => Optimizer][] = [
    [
      "AdamW (two groups, amsgrad)",
      (ps) =>
        new AdamW(
          [
            { params: [ps[0]!], weightDecay: 0.1 },
            { params: [ps[1]!], lr: 0.05, weightDecay: 0 },
          ],
          { lr: 0.1, amsgrad: true },
        ),
    ],
    ["SGD (Nesterov)", (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
  ];

  for (const [name, make] of makers) {
    it(`${name}: resuming from a state dict continues bit for bit`, () => {
      const baseline = handleCount();
      // 6 steps straight
      const straight = makeParams();
      const opt1 = make(straight);
      runSteps(opt1, straight, 1, 6);
      const expected = straight.map(values);

      // 3 steps, state dict, a new optimizer over copies of the parameters, 3 more steps
      const first = makeParams();
      const opt2 = make(first);
      runSteps(opt2, first, 1, 3);
      const dict = opt2.stateDict();
      const copies = copyParams(first);
      const opt3 = make(copies);
      opt3.loadStateDict(dict);
      release(opt2, first); // the loaded state must not depend on the original optimizer's tensors
      runSteps(opt3, copies, 4, 6);
      assert.deepEqual(copies.map(values), expected);

      // the same through named tensors + JSON (as a trainer saves it with safetensors)
      const again = makeParams();
      const opt4 = make(again);
      runSteps(opt4, again, 1, 3);
      const { tensors, meta } = optimizerStateToTensors(opt4.stateDict());
      const json = JSON.parse(JSON.stringify(meta)) as unknown;
      const saved: Record<string, Tensor> = {};
      for (const [key, t] of Object.entries(tensors)) saved[key] = t.clone(); // as if read back from a file
      const copies2 = copyParams(again);
      const opt5 = make(copies2);
      opt5.loadStateDict(optimizerStateFromTensors(saved, json));
      for (const t of Object.values(saved)) t.dispose();
      release(opt4, again);
      runSteps(opt5, copies2, 4, 6);
      assert.deepEqual(copies2.map(values), expected);

      release(opt1, straight);
      release(opt3, copies);
      release(opt5, copies2);
      assert.equal(handleCount(), baseline, "no leaked tensor handles");
    });
  }

  it("flattens AdamW state into named tensors and JSON", () => {
    const ps = makeParams();
    const opt = new AdamW(ps, { lr: 0.1 });
    runSteps(opt, ps, 1, 2, new Set(["0,1", "0,2"]));
    const { tensors, meta } = optimizerStateToTensors(opt.stateDict());
    assert.deepEqual(Object.keys(tensors).sort(), ["state.1.expAvg", "state.1.expAvgSq"]);
    assert.deepEqual(meta, {
      format: "stts-optimizer-state",
      version: 1,
      state: { "1": { step: 2 } },
      paramGroups: [
        { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, amsgrad: false, fused: false, params: [0, 1] },
      ],
    });
    assert.throws(
      () => optimizerStateFromTensors({ "state.1.expAvg": tensors["state.1.expAvg"]!, bogus: ps[0]! }, meta),
      /optimizerStateFromTensors: tensor name 'bogus' is not of the form state.<index>.<key>/,
    );
    assert.throws(() => optimizerStateFromTensors({}, { format: "x" }), /meta.format\/version must be/);
    release(opt, ps);
  });

  it("restores group options (lr, weightDecay, initialLr) from the state dict", () => {
    const ps = makeParams();
    const opt = new AdamW(ps, { lr: 0.1 });
    runSteps(opt, ps, 1, 1);
    opt.paramGroups[0]!.lr = 0.025;
    opt.paramGroups[0]!.initialLr = 0.1;
    const other = new AdamW(ps, { lr: 0.5 });
    other.loadStateDict(opt.stateDict());
    assert.equal(other.paramGroups[0]!.lr, 0.025);
    assert.equal(other.paramGroups[0]!.initialLr, 0.1);
    assert.equal(other.paramGroups[0]!.params[1], ps[1]);
    other.dispose();
    release(opt, ps);
  });

  it("validates a state dict before changing anything, with clear errors", () => {
    const ps = makeParams();
    const opt = new AdamW(ps, { lr: 0.1 });
    runSteps(opt, ps, 1, 1);
    const good = opt.stateDict();
    const target = new AdamW(ps, { lr: 0.1 });
    const clone = (d: OptimizerStateDict): OptimizerStateDict => ({
      state: new Map([...d.state].map(([k, v]) => [k, { ...v }])),
      paramGroups: d.paramGroups.map((g) => ({ ...g, params: [...g.params] })),
    });

    const twoGroups = clone(good);
    twoGroups.paramGroups.push({ ...twoGroups.paramGroups[0]!, params: [] });
    assert.throws(
      () => target.loadStateDict(twoGroups),
      /AdamW.loadStateDict: the state dict has 2 parameter groups, this optimizer has 1/,
    );

    const shortGroup = clone(good);
    shortGroup.paramGroups[0]!.params = [0];
    assert.throws(
      () => target.loadStateDict(shortGroup),
      /AdamW.loadStateDict: paramGroups\[0\] has 1 parameters, this optimizer's group 0 has 2/,
    );

    const wrongShape = clone(good);
    const bad = torch.zeros([3], { dtype: "float64" });
    wrongShape.state.get(1)!.expAvg = bad;
    assert.throws(
      () => target.loadStateDict(wrongShape),
      /AdamW.loadStateDict: state\[1\].expAvg has shape \[3\], its parameter has shape \[2\]/,
    );
    bad.dispose();

    const missing = clone(good);
    delete missing.state.get(0)!.expAvgSq;
    assert.throws(() => target.loadStateDict(missing), /state\[0\]: missing 'expAvgSq'/);

    const unknownKey = clone(good);
    unknownKey.state.get(0)!.momentumBuffer = unknownKey.state.get(0)!.expAvg!;
    assert.throws(() => target.loadStateDict(unknownKey), /state\[0\]: unknown key 'momentumBuffer'/);

    const badStep = clone(good);
    badStep.state.get(0)!.step = -1;
    assert.throws(() => target.loadStateDict(badStep), /state\[0\].step is -1, expected a non-negative number/);

    const orphan = clone(good);
    orphan.state.set(7, { ...good.state.get(0)! });
    assert.throws(() => target.loadStateDict(orphan), /state has an entry for parameter 7, which no group lists/);

    const badOption = clone(good);
    badOption.paramGroups[0]!.betas = [0.9, 2];
    assert.throws(
      () => target.loadStateDict(badOption),
      /paramGroups\[0\]: betas\[1\] must be a finite number in \[0, 1\)/,
    );

    const amsgrad = clone(good);
    amsgrad.paramGroups[0]!.amsgrad = true;
    assert.throws(() => target.loadStateDict(amsgrad), /state\[0\]: missing 'maxExpAvgSq'/);

    const sgd = new SGD(ps, { lr: 0.1, momentum: 0.9 });
    assert.throws(() => sgd.loadStateDict(good), /SGD.loadStateDict: paramGroups\[0\]: unknown option 'betas'/);

    // nothing changed after the failures
    assert.equal(target.state.size, 0);
    assert.equal(target.paramGroups[0]!.lr, 0.1);
    target.loadStateDict(good);
    assert.equal(target.state.size, 2);
    sgd.dispose();
    target.dispose();
    release(opt, ps);
  });

  it("frees every temporary: live tensor count returns to its baseline", () => {
    const baseline = handleCount();
    const ps = makeParams();
    const adamw = new AdamW(ps, { lr: 0.1, amsgrad: true });
    const sgd = new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.1 });
    runSteps(adamw, ps, 1, 3);
    // parameters + their gradients' handles are not counted (grads are read as new handles and freed)
    assert.equal(handleCount(), baseline + 2 + 2 * 3, "params + AdamW's 3 state tensors per param");
    runSteps(sgd, ps, 1, 3);
    assert.equal(handleCount(), baseline + 2 + 2 * 3 + 2, "+ SGD's momentum buffers");
    clipGradNorm(ps, 0.5);
    clipGradValue(ps, 0.1);
    adamw.zeroGrad(false);
    adamw.zeroGrad();
    assert.equal(handleCount(), baseline + 2 + 2 * 3 + 2);
    sgd.dispose();
    release(adamw, ps);
    assert.equal(handleCount(), baseline);
  });
});

describe("clipGradNorm", () => {
  function clip(maxNorm: number, normType: number | "inf", dtype: DType = "float64"): [number, number[][]] {
    const ps = makeParams(dtype, [P1, P2, [1.0]]); // the third has no gradient
    ps.slice(0, 2).forEach((p, j) => {
      torch.scope(() => {
        p.grad = torch.tensor(gvals(p.numel, 1, j), { dtype }).reshape(p.shape);
      });
    });
    const total = clipGradNorm(ps, maxNorm, normType);
    const grads = torch.scope(() => ps.slice(0, 2).map((p) => values(p.grad!)));
    release(null, ps);
    return [total, grads];
  }

  it("matches torch.nn.utils.clip_grad_norm_ (L2): total norm and clipped gradients", () => {
    assert.deepEqual(clip(1.0, 2), ORACLE.clipL2);
  });

  it("supports the infinity norm", () => {
    assert.deepEqual(clip(0.5, Infinity), ORACLE.clipInf);
    assert.deepEqual(clip(0.5, "inf"), ORACLE.clipInf);
  });

  it("leaves gradients unchanged when the norm is below maxNorm (L1)", () => {
    // L1 of all gradient elements: 0.5+1.875+0.5+1.875+3+0 + 0.25+1.875 = 9.875
    assert.deepEqual(clip(100, 1), ORACLE.clipL1NoClip);
  });

  it("matches PyTorch in float32", () => {
    assert.deepEqual(clip(1.0, 2, "float32"), ORACLE.clipL2Float32);
  });

  it("returns 0 without gradients, and can refuse a non-finite norm", () => {
    const ps = makeParams();
    assert.equal(clipGradNorm(ps, 1.0), 0);
    torch.scope(() => {
      ps[0]!.grad = torch.tensor(
        [
          [1, Number.POSITIVE_INFINITY, 0],
          [0, 0, 0],
        ],
        { dtype: "float64" },
      );
    });
    assert.throws(
      () => clipGradNorm(ps, 1.0, 2, { errorIfNonfinite: true }),
      /clipGradNorm: the total norm of order 2 for gradients from params is non-finite/,
    );
    assert.equal(clipGradNorm(ps, 1.0), Number.POSITIVE_INFINITY);
    assert.throws(() => clipGradNorm(ps, -1), /clipGradNorm: maxNorm must be a number >= 0, got -1/);
    release(null, ps);
  });
});

describe("clipGradValue", () => {
  it("clamps every gradient to [-clipValue, clipValue]", () => {
    const ps = makeParams();
    torch.scope(() => {
      ps[0]!.grad = torch.tensor(gvals(6, 1, 0), { dtype: "float64" }).reshape([2, 3]);
    });
    clipGradValue(ps, 1.0);
    // gvals(6, 1, 0) = [-0.5, 1.875, 0.5, -1.875, 3, 0]
    torch.scope(() => assert.deepEqual(values(ps[0]!.grad!), [-0.5, 1, 0.5, -1, 1, 0]));
    assert.equal(ps[1]!.grad, null);
    assert.throws(() => clipGradValue(ps, Number.NaN), /clipGradValue: clipValue must be a number >= 0, got NaN/);
    release(null, ps);
  });
});
