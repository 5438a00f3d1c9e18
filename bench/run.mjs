#!/usr/bin/env node
// The stts benchmark: training steps, encode and memory on a MiniLM-L6-sized BERT, one JSON line per
// measurement. bench/python/bench_st.py makes the same measurements with Python sentence-transformers.
//
//   npm run bench -- [--what train_mnrl|train_cosent|encode|cached_memory|engine|all] [--threads N[,M]]
//                    [--steps N] [--json-out FILE] [--quick] [--profile] [--data-dir DIR] [--repo DIR]
//                    [--unpad-inputs auto|on|off] [--group-by-length] [--fused]
//
// Every (measurement, thread count) runs in a fresh child process, so peak_rss_mb (VmHWM) is its own.
// Lines: {"what", "threads", "median_s", "per_s", "tokens_per_s", "peak_rss_mb", "libtorch", ...details}
//   train_mnrl / train_cosent: median_s = seconds per optimizer step (tokenize + forward + loss + backward +
//     AdamW step + zeroGrad) over --steps measured steps after 3 warm-up steps; per_s = pairs / median_s;
//     tokens_per_s = median over steps of non-pad tokens / step seconds; phases_median_s = the same step cut
//     in tokenize / forward / loss / backward / optimizer by timers inside the step function.
//   encode: median_s = seconds for SentenceTransformer.encode of the 1,379 STS-B test sentence1 texts
//     (batch 64), median of 3 runs after one warm-up run; per_s = sentences/s.
//   cached_memory: bench/cached-mnrl-memory.mjs (one forward + backward per fresh process); median_s is that
//     one step, peak_rss_mb its VmHWM.
//   engine: bench/engine.mjs's lines, unchanged.
// --unpad-inputs: the Transformer module's unpadInputs (auto = its default null: unpadded in eval mode, so for
//   encode, padded in training; on = unpadded in training too; off = always padded).
// --group-by-length (train_*): the rows in file order grouped by token length (the library's groupByLength, as
//   the trainer's groupByLength argument does), and the measured batches spread evenly over that epoch (the
//   grouped order is longest first within each megabatch); compare tokens_per_s, not median_s, with a plain run.
// --fused (train_*): AdamW with fused: true (libtorch 2.4+; the trainer's default optim on 2.8+, as transformers').
// --profile adds, for train_*, the native (N-API) calls per step by kind and the ATen ops called from JS
// (counts and time) per phase; it slows the step down by the counting itself.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  MAX_SEQ_LENGTH,
  MINILM_L6_CONFIG,
  SEED,
  batchAt,
  benchDir,
  dataDir,
  emit,
  median,
  now,
  parseArgs,
  procStatusMb,
  repoRoot,
  round,
  seconds,
  snliEntailmentPairs,
  stsbRows,
} from "./common.mjs";

const WHATS = ["train_mnrl", "train_cosent", "encode", "cached_memory"];
const { flags, options } = parseArgs(process.argv.slice(2), ["quick", "profile", "child", "group-by-length", "fused"]);
const UNPAD = { auto: null, on: true, off: false };
const unpadSetting = options["unpad-inputs"] ?? "auto";
if (!(unpadSetting in UNPAD)) throw new Error(`bench: --unpad-inputs must be auto, on or off, got '${unpadSetting}'`);
const quick = flags.has("quick");
const what = options.what ?? "all";
const whats = what === "all" ? WHATS : what.split(",");
for (const w of whats) {
  if (![...WHATS, "engine"].includes(w)) {
    throw new Error(`bench: --what must be one of ${[...WHATS, "engine", "all"].join("|")}, got '${w}'`);
  }
}
const threadList = options.threads === undefined ? [null] : options.threads.split(",").map(Number);
const jsonOut = options["json-out"];

if (!flags.has("child")) {
  for (const w of whats) for (const threads of threadList) runInChild(w, threads);
  process.exit(0);
}

/** Runs one measurement in a fresh process and re-emits its JSON lines (remapped for cached_memory). */
function runInChild(w, threads) {
  const threadArgs = threads === null ? [] : ["--threads", String(threads)];
  const env = { ...process.env, STTS_DATA_DIR: dataDir(options) };
  let script;
  let args;
  if ((w === "engine" || w === "cached_memory") && options.repo !== undefined) {
    throw new Error(`bench: --repo applies to train_mnrl, train_cosent and encode, not ${w}`);
  }
  if (w === "engine") {
    script = resolve(benchDir, "engine.mjs");
    args = [...threadArgs, ...(quick ? ["--quick"] : [])];
  } else if (w === "cached_memory") {
    script = resolve(benchDir, "cached-mnrl-memory.mjs");
    args = [...threadArgs, ...(quick ? ["--max-batch", "256"] : [])];
  } else {
    script = resolve(benchDir, "run.mjs");
    args = [
      "--child",
      "--what",
      w,
      ...threadArgs,
      ...(quick ? ["--quick"] : []),
      ...(flags.has("profile") ? ["--profile"] : []),
    ];
    if (options.steps !== undefined) args.push("--steps", options.steps);
    if (options.repo !== undefined) args.push("--repo", options.repo);
    if (options["unpad-inputs"] !== undefined) args.push("--unpad-inputs", options["unpad-inputs"]);
    for (const flag of ["group-by-length", "fused"]) if (flags.has(flag)) args.push(`--${flag}`);
  }
  const r = spawnSync(process.execPath, [script, ...args], { env, encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  for (const line of r.stdout.split("\n")) {
    if (line.trim() === "") continue;
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      process.stderr.write(line + "\n");
      continue;
    }
    emit(w === "cached_memory" ? cachedMemoryRecord(record) : record, jsonOut);
  }
  if (r.status !== 0) {
    emit({ what: w, threads, error: `exit ${r.status ?? r.signal}`, stderr: errorLines(r.stderr) }, jsonOut);
  }
}

function cachedMemoryRecord(r) {
  if (r.error !== undefined) return { what: "cached_memory", ...r };
  return {
    what: "cached_memory",
    threads: r.threads,
    median_s: r.seconds,
    per_s: round(r.batch / r.seconds, 1),
    tokens_per_s: null,
    peak_rss_mb: r.peak_rss_mb,
    libtorch: r.libtorch,
    impl: "stts",
    loss: r.what,
    batch: r.batch,
    mini_batch: r.miniBatchSize,
    base_rss_mb: r.base_rss_mb,
    step_rss_mb: r.step_rss_mb,
    seq_len: r.seq_len,
  };
}

// ---- one measurement, in this (fresh) process ----------------------------------------------------------

// --repo DIR: use the stts build of another checkout (e.g. a copy built against another libtorch); its
// packages' dist/ must be built. Default: this repository.
const repo = resolve(options.repo ?? repoRoot);
const packageUrl = (name) => pathToFileURL(resolve(repo, "packages", name, "dist/src/index.js")).href;
const profile = flags.has("profile") ? await installNativeCounters() : null;
const torch = await import(packageUrl("torch"));
const stts = await import(packageUrl("sentence-transformers"));
if (options.threads !== undefined) torch.setNumThreads(Number(options.threads));
const data = dataDir(options);
const common = () => ({
  threads: torch.getNumThreads(),
  peak_rss_mb: Math.round(procStatusMb("VmHWM")),
  libtorch: torch.buildInfo().version,
  impl: "stts",
  repo,
  omp_wait_policy: process.env.OMP_WAIT_POLICY ?? null,
  unpad_inputs: unpadSetting,
  ...(flags.has("group-by-length") ? { group_by_length: true } : {}),
  ...(flags.has("fused") ? { fused_adamw: true } : {}),
});

/** A freshly initialised MiniLM-L6-sized BERT + mean pooling (seeded), with the BERT uncased tokenizer. */
function buildModel() {
  torch.manualSeed(SEED);
  const encoder = stts.createEncoder(MINILM_L6_CONFIG);
  const tokenizer = stts.Tokenizer.fromFolder(resolve(data, "bert-base-uncased-tokenizer"));
  const transformer = new stts.Transformer(encoder, tokenizer, { maxSeqLength: MAX_SEQ_LENGTH });
  if (UNPAD[unpadSetting] !== null) {
    if (!("unpadInputs" in transformer)) throw new Error(`bench: --unpad-inputs needs a checkout with unpadInputs`);
    transformer.unpadInputs = UNPAD[unpadSetting];
  }
  return new stts.SentenceTransformer([transformer, new stts.Pooling(384, { poolingMode: "mean" })]);
}

if (whats[0] === "encode") benchEncode();
else benchTrain(whats[0]);

function benchEncode() {
  const sentences = stsbRows(data, "test").map((row) => row.sentence1);
  const model = buildModel().eval();
  const batchSize = 64;
  // Non-pad tokens, and padded tokens in the batches encode forms (longest first by character count).
  const lengths = [];
  for (let i = 0; i < sentences.length; i += batchSize) {
    torch.scope(() => {
      const mask = model.tokenize(sentences.slice(i, i + batchSize)).attentionMask;
      lengths.push(...mask.sum(1).toArray());
    });
  }
  const tokens = lengths.reduce((a, b) => a + b, 0);
  const order = sentences.map((_, i) => i).sort((i, j) => sentences[j].length - sentences[i].length);
  let padded = 0;
  for (let i = 0; i < order.length; i += batchSize) {
    const batch = order.slice(i, i + batchSize);
    padded += batch.length * Math.max(...batch.map((k) => lengths[k]));
  }
  const runs = quick ? 1 : 3;
  model.encode(sentences, { batchSize }); // warm-up
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t0 = now();
    model.encode(sentences, { batchSize });
    times.push(seconds(t0));
  }
  const m = median(times);
  emit({
    what: "encode",
    threads: torch.getNumThreads(),
    median_s: round(m),
    per_s: round(sentences.length / m, 1),
    tokens_per_s: Math.round(tokens / m),
    ...common(),
    sentences: sentences.length,
    batch: batchSize,
    runs,
    times_s: times.map((t) => round(t)),
    nonpad_share: round(tokens / padded),
  });
}

function benchTrain(w) {
  const batchSize = 32;
  const warmup = 3;
  const steps = Number(options.steps ?? (quick ? 5 : 20));
  let rows;
  let loss;
  const model = buildModel().train();
  if (w === "train_mnrl") {
    rows = snliEntailmentPairs(data).map(([a, b]) => ({ columns: [a, b], label: null }));
    loss = new stts.MultipleNegativesRankingLoss(model, { scale: 20 });
  } else {
    rows = stsbRows(data, "train").map((r) => ({ columns: [r.sentence1, r.sentence2], label: r.score / 5 }));
    loss = new stts.CoSENTLoss(model);
  }
  const optimizer = new torch.optim.AdamW(model.parameters(), {
    lr: 2e-5,
    ...(flags.has("fused") ? { fused: true } : {}),
  });
  let batchOf = (i) => batchAt(rows, i, batchSize);
  if (flags.has("group-by-length")) {
    const tokenCounts = (c) =>
      torch.scope(() =>
        model
          .tokenize(rows.map((row) => row.columns[c]))
          .attentionMask.sum(1)
          .toArray(),
      );
    const lengths = stts.rowLengthKey([tokenCounts(0), tokenCounts(1)]);
    const grouped = stts.groupByLength(
      rows.map((_, i) => i),
      lengths,
      batchSize,
    );
    const numBatches = Math.floor(grouped.length / batchSize);
    const stride = Math.max(1, Math.floor(numBatches / (warmup + steps)));
    batchOf = (i) => {
      const start = ((i * stride) % numBatches) * batchSize;
      return grouped.slice(start, start + batchSize).map((k) => rows[k]);
    };
  }

  const PHASES = ["tokenize", "forward", "loss", "backward", "optimizer"];
  /** One optimizer step on `batch`, the time of each phase in `times`. */
  function trainStep(batch, times) {
    let t = now();
    const lap = (phase) => {
      const t1 = now();
      times[phase] = seconds(t, t1);
      t = t1;
      if (profile !== null) profile.phase = phase === PHASES.at(-1) ? "other" : PHASES[PHASES.indexOf(phase) + 1];
    };
    if (profile !== null) profile.phase = "tokenize";
    let tokens = 0;
    let padded = 0;
    let lossValue = 0;
    torch.scope(() => {
      const features = [0, 1].map((c) => model.tokenize(batch.map((row) => row.columns[c])));
      const labels = batch[0].label === null ? null : torch.tensor(batch.map((row) => row.label));
      for (const f of features) {
        tokens += f.attentionMask.sum().item();
        padded += f.attentionMask.numel;
      }
      lap("tokenize");
      const embeddings = features.map((f) => model.forward(f).sentenceEmbedding); // [batch, 384] each (= loss.embed)
      lap("forward");
      const value = loss.computeLossFromEmbeddings(embeddings, labels); // = loss.forward(features, labels)
      lossValue = value.item(); // the trainer reads the loss every step
      lap("loss");
      stts.backwardLoss(loss, value);
    }); // the scope's tensors (activations, graph) are freed here: counted in backward
    lap("backward");
    optimizer.step();
    optimizer.zeroGrad();
    lap("optimizer");
    return { tokens, padded, lossValue };
  }

  const records = [];
  for (let i = 0; i < warmup + steps; i++) {
    if (i === warmup && profile !== null) profile.reset();
    const times = {};
    const t0 = now();
    const { tokens, padded, lossValue } = trainStep(batchOf(i), times);
    const total = seconds(t0);
    if (i >= warmup) records.push({ total, tokens, padded, lossValue, times });
  }
  const m = median(records.map((r) => r.total));
  const phases = Object.fromEntries(PHASES.map((p) => [p, round(median(records.map((r) => r.times[p])))]));
  const sum = (key) => records.reduce((s, r) => s + r[key], 0);
  emit({
    what: w,
    threads: torch.getNumThreads(),
    median_s: round(m),
    per_s: round(batchSize / m, 2),
    tokens_per_s: Math.round(median(records.map((r) => r.tokens / r.total))),
    ...common(),
    batch: batchSize,
    warmup_steps: warmup,
    steps,
    mean_s: round(sum("total") / records.length),
    phases_median_s: phases,
    nonpad_share: round(sum("tokens") / sum("padded")),
    first_loss: round(records[0].lossValue, 5),
  });
  if (profile !== null) emit({ what: `${w}_profile`, ...common(), ...profile.report(records.length) });
}

/** Wraps every function of the native binding to count calls (per phase) and time callOp per ATen op. */
async function installNativeCounters() {
  const { native } = await import(pathToFileURL(resolve(repo, "packages/torch/dist/src/native.js")).href);
  const state = {
    phase: "setup",
    calls: {}, // phase -> function name -> count
    ops: {}, // op id -> {calls, ns}
    reset() {
      this.calls = {};
      this.ops = {};
    },
    report(steps) {
      const perStep = (n) => round(n / steps, 1);
      const byPhase = {};
      let total = 0;
      for (const [phase, counts] of Object.entries(this.calls)) {
        const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
        const phaseTotal = entries.reduce((s, [, n]) => s + n, 0);
        total += phaseTotal;
        byPhase[phase] = {
          total: perStep(phaseTotal),
          ...Object.fromEntries(entries.map(([k, n]) => [k, perStep(n)])),
        };
      }
      const names = new Map();
      const opName = (id) => {
        if (!names.has(id)) names.set(id, callOriginal("opSchema", Number(id)).split("(")[0]);
        return names.get(id);
      };
      const ops = Object.entries(this.ops)
        .map(([id, o]) => ({ op: opName(id), calls: perStep(o.calls), ms: round(Number(o.ns) / 1e6 / steps, 2) }))
        .sort((a, b) => b.ms - a.ms);
      return {
        native_calls_per_step: perStep(total),
        native_calls_by_phase: byPhase,
        aten_ops_from_js_per_step: perStep(ops.reduce((s, o) => s + o.calls * steps, 0)),
        top_ops_by_time: ops.slice(0, 25),
      };
    },
  };
  const originals = {};
  const callOriginal = (name, ...args) => originals[name].apply(native, args);
  for (const name of Object.keys(native)) {
    if (typeof native[name] !== "function") continue;
    const fn = native[name];
    originals[name] = fn;
    const counted =
      name === "callOp"
        ? function (id, ...args) {
            const phaseCalls = (state.calls[state.phase] ??= {});
            phaseCalls.callOp = (phaseCalls.callOp ?? 0) + 1;
            const t0 = process.hrtime.bigint();
            try {
              return fn.call(native, id, ...args);
            } finally {
              const o = (state.ops[id] ??= { calls: 0, ns: 0n });
              o.calls += 1;
              o.ns += process.hrtime.bigint() - t0;
            }
          }
        : function (...args) {
            const phaseCalls = (state.calls[state.phase] ??= {});
            phaseCalls[name] = (phaseCalls[name] ?? 0) + 1;
            return fn.apply(native, args);
          };
    native[name] = counted;
  }
  return state;
}

/** The error message lines of a child's stderr (the stack's first lines otherwise). */
function errorLines(stderr) {
  const lines = stderr.trim().split("\n");
  const errors = lines.filter((line) => /Error\b/.test(line));
  return errors.length > 0 ? errors.slice(0, 3) : lines.slice(-5);
}
