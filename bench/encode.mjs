#!/usr/bin/env node
// encode() throughput of a MiniLM-L6-sized random BERT on the STS-B test sentences.
//
//   node bench/encode.mjs [--batch-size 64] [--threads N] [--runs 3] [--limit N]
// Prints one JSON line: {what, threads, batch_size, sentences, median_s, per_s, tokens_per_s, peak_rss_mb, libtorch}
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "@stts/torch";
import { Pooling, SentenceTransformer, Tokenizer, Transformer, createEncoder } from "stts";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const batchSize = option("--batch-size", 64);
const runs = option("--runs", 3);
if (args.includes("--threads")) torch.setNumThreads(option("--threads", 1));

const shared = process.env.STTS_DATA_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), "../../shared/data");
// STS-B test: tab-separated, sentence1 is field 5 (SOURCE.md); rows may carry 2 extra trailing fields
const sentences = readFileSync(resolve(shared, "stsbenchmark/sts-test.csv"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => line.split("\t")[5])
  .slice(0, option("--limit", Infinity));

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
const tokenizer = Tokenizer.fromFolder(resolve(shared, "bert-base-uncased-tokenizer"));
const transformer = new Transformer(encoder, tokenizer, { maxSeqLength: 128 });
const model = new SentenceTransformer([transformer, new Pooling(384, { poolingMode: "mean" })]).eval();

const tokens = sentences.reduce((sum, s) => sum + torch.scope(() => model.tokenize([s]).attentionMask.sum().item()), 0);
const times = [];
for (let r = 0; r < runs + 1; r++) {
  const t0 = process.hrtime.bigint();
  model.encode(sentences, { batchSize });
  if (r > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e9); // run 0 warms up
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
const peak = /VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"));
console.log(
  JSON.stringify({
    what: "encode",
    threads: torch.getNumThreads(),
    batch_size: batchSize,
    sentences: sentences.length,
    median_s: +median.toFixed(3),
    per_s: +(sentences.length / median).toFixed(1),
    tokens_per_s: Math.round(tokens / median),
    peak_rss_mb: peak ? Math.round(Number(peak[1]) / 1024) : null,
    libtorch: torch.buildInfo().version,
  }),
);
