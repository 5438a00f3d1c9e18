// Evaluation statistics against scipy oracles and hand derivations.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  averagePrecision,
  averageRanks,
  bestAccuracyAndThreshold,
  bestF1AndThreshold,
  pearson,
  retrievalMetrics,
  spearman,
} from "../src/evaluation/metrics.js";

const close = (actual: number, expected: number, tolerance = 1e-12) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} != ${expected}`);

describe("correlations", () => {
  const x = [1, 2, 3, 4, 5, 5];
  const y = [2, 1, 4, 3, 7, 6];

  it("pearson equals scipy.stats.pearsonr", () => {
    close(pearson(x, y), 0.8635115366415456); // scipy.stats.pearsonr(x, y)[0]
    assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])), "constant input gives NaN like scipy");
  });

  it("spearman averages tied ranks like scipy.stats.spearmanr", () => {
    assert.deepEqual(averageRanks(x), [1, 2, 3, 4, 5.5, 5.5]);
    close(spearman(x, y), 0.8696565534786727); // scipy.stats.spearmanr(x, y)[0]
  });
});

describe("binary classification", () => {
  it("average precision treats tied scores as one threshold", () => {
    // thresholds 0.9, 0.8 (tie), 0.4: recall 1/3 at precision 1, 2/3 at 2/3, 1 at 3/4 -> 1/3 + 2/9 + 1/4
    close(averagePrecision([1, 0, 1, 1, 0, 0], [0.9, 0.8, 0.8, 0.4, 0.3, 0.1]), 29 / 36);
  });

  it("finds the accuracy and F1 thresholds halfway between neighbouring scores", () => {
    const scores = [0.9, 0.3, 0.8, 0.6];
    const labels = [1, 0, 1, 0];
    assert.deepEqual(bestAccuracyAndThreshold(scores, labels, true), { accuracy: 1, threshold: 0.7 });
    assert.deepEqual(bestF1AndThreshold(scores, labels, true), { f1: 1, precision: 1, recall: 1, threshold: 0.7 });
    // distances: small means similar
    const distances = [0.1, 0.7, 0.2, 0.4];
    close(bestAccuracyAndThreshold(distances, labels, false).threshold, 0.30000000000000004);
  });
});

describe("retrievalMetrics", () => {
  it("computes accuracy/precision/recall/MRR/NDCG/MAP at k like InformationRetrievalEvaluator", () => {
    const m = retrievalMetrics(
      [
        ["d1", "d2", "d3"],
        ["d4", "d5", "d6"],
      ],
      [new Set(["d2"]), new Set(["d4", "d6"])],
      { accuracy: [1, 3], precisionRecall: [1, 3], mrr: [3], ndcg: [3], map: [3] },
    );
    assert.deepEqual(m.accuracyAtK, { 1: 0.5, 3: 1 });
    assert.deepEqual(m.precisionAtK, { 1: 0.5, 3: 0.5 });
    assert.deepEqual(m.recallAtK, { 1: 0.25, 3: 1 });
    assert.deepEqual(m.mrrAtK, { 3: 0.75 });
    // q1: (1/log2 3) / 1; q2: (1 + 1/log2 4) / (1 + 1/log2 3)
    close(m.ndcgAtK[3]!, (1 / Math.log2(3) + 1.5 / (1 + 1 / Math.log2(3))) / 2);
    // q1: (1/2) / 1; q2: (1/1 + 2/3) / 2
    close(m.mapAtK[3]!, (0.5 + 5 / 6) / 2);
  });
});
