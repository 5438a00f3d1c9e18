// Test helpers for the trainer: small STS-B and SNLI datasets, the dev Spearman, JSONL reading.
import * as fs from "node:fs";
import * as path from "node:path";
import { Dataset, loadDelimited } from "../src/training/dataset.js";
import { spearman } from "../src/evaluation/metrics.js";
import { SentenceTransformer } from "../src/sentence-transformer.js";
import { sharedDataDir, tempFolder, tinyBertDir } from "./models-util.js";

/** STS-B rows `split` ("train", "dev", "test") as (sentence1, sentence2, score in [0, 1]), the first `count`. */
export function stsbPairs(split: "train" | "dev" | "test", count: number, name = "stsb"): Dataset {
  const raw = loadDelimited(path.join(sharedDataDir, "stsbenchmark", `sts-${split}.csv`), {
    delimiter: "\t",
    columns: [null, null, null, null, "score", "sentence1", "sentence2"],
    numericColumns: ["score"],
    ignoreExtraFields: true,
    name,
  }).take(count);
  return new Dataset(
    {
      sentence1: [...raw.column("sentence1")],
      sentence2: [...raw.column("sentence2")],
      score: raw.column("score").map((s) => (s as number) / 5),
    },
    name,
  );
}

const SNLI_LABELS = ["entailment", "neutral", "contradiction"];

/** SNLI dev rows as (premise, hypothesis, label 0/1/2), the first `count`. */
export function snliTriples(count: number, name = "nli"): Dataset {
  const read = (file: string) =>
    fs
      .readFileSync(path.join(sharedDataDir, "snli-dev-test", file), "utf8")
      .split("\n")
      .slice(0, count)
      .map((line) => line.trim());
  const labels = read("labels.dev");
  return new Dataset(
    { premise: read("s1.dev"), hypothesis: read("s2.dev"), label: labels.map((l) => SNLI_LABELS.indexOf(l)) },
    name,
  );
}

/** SNLI dev entailment pairs as (anchor, positive), the first `count`. */
export function snliPositives(count: number, name = "pairs"): Dataset {
  const all = snliTriples(3000);
  const rows = [...all].filter((row) => row.label === 0).slice(0, count);
  return new Dataset(
    { anchor: rows.map((r) => r.premise as string), positive: rows.map((r) => r.hypothesis as string) },
    name,
  );
}

/** Spearman correlation between the cosine similarity of the model's embeddings and the scores. */
export function stsSpearman(model: SentenceTransformer, data: Dataset): number {
  const a = model.encode([...data.column("sentence1")] as string[], { batchSize: 64 });
  const b = model.encode([...data.column("sentence2")] as string[], { batchSize: 64 });
  const cosine = a.map((x, i) => {
    const y = b[i]!;
    let dot = 0;
    let nx = 0;
    let ny = 0;
    for (let k = 0; k < x.length; k++) {
      dot += x[k]! * y[k]!;
      nx += x[k]! * x[k]!;
      ny += y[k]! * y[k]!;
    }
    return dot / Math.sqrt(nx * ny);
  });
  return spearman(cosine, data.column("score") as number[]);
}

/** A log sink that keeps the lines (the trainer's `log` option). */
export function lineCollector(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (line) => lines.push(line) };
}

/** Runs `fn` with a fresh tiny BERT model (bert-tiny-h32-l2) and an empty temporary folder, freeing both after. */
export async function withTinyBert(fn: (model: SentenceTransformer, dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempFolder("stts-trainer-");
  const model = SentenceTransformer.loadFolder(tinyBertDir);
  try {
    await fn(model, dir);
  } finally {
    model.dispose();
    cleanup();
  }
}
