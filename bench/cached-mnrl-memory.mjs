#!/usr/bin/env node
// Peak memory of one training step (forward + backward) of CachedMultipleNegativesRankingLoss against
// MultipleNegativesRankingLoss, on a MiniLM-L6-sized random BERT and SNLI dev entailment pairs.
// Every configuration runs in a fresh child process, which reports its resident-set high-water mark
// (VmHWM of /proc/self/status, reset through /proc/self/clear_refs just before the step).
//
//   node bench/cached-mnrl-memory.mjs [--threads N] [--only cmnrl|mnrl] [--max-batch N] [--max-seq-len L] [--timeout-s S]
//   node bench/cached-mnrl-memory.mjs --child --what cmnrl --batch 256 --mini-batch 32   # one configuration
//
// --max-seq-len (default 128) truncates every text; batches are padded to their longest text, so larger
// batches of SNLI get longer sequences (seq_len) unless a small cap (e.g. 32) makes every batch as long.
//
// Prints one JSON line per configuration:
//   {what, batch, miniBatchSize, peak_rss_mb, seconds, libtorch, base_rss_mb, step_rss_mb, seq_len, threads}
// peak_rss_mb: VmHWM during the step (resident memory of the whole process, model included);
// base_rss_mb: VmRSS just before the step (model, tokenized batch); step_rss_mb = peak - base.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const self = fileURLToPath(import.meta.url);

const CONFIGS = [
  { what: "cmnrl", batch: 64, miniBatchSize: 32 },
  { what: "cmnrl", batch: 256, miniBatchSize: 32 },
  { what: "cmnrl", batch: 1024, miniBatchSize: 32 },
  { what: "mnrl", batch: 64, miniBatchSize: null },
  { what: "mnrl", batch: 256, miniBatchSize: null },
];

if (!args.includes("--child")) {
  const only = option("--only", null);
  const maxBatch = Number(option("--max-batch", Infinity));
  const timeoutMs = Number(option("--timeout-s", 1800)) * 1000;
  const passOn = ["--threads", "--max-seq-len"].flatMap((name) => (args.includes(name) ? [name, option(name)] : []));
  for (const config of CONFIGS) {
    if ((only !== null && config.what !== only) || config.batch > maxBatch) continue;
    const childArgs = [self, "--child", "--what", config.what, "--batch", String(config.batch), ...passOn];
    if (config.miniBatchSize !== null) childArgs.push("--mini-batch", String(config.miniBatchSize));
    const r = spawnSync(process.execPath, childArgs, { encoding: "utf8", timeout: timeoutMs });
    if (r.status === 0) process.stdout.write(r.stdout);
    else {
      const why =
        r.error?.code === "ETIMEDOUT" ? `timed out after ${timeoutMs / 1000} s` : `exit ${r.status ?? r.signal}`;
      console.log(JSON.stringify({ ...config, error: why, stderr: r.stderr.trim().split("\n").slice(-3).join(" | ") }));
    }
  }
  process.exit(0);
}

// ---- one configuration, in this (fresh) process -----------------------------------------------------

const torch = await import("@stts/torch");
const { CachedMultipleNegativesRankingLoss, MultipleNegativesRankingLoss, Pooling, SentenceTransformer, Tokenizer } =
  await import("stts");
const { Transformer, backwardLoss, createEncoder } = await import("stts");

const what = option("--what", "cmnrl");
const batch = Number(option("--batch", 64));
const miniBatchSize = what === "cmnrl" ? Number(option("--mini-batch", 32)) : null;
if (args.includes("--threads")) torch.setNumThreads(Number(option("--threads", 1)));

/** A field of /proc/self/status in MiB (VmRSS, VmHWM). */
function statusMb(field) {
  const line = readFileSync("/proc/self/status", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${field}:`));
  if (line === undefined) throw new Error(`/proc/self/status has no ${field}`);
  return Number(line.split(/\s+/)[1]) / 1024; // kB -> MiB
}

// SNLI dev (SOURCE.md): line-aligned s1 (premise), s2 (hypothesis), labels; PTB-tokenized, trailing space.
// Data: $STTS_DATA_DIR (set by bench/run.mjs, e.g. for a copy of the repository elsewhere), else ../shared/data.
const dataDir = process.env.STTS_DATA_DIR ?? resolve(dirname(self), "../../shared/data");
const snli = resolve(dataDir, "snli-dev-test");
const lines = (name) => readFileSync(resolve(snli, name), "utf8").split("\n");
const [premises, hypotheses, labels] = [lines("s1.dev"), lines("s2.dev"), lines("labels.dev")];
const pairs = labels
  .map((label, i) => [label.trim(), premises[i]?.trim(), hypotheses[i]?.trim()])
  .filter(([label, a, b]) => label === "entailment" && a && b)
  .slice(0, batch);
if (pairs.length < batch) throw new Error(`only ${pairs.length} SNLI dev entailment pairs, asked for ${batch}`);

torch.manualSeed(0);
const encoder = createEncoder({
  model_type: "bert",
  vocab_size: 30522,
  hidden_size: 384,
  num_hidden_layers: 6,
  num_attention_heads: 12,
  intermediate_size: 1536,
  max_position_embeddings: 512,
});
const tokenizer = Tokenizer.fromFolder(resolve(dataDir, "bert-base-uncased-tokenizer"));
const transformer = new Transformer(encoder, tokenizer, { maxSeqLength: Number(option("--max-seq-len", 128)) });
const model = new SentenceTransformer([transformer, new Pooling(384, { poolingMode: "mean" })]).train();
const loss =
  what === "cmnrl"
    ? new CachedMultipleNegativesRankingLoss(model, { miniBatchSize })
    : new MultipleNegativesRankingLoss(model);

const features = [model.tokenize(pairs.map((p) => p[1])), model.tokenize(pairs.map((p) => p[2]))];
const seqLen = Math.max(...features.map((f) => f.inputIds.size(1)));

const base = statusMb("VmRSS");
let reset = true;
try {
  writeFileSync("/proc/self/clear_refs", "5"); // resets VmHWM to the current RSS (Linux >= 4.0)
} catch {
  reset = false; // VmHWM then also covers the set-up, which is smaller than the step here
}
const t0 = process.hrtime.bigint();
torch.scope(() => {
  const value = loss.forward(features, null);
  backwardLoss(loss, value);
});
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const peak = statusMb("VmHWM");

const round = (x) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    what: what === "cmnrl" ? "CachedMultipleNegativesRankingLoss" : "MultipleNegativesRankingLoss",
    batch,
    miniBatchSize,
    peak_rss_mb: round(peak),
    seconds: Math.round(seconds * 100) / 100,
    libtorch: torch.buildInfo().version,
    base_rss_mb: round(base),
    step_rss_mb: round(peak - base),
    seq_len: seqLen,
    threads: torch.getNumThreads(),
    js_heap_mb: round(process.memoryUsage().heapTotal / 2 ** 20),
    hwm_reset: reset,
  }),
);
