#!/usr/bin/env node
// The README's main job: train a fresh static embedding model (the BERT uncased vocabulary) on
// STS-B and SNLI pairs with MultipleNegativesRankingLoss inside MatryoshkaLoss, evaluate it on STS-B
// dev before and after, and save the model, its card, the training log and the plot.
//
//   node examples/train-demo.mjs [--output runs/demo] [--epochs 4] [--data ../shared/data]
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Dataset,
  EmbeddingSimilarityEvaluator,
  MatryoshkaLoss,
  MultipleNegativesRankingLoss,
  SentenceTransformer,
  SentenceTransformerTrainer,
  StaticEmbedding,
  Tokenizer,
  loadDelimited,
  torch,
} from "stts";

const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const data = resolve(repoRoot, option("--data", "../shared/data"));
const outputDir = resolve(repoRoot, option("--output", "runs/demo"));
const epochs = Number(option("--epochs", "4"));

// STS-B: tab-separated, no header; fields 4-6 are score, sentence1, sentence2 (stsbenchmark/SOURCE.md)
const sts = (split) =>
  loadDelimited(resolve(data, `stsbenchmark/sts-${split}.csv`), {
    delimiter: "\t",
    columns: [null, null, null, null, "score", "sentence1", "sentence2"],
    numericColumns: ["score"],
    ignoreExtraFields: true,
    name: `stsb-${split}`,
  });

// (anchor, positive) pairs: STS-B train pairs scored >= 4 of 5, and SNLI dev entailment pairs
const stsTrain = sts("train");
const stsPairs = Dataset.fromRecords(
  [...stsTrain]
    .filter((row) => row.score >= 4)
    .map((row) => ({ anchor: row.sentence1, positive: row.sentence2 })),
  "stsb-pairs",
);
const snliLines = (name) => readFileSync(resolve(data, `snli-dev-test/${name}.dev`), "utf8").split("\n");
const [premises, hypotheses, labels] = ["s1", "s2", "labels"].map(snliLines);
const snliPairs = Dataset.fromRecords(
  labels
    .map((label, i) => ({ label: label.trim(), anchor: premises[i].trim(), positive: hypotheses[i].trim() }))
    .filter((row) => row.label === "entailment")
    .map(({ anchor, positive }) => ({ anchor, positive })),
  "snli-entailment",
);

torch.manualSeed(12);
const tokenizer = Tokenizer.fromFolder(resolve(data, "bert-base-uncased-tokenizer"));
const model = new SentenceTransformer([new StaticEmbedding(tokenizer, { embeddingDim: 256 })]);

const dev = sts("dev");
const evaluator = new EmbeddingSimilarityEvaluator(
  dev.column("sentence1"),
  dev.column("sentence2"),
  dev.column("score").map((s) => s / 5),
  { name: "sts-dev", batchSize: 256 },
);
const spearman = () => evaluator.evaluate(model)[evaluator.primaryMetric];
const before = spearman();
console.log(`STS-B dev Spearman (cosine) before training: ${before.toFixed(4)}`);

const loss = new MatryoshkaLoss(model, new MultipleNegativesRankingLoss(model), { matryoshkaDims: [256, 128, 64, 32] });
const trainer = new SentenceTransformerTrainer({
  model,
  trainDataset: { "stsb-pairs": stsPairs, "snli-entailment": snliPairs },
  loss,
  evaluator,
  args: {
    outputDir,
    numTrainEpochs: epochs,
    perDeviceTrainBatchSize: 128,
    learningRate: 0.2,
    warmupRatio: 0.1,
    batchSampler: "no_duplicates",
    multiDatasetBatchSampler: "proportional",
    evalStrategy: "steps",
    evalSteps: 20,
    loggingSteps: 10,
    saveStrategy: "no",
    seed: 12,
  },
});
const started = Date.now();
await trainer.train();
const after = spearman();
console.log(`trained ${trainer.state.globalStep} steps in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`STS-B dev Spearman (cosine) before: ${before.toFixed(4)}  after: ${after.toFixed(4)}`);
console.log(`model, README.md model card, trainer_log.jsonl and training_curves.svg in ${outputDir}`);
