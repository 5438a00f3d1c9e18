// Test helpers for the evaluators: a model whose embeddings are a fixed table (so metrics can be derived
// by hand), similarity functions on plain arrays, and readers for the STS-B and MS MARCO fixtures.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { nn } from "@stts/torch";
import type { Features } from "../src/features.js";
import type { SentenceTransformerModule } from "../src/modules/module-registry.js";
import { SentenceTransformer, type SentenceTransformerOptions } from "../src/sentence-transformer.js";
import { loadDelimited } from "../src/training/dataset.js";
import { handleCount, sharedDataDir } from "./models-util.js";

/**
 * An input module that embeds each known text as its row of a fixed table: tokenize gives the row
 * index as the single input id, forward looks the row up.
 */
export class LookupEmbedding extends nn.Module implements SentenceTransformerModule {
  readonly #texts: Map<string, number>;
  readonly #rows: number[][];

  constructor(table: Record<string, number[]>) {
    super();
    this.#texts = new Map(Object.keys(table).map((text, i) => [text, i]));
    this.#rows = Object.values(table);
  }

  tokenize(texts: readonly unknown[]): Features {
    const ids = texts.map((text) => {
      const id = typeof text === "string" ? this.#texts.get(text) : undefined;
      if (id === undefined) throw new Error(`LookupEmbedding: no row for ${JSON.stringify(text)}`);
      return [id];
    });
    return {
      inputIds: torch.tensor(ids, { dtype: "int64" }),
      attentionMask: torch.ones([ids.length, 1], { dtype: "int64" }),
    };
  }

  override forward(features: Features): Features {
    const ids = Array.from(features.inputIds!.toTypedArray() as BigInt64Array, Number);
    return { ...features, sentenceEmbedding: torch.tensor(ids.map((id) => this.#rows[id]!)) };
  }

  getSentenceEmbeddingDimension(): number {
    return this.#rows[0]?.length ?? 0;
  }
}

/** A SentenceTransformer embedding each text of `table` as its row. */
export function lookupModel(
  table: Record<string, number[]>,
  options: SentenceTransformerOptions = {},
): SentenceTransformer {
  return new SentenceTransformer([new LookupEmbedding(table)], options);
}

export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
};
export const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  dot(a, b) / (Math.sqrt(dot(a, a)) * Math.sqrt(dot(b, b)));
export const euclideanDistance = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Math.sqrt(Array.from(a, (x, i) => (x - b[i]!) ** 2).reduce((s, v) => s + v, 0));
export const manhattanDistance = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a, (x, i) => Math.abs(x - b[i]!)).reduce((s, v) => s + v, 0);

/** Asserts |actual - expected| <= tolerance, naming the metric. */
export function assertNear(actual: number | undefined, expected: number, tolerance: number, what: string): void {
  assert.ok(actual !== undefined, `${what}: missing`);
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} != ${expected} (tolerance ${tolerance})`);
}

/** Runs `fn` and asserts every tensor handle it created was freed; returns its result. */
export function withoutLeaks<T>(fn: () => T, what = "tensors leaked"): T {
  const before = handleCount();
  const result = fn();
  assert.equal(handleCount(), before, what);
  return result;
}

/** The first `count` pairs of STS-B dev, read as test/dataset.test.ts does. */
export function stsbDev(count: number): { sentences1: string[]; sentences2: string[]; scores: number[] } {
  const dev = loadDelimited(path.join(sharedDataDir, "stsbenchmark", "sts-dev.csv"), {
    delimiter: "\t",
    columns: [null, null, null, null, "score", "sentence1", "sentence2"],
    numericColumns: ["score"],
    ignoreExtraFields: true,
  }).select(Array.from({ length: count }, (_, i) => i));
  return {
    sentences1: dev.column("sentence1") as string[],
    sentences2: dev.column("sentence2") as string[],
    scores: dev.column("score") as number[],
  };
}

/**
 * The first `numQueries` queries of the MS MARCO subset (SOURCE.md: BEIR layout, qrels without a header,
 * graded 1-3), with a corpus of their relevant passages plus the first `numDistractors` passages.
 */
export function msmarcoSubset(
  numQueries: number,
  numDistractors: number,
): { queries: Record<string, string>; corpus: Record<string, string>; relevantDocs: Record<string, string[]> } {
  const dir = path.join(sharedDataDir, "beir-msmarco-subset");
  const jsonl = (file: string) =>
    fs
      .readFileSync(path.join(dir, file), "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as { _id: string; title?: string; text: string });
  const queries = Object.fromEntries(
    jsonl("queries.jsonl")
      .slice(0, numQueries)
      .map((q) => [q._id, q.text]),
  );
  const relevantDocs: Record<string, string[]> = {};
  for (const line of fs.readFileSync(path.join(dir, "qrels", "test.tsv"), "utf8").split("\n")) {
    const [queryId, corpusId, score] = line.split("\t");
    if (queryId === undefined || corpusId === undefined || !(queryId in queries) || Number(score) <= 0) continue;
    (relevantDocs[queryId] ??= []).push(corpusId);
  }
  const wanted = new Set(Object.values(relevantDocs).flat());
  const corpus: Record<string, string> = {};
  jsonl("corpus.jsonl").forEach((doc, i) => {
    if (i < numDistractors || wanted.has(doc._id)) corpus[doc._id] = doc.title ? `${doc.title} ${doc.text}` : doc.text;
  });
  return { queries, corpus, relevantDocs };
}
