#!/usr/bin/env node
// Engine micro-benchmarks: per-op overhead, matmul GFLOPS, and a small MLP training step.
// Prints one JSON line per measurement.
//
//   node bench/engine.mjs [--threads N] [--quick]
//   node bench/engine.mjs --sweep        # threads x OMP_WAIT_POLICY, each in a fresh process
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};

if (flag("--sweep")) {
  const self = fileURLToPath(import.meta.url);
  for (const policy of ["passive", "active", ""]) {
    for (const threads of ["1", "2"]) {
      const env = { ...process.env, OMP_WAIT_POLICY: policy };
      if (policy === "") delete env.OMP_WAIT_POLICY;
      // an empty OMP_WAIT_POLICY would be replaced by our default: mark "unset" explicitly
      const childArgs = [self, "--threads", threads, ...(flag("--quick") ? ["--quick"] : [])];
      const r = spawnSync(process.execPath, childArgs, {
        env: policy === "" ? { ...env, STTS_BENCH_UNSET_WAIT_POLICY: "1" } : env,
        encoding: "utf8",
      });
      process.stdout.write(r.stdout);
      if (r.status !== 0) process.stderr.write(r.stderr);
    }
  }
  process.exit(0);
}

if (process.env.STTS_BENCH_UNSET_WAIT_POLICY === "1") process.env.OMP_WAIT_POLICY = "libgomp-default";
const policyLabel = process.env.STTS_BENCH_UNSET_WAIT_POLICY === "1" ? "unset" : (process.env.OMP_WAIT_POLICY ?? "passive");
const torch = await import("@stts/torch");
const threads = Number(option("--threads", String(torch.getNumThreads())));
torch.setNumThreads(threads);
const quick = flag("--quick");
const info = torch.buildInfo();
const base = { threads, ompWaitPolicy: policyLabel, libtorch: info.version };

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn, repeats, inner = 1) {
  for (let i = 0; i < Math.min(3, repeats); i++) fn();
  const samples = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e9 / inner);
  }
  return median(samples);
}

const emit = (what, fields) => console.log(JSON.stringify({ what, ...base, ...fields }));

// 1. Per-op overhead: a 1-element add plus its dispose, and the same inside a scope.
{
  const a = torch.ones([1]);
  const b = torch.ones([1]);
  const n = quick ? 2000 : 20000;
  const perOp = time(() => a.add(b).dispose(), 7, n);
  const inScope = time(() => torch.scope(() => { for (let i = 0; i < 100; i++) a.add(b); }), 7, n / 100) / 100;
  emit("op_overhead", { us_per_op: +(perOp * 1e6).toFixed(2), us_per_op_in_scope: +(inScope * 1e6).toFixed(2) });
}

// 2. Matmul GFLOPS, float32 1024x1024.
{
  const n = 1024;
  const a = torch.randn([n, n]);
  const b = torch.randn([n, n]);
  const s = time(() => a.matmul(b).dispose(), quick ? 3 : 9);
  emit("matmul_1024", { median_s: +s.toFixed(5), gflops: +((2 * n ** 3) / s / 1e9).toFixed(1) });
}

// 3. A small MLP training step (batch 64 x 384 -> 1536 -> 384, GELU, MSE, SGD update), like a BERT FFN block.
{
  torch.manualSeed(0);
  const params = torch.scope(() => [
    torch.randn([384, 1536]).mul(0.02),
    torch.randn([1536, 384]).mul(0.02),
  ]);
  for (const p of params) torch.keep(p).requiresGrad_();
  const x = torch.randn([64 * 16, 384]);
  const y = torch.randn([64 * 16, 384]);
  const step = () =>
    torch.scope(() => {
      const h = torch.functional.gelu(x.matmul(params[0]));
      const loss = torch.functional.mseLoss(h.matmul(params[1]), y);
      loss.backward();
      torch.noGrad(() => {
        for (const p of params) {
          p.sub_(p.grad, 1e-3);
          p.grad = null;
        }
      });
    });
  const s = time(step, quick ? 3 : 9);
  emit("mlp_step", { median_s: +s.toFixed(5), per_s: +(1 / s).toFixed(2) });
}
