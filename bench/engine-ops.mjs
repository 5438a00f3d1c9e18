#!/usr/bin/env node
// Engine op micro-benchmarks for choosing an implementation: dropout variants and the AdamW step.
// Variants run interleaved (round r times every variant, in a rotating order) in one process, so
// that load changes on a shared machine hit them alike; each line reports the median per call.
//
//   node bench/engine-ops.mjs dropout [--rounds 15] [--p 0.1] [--threads N]
//   node bench/engine-ops.mjs adamw [--rounds 7] [--threads N] [--unfused-only]   # MiniLM-L6-sized, 22.7 M parameters
//
// Prints one JSON line per (case, variant) with the median and the minimum ms and their ratios to the
// first variant (first / this: above 1 is faster), the libtorch version and /proc/loadavg at the start
// and end. On a loaded machine the minimum is the steadier figure.
import { readFileSync } from "node:fs";
import { median, now, parseArgs, round, seconds } from "./common.mjs";

const [what, ...rest] = process.argv.slice(2);
const { flags, options } = parseArgs(rest, ["unfused-only"]);
const torch = await import("@stts/torch");
if (options.threads !== undefined) torch.setNumThreads(Number(options.threads));
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const base = { libtorch: torch.buildInfo().version, threads: torch.getNumThreads() };

/** Runs every variant `inner` times per round, `rounds` rounds, rotating the order; {median, min} seconds per call. */
function interleaved(variants, rounds, inner) {
  const names = Object.keys(variants);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) variants[n](); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length];
      const t0 = now();
      for (let i = 0; i < inner; i++) variants[name]();
      samples[name].push(seconds(t0) / inner);
    }
  }
  return Object.fromEntries(names.map((n) => [n, { median: median(samples[n]), min: Math.min(...samples[n]) }]));
}

const prefixed = (prefix, fns) => Object.fromEntries(Object.entries(fns).map(([n, f]) => [prefix + n, f]));

function report(caseName, medians, extra = {}) {
  const names = Object.keys(medians);
  const first = medians[names[0]];
  for (const n of names) {
    console.log(
      JSON.stringify({
        ...base,
        case: caseName,
        variant: n,
        ms: round(medians[n].median * 1e3, 3),
        vsFirst: round(first.median / medians[n].median, 2),
        minMs: round(medians[n].min * 1e3, 3),
        minVsFirst: round(first.min / medians[n].min, 2),
        ...extra,
      }),
    );
  }
}

if (what === "dropout") {
  const p = Number(options.p ?? 0.1);
  const q = 1 - p;
  const rounds = Number(options.rounds ?? 15);
  const call = torch.callOp;
  // Each variant maps x to dropout(x) with E[out] = x, drawing from the default generator.
  const forward = {
    // (a) the aten::dropout op (CPU: empty_like(x).bernoulli_(1-p), div_, mul)
    dropout: (x) => call("dropout", x, p, true),
    // the library's F.dropout (on CPU builds with a serial bernoulli_, variant (c) below)
    "F.dropout": (x) => torch.functional.dropout(x, p, true),
    // (b) native_dropout: (output, mask); autograd's backward is native_dropout_backward
    native_dropout: (x) => call("native_dropout", x, p, true)[0],
    // (c) float uniform noise, thresholded in place: noise = (u < 1-p) / (1-p); x * noise
    uniform_lt_: (x) =>
      torch.scope(() => {
        const noise = torch.emptyLike(x).uniform_();
        call("lt_.Scalar", noise, q);
        return x.mul(noise.div_(q));
      }),
    // (c') rand_like(x) < 1-p as a bool mask, then x * mask / (1-p)
    rand_lt_mask: (x) => torch.scope(() => x.mul(torch.randLike(x).lt(q)).div(q)),
    // (d) bernoulli_ with a tensor p (a float Bernoulli per element)
    bernoulli_tensor_p: (x) =>
      torch.scope(() => {
        const noise = torch.emptyLike(x);
        call("bernoulli_.Tensor", noise, torch.scalarTensor(q), undefined);
        return x.mul(noise.div_(q));
      }),
    // (d') aten::bernoulli.p on x's shape (the same scalar kernel as bernoulli_(float))
    bernoulli_p: (x) =>
      torch.scope(() => {
        const noise = call("bernoulli.p", torch.emptyLike(x), q, undefined);
        return x.mul(noise.div_(q));
      }),
  };
  const shapes = [
    [1150, 384],
    [1150, 1536],
    [32, 12, 36, 36],
  ];
  const load0 = loadavg();
  for (const shape of shapes) {
    const numel = shape.reduce((a, b) => a * b, 1);
    const inner = Math.max(1, Math.round(2e6 / numel));
    const x = torch.keep(torch.randn(shape).requiresGrad_(true));
    const g = torch.keep(torch.randn(shape));
    const fwd = {};
    const fwdBwd = {};
    for (const [name, f] of Object.entries(forward)) {
      fwd[name] = () => torch.scope(() => torch.noGrad(() => f(x)));
      fwdBwd[name] = () =>
        torch.scope(() => {
          f(x).backward(g);
          x.grad = null;
        });
    }
    // the random draws alone
    const draws = {
      "bernoulli_(1-p)": () => torch.scope(() => call("bernoulli_.float", torch.emptyLike(x), q, undefined)),
      "uniform_()": () => torch.scope(() => torch.emptyLike(x).uniform_()),
    };
    // forward, forward+backward and the draws alone interleave in one set
    const all = { ...prefixed("fwd ", fwd), ...prefixed("fwd+bwd ", fwdBwd), ...prefixed("draw ", draws) };
    const medians = interleaved(all, rounds, inner);
    for (const kind of ["fwd ", "fwd+bwd ", "draw "]) {
      const part = Object.fromEntries(Object.entries(medians).filter(([n]) => n.startsWith(kind)));
      report(`${kind.trim()} ${JSON.stringify(shape)}`, part, { p });
    }
    x.dispose();
    g.dispose();
  }
  console.log(JSON.stringify({ ...base, loadavgStart: load0, loadavgEnd: loadavg() }));
} else if (what === "adamw") {
  const rounds = Number(options.rounds ?? 7);
  // MiniLM-L6's parameter shapes: embeddings, 6 layers, pooler (22.7 M parameters)
  const shapes = [[30522, 384], [512, 384], [2, 384], [384], [384]];
  for (let l = 0; l < 6; l++) {
    for (let k = 0; k < 4; k++) shapes.push([384, 384], [384]); // q, k, v, attention output
    shapes.push([384], [384], [1536, 384], [1536], [384, 1536], [384], [384], [384]);
  }
  shapes.push([384, 384], [384]);
  torch.manualSeed(0);
  const params = shapes.map((s) => torch.keep(torch.randn(s).mul(0.02).requiresGrad_(true)));
  for (const p of params) p.grad = torch.keep(torch.randn(p.shape).mul(1e-3));
  const total = params.reduce((a, p) => a + p.numel, 0);
  const variants = { unfused: new torch.optim.AdamW(params, { lr: 1e-4 }) };
  // --unfused-only: for a checkout whose AdamW predates the fused option
  if (torch.hasOp("_fused_adamw_") && !flags.has("unfused-only")) {
    variants.fused = new torch.optim.AdamW(params, { lr: 1e-4, fused: true });
  }
  const steps = Object.fromEntries(Object.entries(variants).map(([n, opt]) => [n, () => opt.step()]));
  const load0 = loadavg();
  report("adamw step", interleaved(steps, rounds, 1), { parameters: total, tensors: params.length });
  console.log(JSON.stringify({ ...base, loadavgStart: load0, loadavgEnd: loadavg() }));
} else {
  console.error("usage: node bench/engine-ops.mjs dropout|adamw [--rounds N] [--threads N] [--p P]");
  process.exit(2);
}
